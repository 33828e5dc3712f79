"""Hostile objects for the "nothing lost" tests: bytes a plate archive really ends up holding.

`make_hostile_objects(seed)` returns (name, data, expected_status) triples, at least 200 of
them, deterministic for a seed. `expected_status` is what `lpr_ray.core.image.decode_crop` must return
(checked by tests/test_image_hostile.py); the pipeline must produce exactly one row for each
object whatever its status.

Everything is built in memory with OpenCV, Pillow (when installed), zlib and struct; the
decompression bomb is a valid 1-bit PNG declaring 30000x30000 pixels in ~110 KB.
"""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np

OK = "ok"
EMPTY = "empty_object"
NOT_IMAGE = "not_an_image"
TRUNCATED = "truncated_image"
TOO_SMALL = "image_too_small"
TOO_LARGE = "image_too_large"

BOMB_NAME = "bomb/png_30000x30000_1bit.png"



# ---------------------------------------------------------------------------------------------
# building blocks


def _plate(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A plate-ish BGR image: light background, dark blocks, a little noise."""
    img = np.full((h, w, 3), 200, np.uint8)
    img += rng.integers(0, 40, size=(h, w, 3), dtype=np.uint8)
    for i in range(max(1, w // 16)):
        x0 = int(i * w / max(1, w // 16))
        img[h // 4 : max(h // 4 + 1, 3 * h // 4), x0 : x0 + max(1, w // 32)] = 20
    return img


def _enc(ext: str, img: np.ndarray, params: list[int] | None = None) -> bytes:
    ok, buf = cv2.imencode(ext, img, params or [])
    assert ok, ext
    return buf.tobytes()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A valid 1-bit grayscale PNG of width x height zeros (~110 KB for 30000x30000)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    comp = zlib.compressobj(9)
    parts = []
    rows_per_step = 1000
    block = row * rows_per_step
    for start in range(0, height, rows_per_step):
        n = min(rows_per_step, height - start)
        parts.append(comp.compress(block if n == rows_per_step else row * n))
    parts.append(comp.flush())
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def _png_with_ihdr(width: int, height: int, *, bad_crc: bool = False) -> bytes:
    """A tiny PNG whose IHDR says width x height, with one row of data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" + b"\x80" * min(max(width, 1), 64))
    chunk = _png_chunk(b"IHDR", ihdr)
    if bad_crc:
        chunk = chunk[:-4] + b"\x00\x00\x00\x00"
    return b"\x89PNG\r\n\x1a\n" + chunk + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _patch_jpeg_size(data: bytes, width: int, height: int) -> bytes:
    """Rewrite the frame size in a JPEG's SOF marker."""
    i = 2
    while i + 4 <= len(data):
        marker = data[i + 1]
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return data[: i + 5] + struct.pack(">HH", height, width) + data[i + 9 :]
        i += 2 + length
    raise ValueError("no SOF marker")


def _cut_points(n: int, count: int, rng: np.random.Generator) -> list[int]:
    fixed = [2, 3, 4, 8, 11, 20, 64, 100, 200]
    fracs = sorted(rng.uniform(0.02, 0.98, size=count))
    pts = [p for p in fixed if p < n] + [int(f * n) for f in fracs]
    return sorted(set(p for p in pts if 0 < p < n))


# ---------------------------------------------------------------------------------------------


def make_hostile_objects(seed: int = 0) -> list[tuple[str, bytes, str]]:
    rng = np.random.default_rng(seed)
    out: list[tuple[str, bytes, str]] = []

    def add(name: str, data: bytes, status: str) -> None:
        out.append((name, data, status))

    # -- empty and not images at all ----------------------------------------------------------
    add("empty/zero_bytes.jpg", b"", EMPTY)
    for i, n in enumerate([1, 2, 7, 16, 100, 511, 512, 513, 1000, 4096, 20000, 65536]):
        data = bytearray(rng.integers(0, 256, size=n, dtype=np.uint8).tobytes())
        data[0] = 0  # no image magic by chance
        add(f"random/{i:02d}_{n}_bytes.jpg", bytes(data), NOT_IMAGE)
    for i in range(8):
        data = bytearray(rng.integers(32, 127, size=int(rng.integers(10, 3000)), dtype=np.uint8))
        data[0] = ord("x")
        add(f"random/ascii_{i:02d}.jpg", bytes(data), NOT_IMAGE)
    texts = {
        "text/plate_label.jpg": b"ABC1234\n",
        "text/csv.jpg": b"uri,plate\ns3://a/b.jpg,ABC123\n",
        "text/json.jpg": b'{"plate": "7XYZ123", "confidence": 0.98}',
        "text/s3_access_denied.jpg": b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>'
        b"AccessDenied</Code><Message>Access Denied</Message></Error>",
        "text/s3_no_such_key.png": b"<Error><Code>NoSuchKey</Code></Error>",
        "text/html_404.jpg": b"<!DOCTYPE html><html><head><title>404 Not Found</title></head>"
        b"<body><h1>Not Found</h1></body></html>",
        "text/html_login.png": b"<html><body><form action=/login>" + b"x" * 3000 + b"</form>",
        "text/utf8_plate.jpg": "Kennzeichen: M\u00dcNCHEN \u00c4\u00d6\u00dc 123".encode(),
        "text/utf16_bom.jpg": "ABC123".encode("utf-16"),
        "text/whitespace.jpg": b"   \n\t\n",
        "text/single_newline.jpg": b"\n",
        "text/nul_bytes.jpg": b"\x00" * 64,
        "text/lfs_pointer.jpg": b"version https://git-lfs.github.com/spec/v1\noid sha256:"
        + b"0" * 64
        + b"\nsize 12345\n",
        "text/base64_jpeg.jpg": b"/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsL",
        "text/data_uri.png": b"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB",
    }
    for name, data in texts.items():
        add(name, data, NOT_IMAGE)
    others = {
        "other/pdf.jpg": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        "other/pdf_short.jpg": b"%PDF-",
        "other/zip.jpg": b"PK\x03\x04" + bytes(60),
        "other/gzip.jpg": b"\x1f\x8b\x08\x00" + bytes(30),
        "other/elf.jpg": b"\x7fELF\x02\x01\x01" + bytes(57),
        "other/mp4.jpg": b"\x00\x00\x00\x18ftypmp42" + bytes(40),
        "other/parquet.jpg": b"PAR1" + bytes(40) + b"PAR1",
        "other/heic.jpg": b"\x00\x00\x00\x18ftypheic" + bytes(40),
        "other/ico.png": b"\x00\x00\x01\x00\x01\x00\x10\x10" + bytes(40),
        "other/svg.png": b'<svg xmlns="http://www.w3.org/2000/svg" width="96" height="48"/>',
        "other/jpeg2000.jpg": b"\x00\x00\x00\x0cjP  \r\n\x87\n" + bytes(40),
        "other/psd.jpg": b"8BPS\x00\x01" + bytes(40),
    }
    for name, data in others.items():
        add(name, data, NOT_IMAGE)

    # -- impostors: image magic, then nonsense -------------------------------------------------
    add("impostor/text_starting_BM.jpg", b"BMW 320i, plate ABC-123, seen at gate 4", NOT_IMAGE)
    add("impostor/bm_then_zeros.bmp", b"BM" + bytes(60), NOT_IMAGE)
    add("impostor/text_starting_P3.jpg", b"P3 level parking, bay 12", NOT_IMAGE)
    add("impostor/p6_garbage.ppm", b"P6\nnot a header\n", NOT_IMAGE)
    add("impostor/gif_magic_only.gif", b"GIF89a", NOT_IMAGE)
    add("impostor/tiff_magic_only.tif", b"II*\x00" + bytes(4), NOT_IMAGE)
    add("impostor/webp_magic_only.webp", b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(4), NOT_IMAGE)
    add("impostor/jpeg_soi_eoi.jpg", b"\xff\xd8\xff\xd9", NOT_IMAGE)
    add("impostor/jpeg_soi_garbage_eoi.jpg", b"\xff\xd8" + bytes(100) + b"\xff\xd9", NOT_IMAGE)
    add("impostor/jpeg_soi_only.jpg", b"\xff\xd8", TRUNCATED)
    add("impostor/jpeg_soi_random.jpg", b"\xff\xd8" + bytes(range(1, 200)), TRUNCATED)
    add("impostor/png_signature_only.png", b"\x89PNG\r\n\x1a\n", TRUNCATED)
    add("impostor/png_zero_size.png", _png_with_ihdr(0, 0), NOT_IMAGE)
    add("impostor/png_bad_ihdr_crc.png", _png_with_ihdr(96, 48, bad_crc=True), NOT_IMAGE)
    add("impostor/png_missing_rows.png", _png_with_ihdr(96, 48), NOT_IMAGE)

    # -- good images (ok), many formats and sizes ---------------------------------------------
    sizes = [(48, 96), (4, 8), (24, 80), (60, 200), (120, 240), (37, 151), (480, 640)]
    for h, w in sizes:
        img = _plate(rng, h, w)
        add(f"ok/jpeg_{w}x{h}.jpg", _enc(".jpg", img), OK)
        add(f"ok/png_{w}x{h}.png", _enc(".png", img), OK)
        add(f"ok/bmp_{w}x{h}.bmp", _enc(".bmp", img), OK)
    base = _plate(rng, 40, 130)
    gray = cv2.cvtColor(base, cv2.COLOR_BGR2GRAY)
    add("ok/jpeg_gray.jpg", _enc(".jpg", gray), OK)
    add("ok/jpeg_progressive.jpg", _enc(".jpg", base, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]), OK)
    add("ok/jpeg_quality5.jpg", _enc(".jpg", base, [cv2.IMWRITE_JPEG_QUALITY, 5]), OK)
    add("ok/jpeg_quality100.jpg", _enc(".jpg", base, [cv2.IMWRITE_JPEG_QUALITY, 100]), OK)
    add("ok/png_gray.png", _enc(".png", gray), OK)
    add("ok/png_gray16.png", _enc(".png", gray.astype(np.uint16) * 257), OK)
    add("ok/png_rgb16.png", _enc(".png", base.astype(np.uint16) * 257), OK)
    bgra = cv2.cvtColor(base, cv2.COLOR_BGR2BGRA)
    bgra[:, : bgra.shape[1] // 2, 3] = 0  # half transparent
    add("ok/png_rgba.png", _enc(".png", bgra), OK)
    add("ok/png_rgba16.png", _enc(".png", bgra.astype(np.uint16) * 257), OK)
    add("ok/png_compression0.png", _enc(".png", base, [cv2.IMWRITE_PNG_COMPRESSION, 0]), OK)
    add("ok/png_compression9.png", _enc(".png", base, [cv2.IMWRITE_PNG_COMPRESSION, 9]), OK)
    add("ok/bmp_gray.bmp", _enc(".bmp", gray), OK)
    bmp = bytearray(_enc(".bmp", base))
    struct.pack_into("<i", bmp, 22, -struct.unpack_from("<i", bmp, 22)[0])  # top-down rows
    add("ok/bmp_top_down.bmp", bytes(bmp), OK)
    add("ok/webp.webp", _enc(".webp", base), OK)
    add("ok/webp_lossless.webp", _enc(".webp", base, [cv2.IMWRITE_WEBP_QUALITY, 101]), OK)
    add("ok/tiff.tif", _enc(".tiff", base), OK)
    add("ok/tiff_gray.tif", _enc(".tiff", gray), OK)
    add("ok/ppm.ppm", _enc(".ppm", base), OK)
    add("ok/pgm.pgm", _enc(".pgm", gray), OK)
    add("ok/gif.gif", _enc(".gif", base), OK)
    add("ok/min_8x4.png", _enc(".png", _plate(rng, 4, 8)), OK)
    add("ok/wide_2000x8.png", _enc(".png", _plate(rng, 8, 2000)), OK)
    add("ok/tall_8x600.png", _enc(".png", _plate(rng, 600, 8)), OK)
    add("ok/full_frame_1920x1080.jpg", _enc(".jpg", _plate(rng, 1080, 1920)), OK)
    add("ok/jpeg_padding_after_eoi.jpg", _enc(".jpg", base) + bytes(500), OK)
    add("ok/wrong_extension_png_as.jpg", _enc(".png", base), OK)
    add("ok/wrong_extension_jpeg_as.png", _enc(".jpg", base), OK)
    add("ok/no_extension", _enc(".jpg", base), OK)
    add("ok/uppercase.JPG", _enc(".jpg", base), OK)
    add("ok/name with spaces & ünïcode.jpg", _enc(".jpg", base), OK)
    try:
        from PIL import Image
    except ImportError:  # Pillow is optional (the train extra)
        Image = None
    if Image is not None:
        rgb = Image.fromarray(base[:, :, ::-1].copy())

        def pil(im, fmt: str, **kw) -> bytes:
            buf = io.BytesIO()
            im.save(buf, format=fmt, **kw)
            return buf.getvalue()

        add("ok/pil_cmyk.jpg", pil(rgb.convert("CMYK"), "JPEG"), OK)
        add("ok/pil_palette.png", pil(rgb.convert("P"), "PNG"), OK)
        add("ok/pil_1bit.png", pil(rgb.convert("1"), "PNG"), OK)
        add("ok/pil_gray_alpha.png", pil(rgb.convert("LA"), "PNG"), OK)
        add("ok/pil_interlaced.png", pil(rgb, "PNG", optimize=False), OK)
        add("ok/pil_exif_rotated.jpg", pil(rgb, "JPEG", exif=_exif_orientation(6)), OK)
        add("ok/pil_gif_palette.gif", pil(rgb.convert("P"), "GIF"), OK)

    # -- too small ---------------------------------------------------------------------------
    for h, w in [(1, 1), (3, 3), (4, 7), (3, 8), (2, 100), (100, 2), (1, 500)]:
        img = _plate(rng, h, w)
        add(f"toosmall/png_{w}x{h}.png", _enc(".png", img), TOO_SMALL)
        add(f"toosmall/jpeg_{w}x{h}.jpg", _enc(".jpg", img), TOO_SMALL)
    add("toosmall/bmp_1x1.bmp", _enc(".bmp", _plate(rng, 1, 1)), TOO_SMALL)
    add("toosmall/gif_1x1.gif", _enc(".gif", _plate(rng, 1, 1)), TOO_SMALL)
    add("toosmall/webp_3x3.webp", _enc(".webp", _plate(rng, 3, 3)), TOO_SMALL)

    # -- too large (refused from the header) ---------------------------------------------------
    add(BOMB_NAME, png_bomb(), TOO_LARGE)
    jpg = _enc(".jpg", base)
    add("toolarge/jpeg_header_60000x60000.jpg", _patch_jpeg_size(jpg, 60000, 60000), TOO_LARGE)
    add("toolarge/jpeg_header_65535x65535.jpg", _patch_jpeg_size(jpg, 65535, 65535), TOO_LARGE)
    add("toolarge/jpeg_header_5000x5000.jpg", _patch_jpeg_size(jpg, 5000, 5000), TOO_LARGE)
    add("toolarge/png_ihdr_5000x4000.png", _png_with_ihdr(5000, 4000), TOO_LARGE)
    add("toolarge/png_ihdr_2e9x2e9.png", _png_with_ihdr(2_000_000_000, 2_000_000_000), TOO_LARGE)
    bmp = bytearray(_enc(".bmp", base))
    struct.pack_into("<ii", bmp, 18, 100_000, 100_000)
    add("toolarge/bmp_header_100000x100000.bmp", bytes(bmp), TOO_LARGE)
    struct.pack_into("<ii", bmp, 18, 100_000, -100_000)
    add("toolarge/bmp_header_top_down_100000.bmp", bytes(bmp), TOO_LARGE)
    gif = bytearray(_enc(".gif", base))
    struct.pack_into("<HH", gif, 6, 65535, 65535)
    add("toolarge/gif_header_65535x65535.gif", bytes(gif), TOO_LARGE)
    add(
        "toolarge/webp_vp8x_16384x16384.webp",
        b"RIFF\x00\x00\x00\x00WEBPVP8X"
        + struct.pack("<I", 10)
        + b"\x00\x00\x00\x00"
        + (16383).to_bytes(3, "little")
        + (16383).to_bytes(3, "little"),
        TOO_LARGE,
    )
    # One stray byte before the frame header: libjpeg skips it ("1 extraneous bytes before
    # marker") and decodes 400M pixels from 700 bytes, so the header check must skip it too.
    for w, h, stray in [(20000, 20000, b"\x00"), (30000, 30000, b"\x00"), (20000, 20000, b"ABC"),
                        (16000, 16000, b"\xff\x00")]:
        big = _patch_jpeg_size(jpg, w, h)
        sof = next(big.find(m) for m in (b"\xff\xc0", b"\xff\xc2") if big.find(m) > 0)
        add(f"toolarge/jpeg_stray_{stray.hex()}_before_sof_{w}x{h}.jpg",
            big[:sof] + stray + big[sof:], TOO_LARGE)
    add(
        "toolarge/pnm_header_5000x5000.ppm",
        b"P6\n5000 5000\n255\n" + bytes(3000),
        TOO_LARGE,
    )

    # -- truncated ------------------------------------------------------------------------------
    for label, data in [
        ("jpeg_small", _enc(".jpg", _plate(rng, 48, 96))),
        ("jpeg_large", _enc(".jpg", _plate(rng, 300, 600))),
        ("jpeg_progressive", _enc(".jpg", base, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])),
    ]:
        for cut in _cut_points(len(data) - 2, 8, rng):
            piece = data[:cut]
            assert b"\xff\xd9" not in piece[-1024:]
            add(f"truncated/{label}_at_{cut}.jpg", piece, TRUNCATED)
    for label, data in [
        ("png_small", _enc(".png", _plate(rng, 48, 96))),
        ("png_large", _enc(".png", _plate(rng, 300, 600))),
        ("png_rgba", _enc(".png", bgra)),
    ]:
        for cut in _cut_points(len(data) - 12, 8, rng):  # 12: the IEND chunk
            piece = data[:cut]
            assert b"IEND" not in piece[-64:]
            # Cut inside the 8-byte signature, nothing says it was a PNG.
            add(f"truncated/{label}_at_{cut}.png", piece, TRUNCATED if cut >= 8 else NOT_IMAGE)

    # -- trailing bytes after a complete image (phones append metadata) ----------------------
    add("trailing/jpeg_plus_4k_zeros.jpg", _enc(".jpg", base) + bytes(4096), OK)
    add("trailing/png_plus_1k_zeros.png", _enc(".png", base) + bytes(1024), OK)

    names = [n for n, _, _ in out]
    assert len(names) == len(set(names)), "duplicate names"
    return out


def _exif_orientation(value: int) -> bytes:
    """A minimal EXIF block (little-endian TIFF) with one Orientation tag."""
    ifd = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, value, 0) + b"\x00" * 4
    return b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + ifd


def tiff_bomb(width: int = 12000, height: int = 12000) -> bytes:
    """A valid deflate-compressed 8-bit grayscale TIFF of zeros (~210 KB for 12000x12000).

    Not in make_hostile_objects only because compressing it takes a moment; decode_crop must
    refuse it from the header (a full decode would take seconds and ~0.7 GB).
    """
    comp = zlib.compressobj(9)
    row_block = bytes(width) * 500
    parts = []
    for start in range(0, height, 500):
        n = min(500, height - start)
        parts.append(comp.compress(row_block if n == 500 else bytes(width) * n))
    parts.append(comp.flush())
    strip = b"".join(parts)
    entries = [  # tag, type (3 SHORT, 4 LONG), value
        (256, 4, width),  # ImageWidth
        (257, 4, height),  # ImageLength
        (258, 3, 8),  # BitsPerSample
        (259, 3, 8),  # Compression: deflate
        (262, 3, 1),  # Photometric: BlackIsZero
        (273, 4, 0),  # StripOffsets (patched below)
        (277, 3, 1),  # SamplesPerPixel
        (278, 4, height),  # RowsPerStrip
        (279, 4, len(strip)),  # StripByteCounts
    ]
    ifd_offset = 8
    data_offset = ifd_offset + 2 + 12 * len(entries) + 4
    ifd = struct.pack("<H", len(entries))
    for tag, typ, value in entries:
        if tag == 273:
            value = data_offset
        packed = struct.pack("<H", value) + b"\x00\x00" if typ == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, typ, 1) + packed
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", ifd_offset) + ifd + strip


# ---------------------------------------------------------------------------------------------
# mutation fuzzing: what a flaky disk, a bad copy or an attacker does to real crops


def _dims_patches(data: bytes, fmt: str, rng: np.random.Generator) -> bytes:
    """The crop with the size fields of its header set to random values (small, huge, zero)."""
    out = bytearray(data)
    big = [0, 1, 7, 65535, 30000, 20000, int(rng.integers(0, 1 << 16))]
    w, h = (int(rng.choice(big)) for _ in range(2))
    try:
        if fmt == "png":
            struct.pack_into(">II", out, 16, w, h)
        elif fmt == "jpeg":
            return _patch_jpeg_size(bytes(out), w, h)
        elif fmt == "bmp":
            struct.pack_into("<ii", out, 18, w, -h if rng.random() < 0.3 else h)
        elif fmt == "gif":
            struct.pack_into("<HH", out, 6, w, h)
            frame = out.find(b"\x2c", 13)  # the first image descriptor
            if frame > 0 and frame + 9 <= len(out):
                struct.pack_into("<HH", out, frame + 5, w, h)
        elif fmt == "webp" and out[12:16] == b"VP8 " and len(out) >= 30:
            struct.pack_into("<HH", out, 26, w & 0x3FFF, h & 0x3FFF)
        elif fmt == "webp" and out[12:16] == b"VP8L" and len(out) >= 25:
            bits = ((w - 1) & 0x3FFF) | (((h - 1) & 0x3FFF) << 14)
            out[21:25] = (bits | (out[24] & 0xF0) << 24).to_bytes(4, "little")
        elif fmt == "tiff":
            (ifd,) = struct.unpack_from("<I", out, 4)
            (count,) = struct.unpack_from("<H", out, ifd)
            for k in range(count):
                tag, typ = struct.unpack_from("<HH", out, ifd + 2 + 12 * k)
                if tag in (256, 257):
                    value = w if tag == 256 else h
                    if typ == 3:
                        struct.pack_into("<H", out, ifd + 10 + 12 * k, value)
                    else:
                        struct.pack_into("<I", out, ifd + 10 + 12 * k, value)
    except (struct.error, ValueError):
        pass
    return bytes(out)


def _mutate(data: bytes, fmt: str, rng: np.random.Generator) -> tuple[str, bytes]:
    """(what was done, the mutated bytes): flips, inserts and cuts in the header (first 200
    bytes) or anywhere, or fuzzed header dimensions."""
    kind = str(rng.choice(["flip_header", "flip_any", "insert_header", "insert_any",
                           "cut_header", "cut_any", "dims", "dims_flip"]))
    out = bytearray(data)
    n = len(out)
    at = int(rng.integers(0, min(n, 200))) if kind.endswith("header") else int(rng.integers(0, n))
    if kind.startswith("flip"):
        for _ in range(int(rng.integers(1, 9))):
            i = at if kind == "flip_header" else int(rng.integers(0, n))
            out[i] ^= 1 << int(rng.integers(0, 8))
    elif kind.startswith("insert"):
        out[at:at] = rng.integers(0, 256, size=int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
    elif kind.startswith("cut"):
        del out[at : at + int(rng.integers(1, 128))]
    else:
        out = bytearray(_dims_patches(data, fmt, rng))
        if kind == "dims_flip":
            i = int(rng.integers(0, len(out)))
            out[i] ^= 0xFF
    return kind, bytes(out)


def make_fuzzed_objects(seed: int, count: int = 1000) -> list[tuple[str, bytes]]:
    """`count` (name, data) pairs: crops in the seven formats mutated by `_mutate`, plus the
    header-size bombs above, in a seeded order. Whatever the bytes, decode_crop must give a
    status without an exception and without decoding more than its pixel limit, and the job
    exactly one row each."""
    rng = np.random.default_rng(seed)
    bases = []
    for i in range(12):
        img = _plate(rng, int(rng.integers(20, 160)), int(rng.integers(60, 400)))
        for fmt, ext in (("jpeg", ".jpg"), ("png", ".png"), ("bmp", ".bmp"), ("gif", ".gif"),
                         ("webp", ".webp"), ("tiff", ".tiff")):
            params = [cv2.IMWRITE_JPEG_PROGRESSIVE, 1] if fmt == "jpeg" and i % 3 == 0 else []
            bases.append((fmt, f"{i:02d}{ext}", _enc(ext, img, params)))
    out = []
    for k in range(count):
        fmt, name, data = bases[int(rng.integers(0, len(bases)))]
        kind, mutated = _mutate(data, fmt, rng)
        out.append((f"fuzz/{k:05d}_{kind}_{name}", mutated))
    return out

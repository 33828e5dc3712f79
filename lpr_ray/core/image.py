"""Bytes of a plate crop -> the model's 48x96 RGB uint8 input, or a status saying why not.

Every outcome is a `Crop` with a status, never an exception: the pipeline must produce one
row per object whatever its bytes are. Sizes are read from the file header before
decoding so that a small file declaring a huge image (a decompression bomb) is refused
without allocating it.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

# A plate crop is at most a few hundred pixels; 16M pixels leaves room for full frames
# sent by mistake while refusing bombs (30000x30000 would need 2.7 GB decoded).
DEFAULT_MAX_PIXELS = 16_000_000
# The second wall against bombs, for headers our parsers read differently from OpenCV's
# decoders: OpenCV refuses to allocate an image over this many pixels whatever the format.
# It reads the variable once, at its first decode, so it is set before cv2 is imported.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(DEFAULT_MAX_PIXELS))
OPENCV_PIXEL_LIMIT = int(os.environ["OPENCV_IO_MAX_IMAGE_PIXELS"])

import cv2  # noqa: E402 - after the pixel limit above
import numpy as np  # noqa: E402

MODEL_HEIGHT = 48
MODEL_WIDTH = 96

# Every decode failure becomes a row with its reason; OpenCV's own log line for each one
# would print thousands of lines to the console for a damaged archive.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_FATAL)
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
# Below this an image holds no readable characters.
MIN_WIDTH = 8
MIN_HEIGHT = 4

OK = "ok"


@dataclass(frozen=True)
class Crop:
    status: str  # "ok" or an error kind
    image: np.ndarray | None = None  # [48, 96, 3] uint8 RGB when status is ok
    width: int | None = None
    height: int | None = None
    error: str | None = None


def _fail(status: str, error: str, width: int | None = None, height: int | None = None) -> Crop:
    return Crop(status=status, error=error, width=width, height=height)


_BMP_DIB_SIZES = {struct.pack("<I", n) for n in (12, 16, 40, 52, 56, 64, 108, 124)}


def sniff_format(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpeg"
    # "BM" alone is too weak (text can start "BMW..."): also require a known DIB header size.
    if data.startswith(b"BM") and len(data) >= 18 and data[14:18] in _BMP_DIB_SIZES:
        return "bmp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if data[:2] in (b"P1", b"P2", b"P3", b"P4", b"P5", b"P6"):
        return "pnm"
    return None


def _jpeg_segments(data: bytes):
    """Yield (marker, offset) of each JPEG segment up to and including the first SOS.

    Bytes between segments are skipped up to the next 0xFF, as libjpeg does ("N extraneous
    bytes before marker"): stopping there instead would miss a frame header that libjpeg
    still finds, and with it the size of a bomb."""
    i = 2
    n = len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            nxt = data.find(b"\xff", i)
            if nxt < 0:
                return
            i = nxt
            continue
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01, 0x00) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        yield marker, i
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            return
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        i += 2 + length


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    for marker, i in _jpeg_segments(data):
        # SOF0..SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if i + 9 > len(data):
                return None
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return w, h
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """ImageWidth (256) and ImageLength (257) of the first IFD."""
    endian = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack(endian + "I", data[4:8])
    (count,) = struct.unpack(endian + "H", data[ifd : ifd + 2])
    size: dict[int, int] = {}
    for k in range(count):
        entry = data[ifd + 2 + 12 * k : ifd + 14 + 12 * k]
        tag, typ = struct.unpack(endian + "HH", entry[:4])
        if tag in (256, 257):
            fmt = "H" if typ == 3 else "I"
            (size[tag],) = struct.unpack(endian + fmt, entry[8 : 8 + struct.calcsize(fmt)])
    if 256 in size and 257 in size:
        return size[256], size[257]
    return None


def _pnm_size(data: bytes) -> tuple[int, int] | None:
    tokens: list[bytes] = []
    for line in data[2:4096].split(b"\n"):  # comment lines may come first
        tokens += line.split(b"#", 1)[0].split()
        if len(tokens) >= 2:
            return int(tokens[0]), int(tokens[1])
    return None


def header_size(data: bytes, fmt: str) -> tuple[int, int] | None:
    """(width, height) declared by the header, or None when it cannot be read cheaply."""
    try:
        if fmt == "png" and len(data) >= 24 and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        if fmt == "jpeg":
            return _jpeg_size(data)
        if fmt == "bmp" and len(data) >= 26:
            w, h = struct.unpack("<ii", data[18:26])
            return abs(w), abs(h)
        if fmt == "gif" and len(data) >= 10:
            return struct.unpack("<HH", data[6:10])
        if fmt == "webp" and len(data) >= 30:
            chunk = data[12:16]
            if chunk == b"VP8X":
                w = 1 + int.from_bytes(data[24:27], "little")
                h = 1 + int.from_bytes(data[27:30], "little")
                return w, h
            if chunk == b"VP8L":
                b = int.from_bytes(data[21:25], "little")
                return 1 + (b & 0x3FFF), 1 + ((b >> 14) & 0x3FFF)
            if chunk == b"VP8 ":
                w, h = struct.unpack("<HH", data[26:30])
                return w & 0x3FFF, h & 0x3FFF
        if fmt == "tiff":
            return _tiff_size(data)
        if fmt == "pnm":
            return _pnm_size(data)
    except (struct.error, ValueError):
        return None
    return None


def _png_complete(data: bytes) -> bool:
    """Walk the length-prefixed chunks to IEND; trailing bytes after it are fine."""
    i = 8
    while i + 8 <= len(data):
        (length,) = struct.unpack(">I", data[i : i + 4])
        if data[i + 4 : i + 8] == b"IEND":
            return True
        i += 12 + length
    return False


def _truncated(data: bytes, fmt: str) -> bool:
    # libjpeg decodes a cut JPEG into a half-grey image with only a warning: look for the
    # end-of-image marker after the start of scan ourselves (phones append metadata after it,
    # and an EXIF thumbnail before it has its own).
    if fmt == "jpeg":
        sos = [i for marker, i in _jpeg_segments(data) if marker == 0xDA]
        if not sos:  # cut before the scan, unless the file ends properly without one
            return b"\xff\xd9" not in data
        return data.find(b"\xff\xd9", sos[0]) < 0
    if fmt == "png":
        return not _png_complete(data)
    return False


def decode_crop(
    data: bytes | None,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Crop:
    """Decode and resize one crop (no aspect kept, as NVIDIA's LPRNet expects)."""
    crop, bgr = decode_bgr(data, max_pixels=max_pixels, max_bytes=max_bytes)
    if bgr is None:
        return crop
    return Crop(status=OK, image=preprocess_bgr(bgr), width=crop.width, height=crop.height)


def decode_bgr(
    data: bytes | None,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> tuple[Crop, np.ndarray | None]:
    """Decode one crop at its own size, with every check of decode_crop: (Crop without its
    image, the BGR pixels) when it decodes, else (the failed Crop, None)."""
    crop = _decode(data, max_pixels, max_bytes)
    if isinstance(crop, Crop):
        return crop, None
    h, w = crop.shape[:2]
    return Crop(status=OK, width=w, height=h), crop


def _decode(data: bytes | None, max_pixels: int, max_bytes: int) -> Crop | np.ndarray:
    if data is None:
        return _fail("read_error", "the object could not be read")
    n = len(data)
    if n == 0:
        return _fail("empty_object", "the object is empty (0 bytes): re-upload the crop")
    if n > max_bytes:
        return _fail(
            "image_too_large",
            f"the object is {n} bytes, over the {max_bytes}-byte limit for a plate crop",
        )
    fmt = sniff_format(data)
    if fmt is None:
        # Never the bytes themselves: a row's error must not carry a file's content.
        kind = "text" if data[:512].isascii() else "binary data"
        return _fail(
            "not_an_image",
            f"the object is {kind} ({n} bytes), not an image OpenCV can decode "
            "(expected JPEG, PNG, BMP, GIF, WebP, TIFF or PNM)",
        )
    size = header_size(data, fmt)
    if size is not None:
        w, h = size
        if w * h > max_pixels:
            return _fail(
                "image_too_large",
                f"the {fmt.upper()} header declares {w}x{h} pixels, over the limit of "
                f"{max_pixels} pixels for a plate crop; refused without decoding",
                width=w,
                height=h,
            )
    if _truncated(data, fmt):
        return _fail(
            "truncated_image",
            f"the {fmt.upper()} data ends early ({n} bytes, no end marker): the object was "
            "cut short during upload or copy",
            *(size or (None, None)),
        )
    if size is None:
        # Every valid crop's header declares its size (the hostile-archive tests check it):
        # without one, decoding could allocate beyond max_pixels before we see the image.
        return _fail(
            "not_an_image",
            f"the {fmt.upper()} header declares no size lpr-ray can read (a damaged or unusual "
            "header); refused without decoding",
        )
    buf = np.frombuffer(data, dtype=np.uint8)
    # IMREAD_COLOR turns grayscale, 16-bit and alpha images into 8-bit BGR for us.
    try:
        bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    except cv2.error as exc:
        if "CV_IO_MAX_IMAGE_PIXELS" in str(exc):
            return _fail(
                "image_too_large",
                f"the {fmt.upper()} data declares more than {OPENCV_PIXEL_LIMIT} pixels to "
                "OpenCV's decoder; refused without decoding",
                *(size or (None, None)),
            )
        first = (str(exc).strip().splitlines() or [""])[-1][:200]
        return _fail("not_an_image", f"OpenCV could not decode the {fmt.upper()} data: {first}")
    if bgr is None:
        return _fail(
            "not_an_image",
            f"the object looks like {fmt.upper()} but OpenCV could not decode it "
            "(corrupt or unsupported variant)",
            *(size or (None, None)),
        )
    h, w = bgr.shape[:2]
    if w * h > max_pixels:
        return _fail(
            "image_too_large",
            f"the image is {w}x{h}, over the limit of {max_pixels} pixels",
            width=w,
            height=h,
        )
    if w < MIN_WIDTH or h < MIN_HEIGHT:
        return _fail(
            "image_too_small",
            f"the image is {w}x{h} pixels; a plate crop needs at least {MIN_WIDTH}x{MIN_HEIGHT}",
            width=w,
            height=h,
        )
    return bgr


def preprocess_bgr(bgr: np.ndarray) -> np.ndarray:
    """BGR image of any size -> [48, 96, 3] uint8 RGB."""
    resized = cv2.resize(bgr, (MODEL_WIDTH, MODEL_HEIGHT), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)


def to_model_input(images: np.ndarray) -> np.ndarray:
    """[N, 48, 96, 3] uint8 RGB -> [N, 3, 48, 96] float32 in [0, 1] (NVIDIA's contract)."""
    if images.ndim != 4 or images.shape[1:] != (MODEL_HEIGHT, MODEL_WIDTH, 3):
        raise ValueError(
            f"expected uint8 images of shape [N, {MODEL_HEIGHT}, {MODEL_WIDTH}, 3], "
            f"got {images.shape} {images.dtype}"
        )
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32) * (1.0 / 255.0)

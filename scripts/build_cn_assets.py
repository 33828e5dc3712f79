"""Build lpr_ray/synth/cn/assets/ (committed): Chinese plate glyph masks and CJK font subsets.

How to run (once; the outputs are in the repository, so neither lpr-ray nor its tests run it):

    apt-get download fonts-noto-cjk && dpkg-deb -x fonts-noto-cjk_*.deb /tmp/noto
    pip install fonttools
    python scripts/build_cn_assets.py ../shared/data/cn_plate_glyphs /tmp/noto

Glyphs: the single-row (`140_*`) and new-energy (`green_*`) bitmaps of the MIT-licensed
cn_plate_glyphs set (Pengfei8324/chinese_license_plate_generator), resized to the standard
45 x 90 mm character cell at 1 px per mm and stored as grey masks (ink = 255), named by code
point. Fonts: Noto Sans CJK SC Bold/Regular and Noto Serif CJK SC Bold (OFL-1.1, Debian's
fonts-noto-cjk) cut down to the plates' 67 characters.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lpr_ray.core.charset import CN_CHARACTERS  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "lpr_ray" / "synth" / "cn" / "assets"
CELL = (45, 90)  # width, height in mm (GA 36-2018)
FONTS = {  # output name: (Debian file, face index of Simplified Chinese in the collection)
    "NotoSansCJKsc-Bold.otf": ("NotoSansCJK-Bold.ttc", 2),
    "NotoSansCJKsc-Regular.otf": ("NotoSansCJK-Regular.ttc", 2),
    "NotoSerifCJKsc-Bold.otf": ("NotoSerifCJK-Bold.ttc", 2),
}


def build_glyphs(src: Path) -> None:
    for kind, prefix in (("plate", "140_"), ("green", "green_")):
        folder = OUT / "glyphs" / kind
        folder.mkdir(parents=True, exist_ok=True)
        for ch in CN_CHARACTERS:
            path = src / "font_model" / f"{prefix}{ch}.jpg"
            if not path.exists():
                continue
            grey = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_GRAYSCALE)
            mask = 255 - cv2.resize(grey, CELL, interpolation=cv2.INTER_AREA)
            mask[mask < 24] = 0  # JPEG ringing on the white cell
            cv2.imwrite(str(folder / f"U+{ord(ch):04X}.png"), mask)
    shutil.copy(src / "LICENSE.MIT.txt", OUT / "glyphs" / "LICENSE.MIT.txt")


def build_fonts(noto: Path) -> None:
    from fontTools import subset
    from fontTools.ttLib import TTCollection

    folder = OUT / "fonts"
    folder.mkdir(parents=True, exist_ok=True)
    for name, (ttc, index) in FONTS.items():
        font = TTCollection(str(next(noto.rglob(ttc)))).fonts[index]
        options = subset.Options()
        options.name_IDs = ["*"]  # keep the copyright and licence names
        sub = subset.Subsetter(options)
        sub.populate(text="".join(CN_CHARACTERS) + "·")
        sub.subset(font)
        font.save(str(folder / name))
    copyright = next(noto.rglob("fonts-noto-cjk/copyright"))
    shutil.copy(copyright, folder / "LICENSE.fonts-noto-cjk.txt")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    build_glyphs(Path(sys.argv[1]))
    build_fonts(Path(sys.argv[2]))
    print(f"wrote {OUT}")

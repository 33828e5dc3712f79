"""What Chinese plates say: plate types, province shares, and their character patterns.

Plate types and layouts follow GA 36-2018 (single-row plates): 440 x 140 mm with seven 45 x 90
mm characters and a dot after the second; new-energy plates 480 x 140 mm with eight 43 x 90 mm
characters and the new-energy mark in the gap. Province shares are rounded shares of China's
registered motor vehicles by province (Ministry of Public Security statistics, 2023), so a
model sees every province about as often as a national archive would, not only the Anhui (皖)
plates that both real folders here are full of.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O on Chinese plates
DIGITS = "0123456789"

# Percent of registered vehicles, rounded (sums to about 100).
PROVINCE_SHARES: dict[str, float] = {
    "粤": 8.6, "鲁": 7.6, "苏": 6.9, "浙": 6.6, "豫": 6.2, "冀": 5.9, "川": 4.8, "皖": 3.8,
    "湘": 3.6, "鄂": 3.5, "云": 3.1, "辽": 3.0, "闽": 2.9, "陕": 2.9, "桂": 2.9, "晋": 2.7,
    "赣": 2.4, "贵": 2.3, "蒙": 2.2, "京": 2.1, "黑": 2.0, "渝": 2.0, "吉": 1.7, "新": 1.7,
    "沪": 1.6, "津": 1.4, "甘": 1.4, "琼": 0.8, "宁": 0.7, "青": 0.4, "藏": 0.2,
}
# The city letter: A is the provincial capital, and the capitals and big cities hold most cars.
CITY_WEIGHTS = [10.0, 6.0, 5.0, 4.5, 4.0, 3.5, 3.0, 2.5, 2.2, 2.0, 1.8, 1.6, 1.5, 1.4, 1.3, 1.2,
                1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3]


@dataclass(frozen=True)
class PlateType:
    name: str
    share: float  # of rendered plates: rare types are drawn more often than they occur, to be learnt
    width_mm: float
    chars: int
    background: str  # key of render.BACKGROUNDS
    ink: tuple[float, float, float]  # RGB of the characters
    glyphs: str  # "plate" or "green": which bitmap set draws its characters


PLATE_TYPES: tuple[PlateType, ...] = (
    PlateType("blue", 0.60, 440, 7, "blue", (245, 245, 245), "plate"),
    PlateType("yellow", 0.11, 440, 7, "yellow", (15, 15, 15), "plate"),
    PlateType("green_small", 0.12, 480, 8, "green_small", (15, 15, 15), "green"),
    PlateType("green_large", 0.05, 480, 8, "green_large", (15, 15, 15), "green"),
    PlateType("police", 0.06, 440, 7, "white", (15, 15, 15), "plate"),
    PlateType("learner", 0.06, 440, 7, "yellow", (15, 15, 15), "plate"),
)
TYPES = {t.name: t for t in PLATE_TYPES}


def pick_type(r: random.Random) -> PlateType:
    return r.choices(PLATE_TYPES, weights=[t.share for t in PLATE_TYPES])[0]


def _serial(r: random.Random, n: int, max_letters: int) -> str:
    """n characters of letters and digits, mostly digits, at most `max_letters` letters."""
    out, letters = [], 0
    for _ in range(n):
        if letters < max_letters and r.random() < 0.22:
            out.append(r.choice(LETTERS))
            letters += 1
        else:
            out.append(r.choice(DIGITS))
    return "".join(out)


def plate_text(kind: PlateType, r: random.Random) -> str:
    """The characters of one plate of type `kind` (its label: no dot, no spaces)."""
    province = r.choices(list(PROVINCE_SHARES), weights=list(PROVINCE_SHARES.values()))[0]
    city = r.choices(LETTERS, weights=CITY_WEIGHTS)[0]
    if kind.name in ("blue", "yellow"):
        return province + city + _serial(r, 5, 3)
    if kind.name == "green_small":  # D: battery electric, F: hybrid; then a letter or digit, 4 digits
        second = r.choice(LETTERS) if r.random() < 0.4 else r.choice(DIGITS)
        return province + city + r.choice("DF") + second + _serial(r, 4, 0)
    if kind.name == "green_large":  # five digits, then D or F
        return province + city + _serial(r, 5, 0) + r.choice("DF")
    if kind.name == "police":
        return province + city + _serial(r, 4, 1) + "警"
    if kind.name == "learner":
        return province + city + _serial(r, 4, 1) + "学"
    raise ValueError(f"unknown plate type {kind.name!r}")

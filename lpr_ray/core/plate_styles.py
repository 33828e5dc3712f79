"""Plate designs of US states: serial formats, colours, state names, slogans, graphics.

Weights follow what the project's users see: parking lots mostly in California, then the
states whose plates show up most on its roads and in the real validation crops.
Colours are RGB.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from lpr_ray.core import plate_formats as formats

NAVY = (25, 35, 95)
BLACK = (20, 20, 24)
MAROON = (110, 25, 35)
DARKGREEN = (20, 70, 40)
DARKBLUE = (20, 45, 120)
RED = (185, 30, 40)
WHITE_BG = (238, 240, 240)


@dataclass(frozen=True)
class Style:
    name: str
    weight: float
    patterns: tuple[tuple[str, float], ...]
    headers: tuple[str, ...] = ()
    header_script: float = 0.0  # probability the header is drawn in a script face
    header_colours: tuple[tuple[int, int, int], ...] = (RED,)
    text_colours: tuple[tuple[int, int, int], ...] = (NAVY,)
    backgrounds: tuple[tuple[int, int, int], ...] = (WHITE_BG,)
    slogans: tuple[str, ...] = ()
    graphics: tuple[str, ...] = ()  # see background.graphic: "mountains", "sun", "sunset", ...
    vanity: float = 0.03
    corner_stickers: float = 0.6
    gap_emblem: str = ""  # the state's own graphic in a '#' slot (marks.slot_object)
    letters: str = formats.LETTERS  # what an `L` of its serial patterns draws from
    extra: dict = field(default_factory=dict)


STYLES: tuple[Style, ...] = (
    Style(
        "california",
        40.0,
        (
            ("NLLLDDD", 0.84),
            ("NLDDDDD", 0.05),
            ("NDDDDLD", 0.04),
            ("DDDDDDD", 0.03),
            ("DDDL", 0.01),
            ("DDDDL", 0.01),
            ("DLL DDD", 0.02),
        ),
        headers=("California",),
        header_script=0.92,
        header_colours=(RED, (200, 40, 50), (150, 30, 45)),
        text_colours=(NAVY, DARKBLUE, (30, 40, 80), BLACK),
        backgrounds=(WHITE_BG, (230, 234, 238), (246, 246, 242), (222, 228, 236)),
        slogans=("DMV.CA.GOV", "", "", "", "Sunshine Dealer", "AUTO GROUP"),
        graphics=("", "", "", "", "sun", "waves"),
        vanity=0.03,
        corner_stickers=0.85,
        letters=formats.LETTERS_CA,
    ),
    Style(
        "california_exempt",
        1.5,
        (("DDDDDDD", 0.7), ("DDDDDLD", 0.3)),
        headers=("CA EXEMPT", "EXEMPT"),
        header_colours=(DARKBLUE, NAVY, BLACK),
        text_colours=(DARKBLUE, NAVY),
        vanity=0.0,
        corner_stickers=0.2,
    ),
    Style(
        "california_legacy",
        2.0,
        (("NLLLDDD", 0.8), ("LLLDDD", 0.2)),
        headers=("CALIFORNIA", "California"),
        header_script=0.3,
        header_colours=((220, 190, 60), (235, 235, 235), RED),
        text_colours=((230, 200, 70), (240, 240, 240), (40, 40, 140)),
        backgrounds=((18, 18, 22), (30, 40, 90), (200, 220, 235)),
        vanity=0.05,
        letters=formats.LETTERS_CA,
    ),
    Style(
        "texas",
        9.0,
        (
            ("LLL*DDDD", 0.6),
            ("LLL-DDDD", 0.2),
            ("LLL*DDD", 0.05),
            ("DDD*LLL", 0.05),
            ("LL L DDDD", 0.05),
            ("LLLDDDD", 0.05),
        ),
        headers=("TEXAS", "Texas"),
        header_colours=(BLACK, NAVY, (60, 60, 60)),
        text_colours=(BLACK, (35, 35, 40), NAVY),
        backgrounds=(WHITE_BG, (226, 228, 226), (236, 232, 220)),
        slogans=("The Lone Star State", "The Lone Star State", "", "DEALER SALES"),
        graphics=("", "", "flag", "stripe"),
    ),
    Style(
        "missouri",
        8.0,
        (("LLD#LDL", 0.6), ("LLD-LDL", 0.3), ("LLD LDL", 0.1)),
        headers=("MISSOURI", "Missouri"),
        header_colours=(NAVY, DARKBLUE, BLACK),
        text_colours=(NAVY, BLACK, (40, 50, 80)),
        backgrounds=((214, 226, 236), (225, 232, 238), (200, 214, 228), WHITE_BG),
        slogans=("SHOW-ME STATE", "GATEWAY TO THE WEST", "", "BLUEBIRD"),
        graphics=("waves", "", "stripe"),
        vanity=0.02,
    ),
    Style(
        "arizona",
        1.5,
        (("LLLDDDD", 0.8), ("DDDLLL", 0.1), ("LLL DDD", 0.1)),
        headers=("ARIZONA",),
        header_colours=(MAROON, BLACK),
        text_colours=(MAROON, (90, 30, 45), DARKGREEN),
        backgrounds=((226, 230, 236), (240, 226, 206), (214, 222, 236)),
        slogans=("GRAND CANYON STATE",),
        graphics=("mountains", "sun", "mountains", "sunset", "cactus", "sunset"),
    ),
    Style(
        # Arizona's current design: a dark blue serial on a pale sky, purple mountains and
        # desert along the bottom, a saguaro at one end. Only maroon-on-beige Arizona plates
        # were drawn before, and real ones of this design read their Vs as U at 1.0.
        "arizona_sky",
        2.5,
        (("LLLDDDD", 0.8), ("DDDLLL", 0.1), ("LLL DDD", 0.1)),
        headers=("ARIZONA",),
        header_colours=(NAVY, (30, 60, 110)),
        text_colours=((25, 70, 105), (30, 60, 110), (20, 80, 110), NAVY),
        backgrounds=((236, 240, 246), (226, 236, 246), (244, 246, 248)),
        slogans=("GRAND CANYON STATE",),
        graphics=("arizona_sky",),
    ),
    Style(
        "illinois",
        4.0,
        (("LDD DDDD", 0.5), ("DDD DDDD", 0.2), ("LL DDDDD", 0.2), ("LLL DDD", 0.1)),
        headers=("Illinois",),
        header_script=0.7,
        header_colours=(RED, MAROON),
        text_colours=(MAROON, (120, 20, 30), BLACK, NAVY),
        backgrounds=(WHITE_BG, (228, 234, 240)),
        slogans=("Land of Lincoln",),
        graphics=("", "waves", "sun"),
    ),
    Style(
        "washington",
        2.0,
        (("LLLDDDD", 0.7), ("DDD-LLL", 0.3)),
        headers=("WASHINGTON", "Washington"),
        header_colours=(DARKBLUE, RED),
        text_colours=(DARKBLUE, NAVY),
        graphics=("mountains", ""),
        slogans=("EVERGREEN STATE", ""),
    ),
    Style(
        "new_york",
        2.0,
        (("LLL-DDDD", 0.8), ("LLL DDDD", 0.2)),
        headers=("NEW YORK", "NEW YORK"),
        header_colours=(DARKBLUE, NAVY, WHITE_BG),
        text_colours=(DARKBLUE, NAVY, BLACK),
        backgrounds=(WHITE_BG, (246, 210, 90), (240, 236, 225)),
        slogans=("THE EMPIRE STATE", "EMPIRE STATE"),
        graphics=("stripe", ""),
    ),
    Style(
        # Florida's serials are split by an orange (three real misreads beside one).
        "florida",
        3.0,
        (
            ("DDL#DLL", 0.3),
            ("LLD#LDL", 0.3),
            ("LLL#DDL", 0.15),
            ("LLL#LDD", 0.1),
            ("DDD#LLL", 0.1),
            ("LLLL#DD", 0.05),
        ),
        headers=("MYFLORIDA.COM", "FLORIDA", "Florida"),
        header_script=0.1,
        header_colours=(DARKGREEN, (30, 90, 60), DARKBLUE),
        text_colours=(DARKGREEN, (15, 60, 45), BLACK, (30, 40, 40)),
        backgrounds=(WHITE_BG, (236, 240, 230), (242, 242, 236)),
        slogans=("Sunshine State", "Miami-Dade", "Orange", "Broward", "Hillsborough", ""),
        graphics=("", "", "waves"),
        gap_emblem="orange",
        vanity=0.04,
    ),
    Style(
        "southern_mixed",
        5.0,
        (
            ("LLL DDD", 0.25),
            ("DDD LLL", 0.2),
            ("LLL-DDD", 0.1),
            ("DDD-LDD", 0.1),
            ("LDD-LLL", 0.1),
            ("LLL DDDD", 0.1),
            ("LLLL DD", 0.05),
            ("DDDDDD", 0.1),
        ),
        headers=(
            "ARKANSAS",
            "Nevada",
            "OREGON",
            "FLORIDA",
            "Colorado",
            "UTAH",
            "ALASKA",
            "KANSAS",
            "Oklahoma",
            "GEORGIA",
            "Louisiana",
            "NEW MEXICO",
            "IDAHO",
        ),
        header_script=0.25,
        header_colours=(RED, DARKBLUE, DARKGREEN, BLACK, MAROON),
        text_colours=(BLACK, NAVY, DARKGREEN, MAROON, DARKBLUE),
        backgrounds=(WHITE_BG, (240, 232, 200), (220, 232, 240), (236, 220, 220)),
        slogans=(
            "The Natural State",
            "The Last Frontier",
            "Sunshine State",
            "Land of Enchantment",
            "Sportsman's Paradise",
            "Life Elevated",
            "Famous Potatoes",
            "Peach State",
            "",
        ),
        graphics=("mountains", "sun", "waves", "tree", "stripe", "", "sunset", "cactus"),
        vanity=0.06,
    ),
    Style(
        "northern_mixed",
        4.0,
        (
            ("LLL-DDDD", 0.2),
            ("LLLDDDD", 0.2),
            ("DDDDDD", 0.1),
            ("LDDLLL", 0.1),
            ("DDD LLL", 0.1),
            ("LL DDDD", 0.1),
            ("DDLLLD", 0.1),
            ("LLL DDD", 0.1),
        ),
        headers=(
            "PENNSYLVANIA",
            "OHIO",
            "Michigan",
            "Indiana",
            "New Jersey",
            "MINNESOTA",
            "WISCONSIN",
            "IOWA",
            "Virginia",
            "MARYLAND",
            "KENTUCKY",
            "Tennessee",
        ),
        header_script=0.2,
        header_colours=(DARKBLUE, RED, BLACK, NAVY),
        text_colours=(NAVY, DARKBLUE, BLACK, MAROON),
        backgrounds=(WHITE_BG, (236, 236, 214), (222, 230, 240), (245, 225, 170)),
        slogans=(
            "visitPA.com",
            "Pure Michigan",
            "Garden State",
            "10,000 Lakes",
            "Crossroads of America",
            "Birthplace of Aviation",
            "America's Dairyland",
            "",
        ),
        graphics=("stripe", "waves", "sun", "tree", ""),
    ),
    Style(
        "dark_plate",
        1.5,
        (("LLLDDD", 0.3), ("LLLDDDD", 0.4), ("DLLLDDD", 0.3)),
        headers=("FLORIDA", "IDAHO", "NEVADA", "OREGON", "California"),
        header_script=0.2,
        header_colours=((235, 235, 235), (240, 210, 80)),
        text_colours=((240, 240, 240), (245, 220, 90)),
        backgrounds=((20, 50, 120), (25, 25, 30), (30, 80, 50), (110, 20, 30)),
        slogans=("GREAT LAKES", "SPECIALTY", ""),
        vanity=0.2,
    ),
)

STYLE_WEIGHTS = tuple(s.weight for s in STYLES)


def pick_style(r: random.Random) -> Style:
    return r.choices(STYLES, weights=STYLE_WEIGHTS)[0]


def pick_pattern(style: Style, r: random.Random) -> str:
    pats, weights = zip(*style.patterns, strict=True)
    return r.choices(pats, weights=weights)[0]


FRAME_TEXTS = (
    "DEALER SALES",
    "AUTO MALL",
    "MOTORS",
    "TOYOTA",
    "HONDA",
    "VOLKSWAGEN",
    "LEGENDS",
    "BOARDWALK",
    "CARMAX",
    "ALL STAR",
    "CITY FORD",
    "NISSAN",
    "SUBARU OF AMERICA",
    "VALLEY CHEVROLET",
    "BAY AREA AUTO",
    "COLLECTOR",
    "ALUMNI",
    "I'D RATHER BE SURFING",
    "WWW.DEALER.COM",
    "SUNSET IMPORTS",
    "LAMBORGHINI",
    "KIA",
    "MAZDA",
    "JEEP",
)

"""US plate formats: what text a plate carries and how its characters are grouped. Shared
by the synthetic generator (lpr_ray.synth) and the format-aware decoder (lpr_ray.core.grammar), so
it needs the standard library only.

A pattern is a string of tokens: `L` a letter, `D` a digit, `N` a leading digit of
California's series, `A` a letter or digit, and separators that are drawn but never part
of the label: ` ` a gap, `-` a dash, `*` a star, `.` a dot, `#` a slot for a sticker or a
small state graphic. The label is the drawn characters alone, with the letter O written
as 0 (NVIDIA's US dictionary has no O).
"""

from __future__ import annotations

import random

DIGITS = "0123456789"
# Most states skip O and Q in serial plates (they still appear on vanity plates). Some
# skip I too, but California and others issue it, and a model that rarely saw the plate's
# serifed I read it as T: it is drawn in every state's serials.
LETTERS = "ABCDEFGHIJKLMNPRSTUVWXYZ"
LETTERS_ALL = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# California issues O and Q in its serials too (5LOD951, 5TQY867 in us_real_val; the O is
# labelled 0). A model that never saw a round O among the letters read it as D at 0.94.
# Drawn at a quarter of the other letters' rate (each of those appears four times in the
# string): one each in us_real_val's 60 California serials, where an even rate would give
# seven; at half the rate, Q/0 confusions were a third of held-out synthetic misreads.
LETTERS_CA = LETTERS * 4 + "OQ"
SEPARATORS = " -*#."


def random_text(pattern: str, r: random.Random, letters: str = LETTERS) -> str:
    """Fill a pattern: L/D/A become characters, separators stay."""
    out = []
    for t in pattern:
        if t == "L":
            out.append(r.choice(letters))
        elif t == "D":
            out.append(r.choice(DIGITS))
        elif t == "N":  # leading digit of California's serials (4..8 in the 2010s)
            out.append(r.choice("12345566677788899"))
        elif t == "A":
            out.append(r.choice(letters + DIGITS))
        else:
            out.append(t)
    return "".join(out)


def label_of(text: str) -> str:
    """The TAO label of drawn text: separators dropped, O read as 0."""
    return "".join(c for c in text if c not in SEPARATORS).replace("O", "0")


def vanity_pattern(r: random.Random) -> str:
    n = r.choice((2, 3, 4, 4, 5, 5, 6, 6, 6, 7, 7, 7, 8))
    body = "".join(r.choice("LLLLLLAD") for _ in range(n))
    if n >= 5 and r.random() < 0.3:
        cut = r.randint(2, n - 2)
        body = body[:cut] + " " + body[cut:]
    return body


def vanity_text(r: random.Random) -> str:
    """Personalised plates: mostly letters, sometimes a word-like run."""
    if r.random() < 0.35:
        word = r.choice(_WORDS)
        if r.random() < 0.4:
            word = word + r.choice(DIGITS)
        return word[:8]
    return random_text(vanity_pattern(r), r, LETTERS_ALL)


_WORDS = [
    "LUCKY",
    "SURFER",
    "MYRIDE",
    "GOBEARS",
    "ROADIE",
    "NANA",
    "BIGDOG",
    "TESLA",
    "ZOOM",
    "FASTLN",
    "MAMA",
    "PAPA",
    "GRACE",
    "KINGS",
    "SUNNY",
    "HAPPY",
    "AGGIE",
    "DREAM",
    "JEEP",
    "BEACH",
    "RUNNER",
    "SKIER",
    "DOCTOR",
    "COWBOY",
    "SPEEDY",
    "TRUCKN",
    "GOLFER",
    "BLESSD",
    "NOMAD",
    "ROCKET",
    "PILOT",
    "CHEF",
    "MUSIC",
    "VEGAS",
    "SALSA",
    "GECKO",
    "DADDY",
    "BUZZ",
]

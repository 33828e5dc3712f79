"""Format-aware CTC decoding: greedy CTC, then letters vs digits chosen with US plate formats.

Greedy decoding reads each character on its own, so a look-alike in the wrong group
(`AKS43Z9`: a Z among Arizona's four digits, `IAMW240`: an I where California's serials
start with a digit) costs the whole plate. Production readers (OpenALPR's postprocess
patterns) fix this with the plate formats of the region. Here the formats come from the
synthetic generator's US states and their weights (`lpr_ray.core.plate_styles`), turned into a
prior over *class strings*: `L` for a letter and `D` for a digit per character, vanity
plates included, so every string of 2 to 8 characters keeps a non-zero prior. The letter O
is labelled 0, so `0` belongs to both classes: the formats never turn a 0 into a letter.

The decoder keeps greedy CTC's alignment (which steps emit a character, so no character is
added or dropped) and picks, for the emitted steps, the class string that maximises
    sum over steps of log(max probability within the class) + log prior(class string),
then the most probable character of the chosen class at each step. Each character's
confidence is its probability given the image at that step AND the classes read at the
other steps under the prior (the character mass, 1 - p(blank), is kept), so it equals
greedy's confidence wherever the formats have nothing to say, and the plate confidence is
still the product of the characters'. Pure numpy; the prior is built once, on first use.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lpr_ray.core.charset import US
from lpr_ray.core.decode import PlateRead, emitted_mask
from lpr_ray.core.errors import LprRayError

# A step takes part in the choice when its best letter and best digit are within this
# factor of each other: below it the formats could only flip it against 1000:1 odds.
MIN_RATIO = 1e-3
# At most this many ambiguous steps per plate are enumerated (2**12 class strings).
MAX_FREE = 12


@dataclass(frozen=True)
class ClassPrior:
    """Prior probability of each class string ('L'/'D' per character); `floor` for others."""

    probs: Mapping[str, float]
    floor: float

    def log(self, classes: str) -> float:
        return math.log(self.probs.get(classes, self.floor))


def _vanity_classes() -> dict[str, float]:
    """Class strings of `formats.vanity_text` (what the generator draws for personalised plates)."""
    from lpr_ray.core import plate_formats as formats

    out: dict[str, float] = {}
    words = formats._WORDS
    for word in words:
        for digit, p in ((False, 0.6), (True, 0.4)):
            k = ("L" * len(word) + ("D" if digit else ""))[:8]
            out[k] = out.get(k, 0.0) + 0.35 * p / len(words)
    # A random body: 6/8 letter, 1/8 letter-or-digit (26 letters of 36), 1/8 digit.
    p_letter = 0.75 + 0.125 * 26 / 36
    lengths = (2, 3, 4, 4, 5, 5, 6, 6, 6, 7, 7, 7, 8)
    for n in sorted(set(lengths)):
        p_len = lengths.count(n) / len(lengths)
        for combo in itertools.product("LD", repeat=n):
            letters = combo.count("L")
            p = 0.65 * p_len * p_letter**letters * (1 - p_letter) ** (n - letters)
            out["".join(combo)] = out.get("".join(combo), 0.0) + p
    return out


@functools.cache
def us_class_prior() -> ClassPrior:
    """The prior implied by the synthetic generator's US styles, patterns and vanity share."""
    from lpr_ray.core import plate_formats as formats
    from lpr_ray.core import plate_styles as styles

    token: dict[str, tuple[tuple[str, float], ...]] = {"L": (("L", 1.0),), "D": (("D", 1.0),), "N": (("D", 1.0),)}
    letters = len(formats.LETTERS)
    token["A"] = (("L", letters / (letters + 10)), ("D", 10 / (letters + 10)))
    vanity = _vanity_classes()
    total = sum(s.weight for s in styles.STYLES)
    probs: dict[str, float] = {}
    for style in styles.STYLES:
        w = style.weight / total
        for k, p in vanity.items():
            probs[k] = probs.get(k, 0.0) + w * style.vanity * p
        pattern_total = sum(p for _, p in style.patterns)
        for pattern, pw in style.patterns:
            tokens = [token[t] for t in pattern if t not in formats.SEPARATORS]
            for combo in itertools.product(*tokens):
                k = "".join(c for c, _ in combo)
                p = w * (1 - style.vanity) * pw / pattern_total * math.prod(q for _, q in combo)
                probs[k] = probs.get(k, 0.0) + p
    return ClassPrior(probs=probs, floor=min(probs.values()) * 1e-3)


def check_grammar_characters(characters: Sequence[str]) -> None:
    if tuple(characters) != tuple(US.characters):
        raise LprRayError(
            "format-aware decoding (--decode grammar) knows US plate formats only: it needs the US "
            f"dictionary {''.join(US.characters)!r}, but this model's characters are "
            f"{''.join(characters)!r}; use --decode greedy"
        )


def _decode_one(p: np.ndarray, steps: np.ndarray, in_l: np.ndarray, in_d: np.ndarray, prior: ClassPrior, characters) -> PlateRead:
    blank = len(characters)
    chars_p = p[steps, :blank].astype(np.float64)  # [k, C-1]
    letters = np.where(in_l, chars_p, -1.0)
    digits = np.where(in_d, chars_p, -1.0)
    best_l, best_d = letters.argmax(1), digits.argmax(1)
    rows = np.arange(len(steps))
    p_l, p_d = chars_p[rows, best_l], chars_p[rows, best_d]
    # Character mass by class; a character of both classes (0, also the letter O) apart.
    mass_l = np.where(in_l & ~in_d, chars_p, 0.0).sum(1)
    mass_d = np.where(in_d & ~in_l, chars_p, 0.0).sum(1)
    mass_both = np.where(in_l & in_d, chars_p, 0.0).sum(1)
    greedy = ["L" if pl >= pd else "D" for pl, pd in zip(p_l, p_d, strict=True)]
    log_l, log_d = np.log(np.maximum(p_l, 1e-30)), np.log(np.maximum(p_d, 1e-30))
    ratio = np.minimum(p_l, p_d) / np.maximum(np.maximum(p_l, p_d), 1e-30)
    free = [int(i) for i in np.argsort(-ratio) if ratio[i] >= MIN_RATIO][:MAX_FREE]

    def score(k: list[str]) -> float:
        return sum(log_l[i] if c == "L" else log_d[i] for i, c in enumerate(k)) + prior.log("".join(k))

    chosen, best_score = greedy, score(greedy)
    for combo in itertools.product("LD", repeat=len(free)):
        k = list(greedy)
        for i, c in zip(free, combo, strict=True):
            k[i] = c
        s = score(k)
        if s > best_score:  # strict: a tie keeps greedy's read
            chosen, best_score = k, s

    text, confs = [], []
    for i, c in enumerate(chosen):
        idx = best_l[i] if c == "L" else best_d[i]
        text.append(characters[idx])
        as_l, as_d = list(chosen), list(chosen)
        as_l[i], as_d[i] = "L", "D"
        # Prior odds of the two classes here, given the other steps' classes.
        pr_l, pr_d = prior.log("".join(as_l)), prior.log("".join(as_d))
        top = max(pr_l, pr_d)
        w_l, w_d = math.exp(pr_l - top), math.exp(pr_d - top)
        own = max(w_l, w_d) if in_l[idx] and in_d[idx] else (w_l if c == "L" else w_d)
        den = mass_l[i] * w_l + mass_d[i] * w_d + mass_both[i] * max(w_l, w_d)
        conf = chars_p[i, idx] * own / den * (mass_l[i] + mass_d[i] + mass_both[i]) if den > 0 else 0.0
        confs.append(float(min(1.0, conf)))
    return PlateRead(
        plate="".join(text),
        confidence=float(np.prod(confs, dtype=np.float64)) if confs else 0.0,
        char_confidences=tuple(confs),
    )


def grammar_decode(
    probs: np.ndarray, characters: Sequence[str], prior: ClassPrior | None = None
) -> list[PlateRead]:
    """Decode [N, T, C] per-step class probabilities (C = characters + blank, blank last)."""
    probs = np.asarray(probs)
    if probs.ndim != 3 or probs.shape[-1] != len(characters) + 1:
        raise ValueError(
            f"probabilities must be [N, T, {len(characters) + 1}] for {len(characters)} characters "
            f"+ blank, got shape {probs.shape}"
        )
    check_grammar_characters(characters)
    prior = prior or us_class_prior()
    in_d = np.array([not c.isalpha() for c in characters])
    # The letter O is labelled 0, so a 0 also stands for a letter: the formats never turn
    # a 0 the model is sure of into the nearest letter (Q, D) where a letter is due.
    in_l = ~in_d | (np.asarray(characters) == "0")
    best = probs.argmax(-1)
    mask = emitted_mask(best, len(characters))
    return [_decode_one(p, np.flatnonzero(m), in_l, in_d, prior, characters) for p, m in zip(probs, mask, strict=True)]

"""The class list of an LPRNet model: `characters_list.txt`, one character per line.

Class i is line i; the CTC blank is class len(characters) (NVIDIA's convention).
"""

from __future__ import annotations

from dataclasses import dataclass

from lpr_ray.core.errors import LprRayError

US_CHARACTERS: tuple[str, ...] = tuple("0123456789ABCDEFGHIJKLMNPQRSTUVWXYZ")
# NVIDIA's Chinese dictionary in DeepStream's dict_ch.txt order (the order matters for its
# ch_lprnet model): the 31 provinces, 警 (police), 学 (learner), A-Z without I and O, 0-9.
CN_PROVINCES = "皖沪津渝冀晋蒙辽吉黑苏浙京闽赣鲁豫鄂湘粤桂琼川贵云藏陕甘青宁新"
CN_CHARACTERS: tuple[str, ...] = tuple(CN_PROVINCES + "警学" + "ABCDEFGHJKLMNPQRSTUVWXYZ" + "0123456789")


@dataclass(frozen=True)
class Charset:
    characters: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.characters:
            raise LprRayError("characters_list is empty: expected one character per line")
        if len(set(self.characters)) != len(self.characters):
            dupes = sorted({c for c in self.characters if self.characters.count(c) > 1})
            raise LprRayError(f"characters_list has duplicate entries: {dupes}")

    @property
    def blank(self) -> int:
        return len(self.characters)

    @property
    def num_classes(self) -> int:
        return len(self.characters) + 1

    @classmethod
    def from_text(cls, text: str) -> Charset:
        """One character per line; blank lines are skipped. A byte-order mark is dropped:
        kept, it made class 0 the two-character "\ufeff0" and every 0 a misread."""
        chars = tuple(line.strip() for line in text.removeprefix("\ufeff").splitlines() if line.strip())
        long = [(i + 1, c) for i, c in enumerate(chars) if len(c) != 1]
        if long:
            raise LprRayError(
                f"characters_list has entries that are not one character: {long[:5]} "
                "(entry number, text); expected one character per line"
            )
        return cls(chars)

    @classmethod
    def load(cls, path: str) -> Charset:
        """Read a characters_list.txt from a local path or any fsspec URL."""
        import fsspec

        with fsspec.open(path, "r", encoding="utf-8-sig") as f:
            return cls.from_text(f.read())

    def to_text(self) -> str:
        return "\n".join(self.characters) + "\n"

    def normalize_label(self, text: str) -> str:
        """Upper-case, drop spaces and dashes; read O as 0 when the dictionary has no O."""
        label = plate_text(text)
        if "O" not in self.characters and "0" in self.characters:
            label = label.replace("O", "0")
        return label

    def unknown(self, label: str) -> list[str]:
        """The characters of `label` that are not in the dictionary, sorted."""
        return sorted(set(label) - set(self.characters))

    def encode(self, label: str) -> list[int]:
        """Class indices of a normalised label; raises on characters outside the dictionary."""
        index = {c: i for i, c in enumerate(self.characters)}
        unknown = self.unknown(label)
        if unknown:
            raise LprRayError(
                f"label {label!r} has characters {unknown} that are not in characters_list "
                f"({''.join(self.characters)})"
            )
        return [index[c] for c in label]


# Separators people type between a plate's groups ("7ABC-123", Chinese plates' "皖A·12345").
SEPARATORS = str.maketrans("", "", "-·・•")


def plate_text(text: str) -> str:
    """A plate as labels and reads write it: upper case, without spaces, dashes or dots."""
    return "".join(text.split()).translate(SEPARATORS).upper()


US = Charset(US_CHARACTERS)
CN = Charset(CN_CHARACTERS)
# The plate regions lpr-ray renders and ships models for, by the name `--region` takes.
REGIONS: dict[str, Charset] = {"us": US, "cn": CN}


def region_of(charset: Charset) -> str | None:
    """The region whose dictionary holds every character of `charset`, if one does."""
    for name, region in REGIONS.items():
        if set(charset.characters) <= set(region.characters):
            return name
    return None

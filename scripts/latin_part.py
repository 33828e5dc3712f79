"""Split cn_real_train into two TAO datasets: 800 to train on, 200 held out (a fixed numpy
seed 2026 permutation of the sorted names). By default labelled with the plates' Latin part
only (`皖PL3N67` -> `PL3N67`), for US models (docs/model-log.md, "us_accurate stage 3");
with --whole, with the whole plate, for Chinese models (docs/model-log.md, session 20).

How to run (recipes/us_accurate.sh and recipes/cn_lprnet_medium.sh do):

    python scripts/latin_part.py ../shared/data/cn_real_train OUT   # OUT/cn_latin_{train,holdout}
    python scripts/latin_part.py --whole ../shared/data/cn_real_train OUT   # OUT/cn_real_{train,holdout}
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np

from lpr_ray.core.charset import CN, US


def main(argv: list[str]) -> int:
    whole = "--whole" in argv
    argv = [a for a in argv if a != "--whole"]
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    src, dst = Path(argv[0]), Path(argv[1])
    names = sorted(p.stem for p in (src / "labels").glob("*.txt"))
    held = {names[i] for i in np.random.default_rng(2026).permutation(len(names))[:200]}
    for part, take in (("train", lambda n: n not in held), ("holdout", lambda n: n in held)):
        out = dst / f"cn_{'real' if whole else 'latin'}_{part}"
        (out / "images").mkdir(parents=True, exist_ok=True)
        (out / "labels").mkdir(exist_ok=True)
        charset = CN if whole else US
        if whole:  # the source's own dictionary file, in its order
            shutil.copy(src / "characters_list.txt", out / "characters_list.txt")
        else:
            (out / "characters_list.txt").write_text("\n".join(US.characters) + "\n", encoding="utf-8")
        for name in filter(take, names):
            label = (src / "labels" / f"{name}.txt").read_text(encoding="utf-8").strip()
            latin = label if whole else label[1:]  # every plate here starts with its province
            if not latin or any(c not in charset.characters for c in latin):
                raise SystemExit(f"{name}: label {label!r} does not fit the {'Chinese' if whole else 'US'} dictionary")
            image = next((src / "images").glob(f"{name}.*"))
            shutil.copy(image, out / "images" / image.name)
            (out / "labels" / f"{name}.txt").write_text(latin + "\n", encoding="utf-8")
        print(out, sum(map(take, names)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Synthetic US licence plates for training LPRNet models (`lpr-ray synth`).

`render_plate(seed, index)` draws one plate; `render_batch(seed, n)` gives model inputs
for training; `write_dataset(out, count, seed)` writes a TAO-layout dataset. Plate i of a
seed is the same whichever of these draws it, in any process. Only numpy, OpenCV and
Pillow are used, with fonts shipped in lpr_ray/synth/fonts.
"""

from __future__ import annotations

from lpr_ray.synth.generate import Plate, render_batch, render_plate
from lpr_ray.synth.writer import write_dataset

__all__ = ["Plate", "render_batch", "render_plate", "write_dataset"]

"""A throwaway stand-in for lpr_ray.synth in training tests: black text on light plates drawn
with OpenCV, so those tests do not depend on how realistic the real generator is."""

import cv2
import numpy as np

ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


def standin_render(seed: int, n: int, region: str = "us"):
    if region != "us":  # only the US look is stood in for; other regions use the real generator
        from lpr_ray.synth import render_batch

        images, labels = render_batch(seed, n, region)
        return np.asarray(images), list(labels)
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for _ in range(n):
        text = "".join(rng.choice(list(ALPHABET), size=int(rng.integers(5, 8))))
        img = np.full((48, 96, 3), int(rng.integers(170, 256)), np.uint8)
        cv2.putText(img, text, (3, 33), cv2.FONT_HERSHEY_SIMPLEX, 0.62, (0, 0, 0), 2, cv2.LINE_AA)
        images.append(img)
        labels.append(text)
    return np.stack(images), labels

"""A stored crop as PNG bytes a page can show (the review page, the report's thumbnails).

Re-encoding means a browser only ever receives pixels decoded with the job's own checks (size
limits, bomb headers): an object holding HTML or SVG cannot run in a page, and no storage
credential or URL signature reaches it.
"""

from __future__ import annotations

import cv2

from lpr_ray.core.image import DEFAULT_MAX_BYTES, decode_bgr
from lpr_ray.core.objects import read_object


def png_of(uri: str, *, max_bytes: int = DEFAULT_MAX_BYTES, max_height: int | None = None
           ) -> tuple[bytes | None, str | None, str | None]:
    """(PNG bytes, None, None), or (None, status, error) with the status a run would give.
    max_height: scale larger crops down to it (thumbnails), keeping the aspect."""
    data, status, error = read_object(uri, max_bytes)
    if data is None:
        return None, status, error
    crop, bgr = decode_bgr(data, max_bytes=max_bytes)
    if bgr is None:
        return None, crop.status, crop.error
    h, w = bgr.shape[:2]
    if max_height and h > max_height:
        bgr = cv2.resize(bgr, (max(1, round(w * max_height / h)), max_height), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".png", bgr)
    if not ok:
        return None, "not_an_image", "the decoded image could not be encoded as PNG"
    return buf.tobytes(), None, None

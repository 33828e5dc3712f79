"""lpr-ray: batch licence-plate recognition with LPRNet over object storage.

The top-level package only holds the dependency-light core (numpy and OpenCV). Ray, torch
and TensorRT are imported lazily by the modules that need them.
"""

__version__ = "0.1.0"

__all__ = ["PlateResult", "Recognizer", "__version__"]


def __getattr__(name: str):
    # `from lpr_ray import Recognizer` without loading ONNX Runtime when the package is imported.
    if name in ("Recognizer", "PlateResult"):
        from lpr_ray.inference import recognizer

        return getattr(recognizer, name)
    raise AttributeError(f"module 'lpr_ray' has no attribute {name!r}")

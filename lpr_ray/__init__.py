"""lpr-ray: batch licence-plate recognition with LPRNet over object storage.

The top-level package only holds the dependency-light core (numpy and OpenCV). Ray, torch
and TensorRT are imported lazily by the modules that need them.
"""

__version__ = "0.1.0"

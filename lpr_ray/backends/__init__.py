"""Inference backends: one per file, behind the `Backend` protocol in `base.py`.

`load_backend(name, model)` imports only the backend it is asked for.
"""

from lpr_ray.backends.base import Backend, BackendOptions, available_backends, load_backend

__all__ = ["Backend", "BackendOptions", "available_backends", "load_backend"]

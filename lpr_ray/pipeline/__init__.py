"""The Ray Data job: list inputs, fetch + decode on CPU tasks, recognise in actors, write Parquet.

Modules here import pyarrow; only `job.py` imports Ray, so the recogniser and the fetch
step can be called (and tested) without a cluster.
"""

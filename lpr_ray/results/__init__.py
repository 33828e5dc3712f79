"""The output root as one concept: its Delta table (`table`: schema, layout, committed reads),
the commit protocol (`commit`), the ledger of read objects (`ledger`), people's verdicts
(`reviews`), queries (`query`), the HTML report (`report`) and `vacuum`. pyarrow, no Ray.

`read_results` and `committed_files` are re-exported here: `lpr_ray.results.read_results(root)`.
"""

from __future__ import annotations

__all__ = ["committed_files", "read_results"]


def __getattr__(name: str):
    # Lazily, so `lpr_ray.results.reviews` does not pay for the table reader's imports.
    if name in __all__:
        from lpr_ray.results import table

        return getattr(table, name)
    raise AttributeError(f"module 'lpr_ray.results' has no attribute {name!r}")

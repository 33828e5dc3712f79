"""The end-of-run summary, computed from the Parquet the run wrote (not from memory)."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field

import pyarrow.compute as pc
import pyarrow.dataset as pads

from lpr_ray.core.storage import arrow_filesystem


@dataclass
class Summary:
    run_id: str
    output: str
    inputs: int | None
    rows: int
    by_status: dict[str, int]
    labelled: int
    correct: int
    seconds: float
    model: str = ""
    backend: str | None = None  # what the recogniser actors ran; None when nothing was processed
    low_confidence: list[dict] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    distinct_uris: int = 0
    skipped: int = 0  # incremental: objects already in the ledger
    commit_seq: int | None = None  # None: nothing committed (no new objects, or lost to another run)
    dropped: int = 0  # objects another run committed first (their rows were discarded)
    timings: dict[str, float] = field(default_factory=dict)  # lock_wait, then plan, process, commit, total (s) without it
    cluster: dict = field(default_factory=dict)  # nodes, CPUs, GPUs, actors: to read throughput
    stages: dict = field(default_factory=dict)  # per Ray Data stage: tasks, seconds (pipeline/stages.py)

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.labelled if self.labelled else None

    @property
    def plates_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> str:
        d = asdict(self)
        d.update(accuracy=self.accuracy, plates_per_second=self.plates_per_second)
        return json.dumps(d, indent=2, default=str)

    def format(self) -> str:
        lines = [
            f"run {self.run_id}: {self.rows} rows written to {self.output}"
            + (f" from {self.inputs} input objects" if self.inputs is not None else ""),
            f"  model {self.model}, backend {self.backend or 'none (nothing was processed)'}",
            (f"  {self.plates_per_second:.1f} plates/s ({self.seconds:.1f} s end to end)" if self.rows else
             f"  nothing new to read ({self.seconds:.1f} s end to end)"),
            f"  commit: {'seq ' + str(self.commit_seq) if self.commit_seq is not None else 'none'}"
            + (f", {self.skipped} objects skipped (already in the ledger)" if self.skipped else "")
            + (f", {self.dropped} dropped (committed by another run)" if self.dropped else ""),
            "  by status: " + (", ".join(f"{k}={v}" for k, v in sorted(self.by_status.items())) or "no rows"),
        ]
        if self.timings.get("lock_wait", 0) >= 1:
            lines.append(f"  waited {self.timings['lock_wait']:.0f} s for another run on the cluster (not counted above)")
        if self.inputs is not None and self.inputs != self.rows:
            lines.append(f"  WARNING: {self.inputs} inputs but {self.rows} rows")
        if self.labelled:
            lines.append(
                f"  full-plate accuracy on {self.labelled} labelled images: {self.accuracy:.2%}"
            )
        if self.low_confidence:
            lines.append("  lowest-confidence reads (check these images):")
            for r in self.low_confidence:
                label = f" label={r['label']}" if r.get("label") else ""
                lines.append(f"    {r['confidence']:.3f} {r['plate']!r}{label} {r['uri']}")
        return "\n".join(lines)


def run_file_pattern(run_id: str, rewrite: int | None = None) -> re.Pattern[str]:
    """The exact names of a run's data files, as its writers make them:

    - Ray's write_parquet with FilenameProvider(dataset_uuid=run_id):
      "<run_id>_<write uuid, 32 hex>_<task index, 6+ digits>-<i>.parquet" (rewrite=0);
    - the drop step's N-th rewrite (job.py): "<run_id>_r<N>-<i>.parquet" (rewrite=N).

    rewrite=None matches both. Matching on the "<run_id>_" prefix alone would take the files
    of a run whose id extends this one's ("nightly_retry" for "nightly") for its own.
    """
    ray_name = r"[0-9a-f]{32}_\d{6,}-\d+"
    if rewrite is None:
        rest = rf"(?:{ray_name}|r\d+-\d+)"
    elif rewrite == 0:
        rest = ray_name
    else:
        rest = rf"r{rewrite}-\d+"
    return re.compile(rf"{re.escape(run_id)}_{rest}\.parquet")


def run_files(output: str, run_id: str, prefix: str = "data", rewrite: int | None = None) -> list[str]:
    """Filesystem paths of the data files a run wrote (committed or not) under OUTPUT/prefix:
    all of them, or those of one write (rewrite: 0 for Ray's write, N for the N-th rewrite).

    Readers of results use lpr_ray.results.table, which sees committed files only.
    """
    fs, base = arrow_filesystem(output)
    from pyarrow.fs import FileSelector

    pattern = run_file_pattern(run_id, rewrite)
    sel = FileSelector(f"{base.rstrip('/')}/{prefix}", recursive=True, allow_not_found=True)
    return sorted(i.path for i in fs.get_file_info(sel) if i.is_file and pattern.fullmatch(i.base_name))


def summarize(
    output: str, run_id: str, *, inputs: int | None, seconds: float, lowest: int = 5,
    files: list[str] | None = None,
) -> Summary:
    fs, _ = arrow_filesystem(output)
    files = run_files(output, run_id) if files is None else files
    cols = ["uri", "plate", "confidence", "status", "label", "correct", "model", "backend"]
    table = pads.dataset(files, filesystem=fs, format="parquet").to_table(columns=cols) if files else None
    if table is None or table.num_rows == 0:
        return Summary(run_id, output, inputs, 0, {}, 0, 0, seconds, files=files)
    by_status = Counter(table.column("status").to_pylist())
    correct_col = table.column("correct")
    labelled = len(correct_col) - correct_col.null_count
    correct = int(pc.sum(correct_col.cast("int64")).as_py() or 0)
    read = table.filter(pc.field("status") == "ok")
    low = read.sort_by([("confidence", "ascending")]).slice(0, lowest).to_pylist()
    return Summary(
        run_id=run_id,
        output=output,
        inputs=inputs,
        rows=table.num_rows,
        by_status=dict(by_status),
        labelled=labelled,
        correct=correct,
        seconds=seconds,
        model=table.column("model")[0].as_py(),
        # Rows of lost batches carry no backend: any other row names it.
        backend=next(iter(table.column("backend").drop_null().slice(0, 1).to_pylist()), None),
        low_confidence=[
            {k: r[k] for k in ("uri", "plate", "confidence", "label")} for r in low
        ],
        files=files,
        distinct_uris=pc.count_distinct(table.column("uri")).as_py(),
    )

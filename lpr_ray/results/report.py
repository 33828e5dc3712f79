"""A self-contained HTML report of committed results: inline SVG plots, no JavaScript, no CDN.

    from lpr_ray.results.report import write_report
    write_report("s3://lot-results/plates", "report.html")

One image counts once, with its current read (lpr_ray.results.query: the latest run's, or a person's
label). Sections: totals, each rate with its counts; images by status; the images that could not
be read with their errors; confidence histogram; accuracy vs confidence (where rows carry
labels), with the diagonal a calibrated model would follow; images per day they were read (per
month over long spans), per capture date (the `date` partition) and per site when the results
are partitioned so; throughput per run (`_runs/<run_id>/summary.json`); statistics per run
(every row each run wrote); the lowest-confidence reads, with a thumbnail of each when asked.
Filters by site, camera, date and model narrow every section. Every number comes from DuckDB
aggregates over the committed rows, so a report over tens of millions of rows takes seconds.
"""

from __future__ import annotations

import html
import json
import math
import posixpath
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lpr_ray.core.atomic import atomic_open
from lpr_ray.core.errors import LprRayError
from lpr_ray.results.query import Results, review, stats_per_run

HIST_BINS = 20
CAL_BINS = 10
MAX_DAY_BARS = 90
PALETTE = {"bar": "#3b6fb6", "accent": "#d9822b", "ok": "#3b8f5a", "bad": "#c23b3b", "grid": "#e3e6ea"}


@dataclass
class ReportData:
    root: str
    generated_at: str
    totals: dict
    by_status: list[tuple[str, int]]
    histogram: list[int]  # HIST_BINS counts over [0, 1]
    calibration: list[tuple[float, float, int]]  # (bin centre, accuracy, rows) of labelled reads
    per_day: list[tuple[str, int]]
    day_unit: str
    per_site: list[tuple[str, int]]
    throughput: list[tuple[str, float]]
    runs: list[dict] = field(default_factory=list)
    lowest: list[dict] = field(default_factory=list)
    per_date: list[tuple[str, int]] = field(default_factory=list)  # by the `date` partition: capture date
    failed: list[dict] = field(default_factory=list)  # images that could not be read, with their errors
    filters: dict = field(default_factory=dict)


MAX_FAILED = 50
THUMB_HEIGHT = 40


def collect(results: str | Results, *, lowest: int = 20, filters: dict | None = None,
            thumbnails: bool = False) -> ReportData:
    """FILTERS: {site, camera, date, model} -> value (lpr_ray.results.query.Results); THUMBNAILS: fetch
    each listed low-confidence image through lpr-ray and embed a small PNG of it in the page
    (pixels only: no URL or credential of the store reaches the page)."""
    if isinstance(results, Results) and filters:
        raise LprRayError("pass filters when opening the Results, not with an open one")
    res = results if isinstance(results, Results) else Results(results, filters=filters)
    try:
        data = _collect(res, lowest)
    finally:
        if res is not results:
            res.close()
    if thumbnails:
        _add_thumbnails(data.lowest)
    return data


def _add_thumbnails(rows: list[dict]) -> None:
    import base64

    from lpr_ray.core.preview import png_of

    unreachable = 0
    for r in rows:
        if unreachable >= 3:  # the store does not answer from here: do not wait on every row
            r["thumbnail_error"] = "not fetched: the store did not answer for three images in a row"
            continue
        png, status, error = png_of(r["uri"], max_height=THUMB_HEIGHT)
        if png is None:
            r["thumbnail_error"] = f"{status}: {error}"
            unreachable = unreachable + 1 if status in ("read_error", "access_denied") else 0
        else:
            r["thumbnail"] = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
            unreachable = 0


def _collect(res: Results, lowest: int) -> ReportData:
    def rows(q: str) -> list[tuple]:
        return res.con.execute(q).fetchall()

    # One row per image (its current read); runs are counted over every committed row.
    human = "count(*) FILTER (WHERE source = 'human')" if "source" in res.columns else "0"
    (n, reads, labelled, correct, reviewed, first, last) = rows(
        f"""SELECT count(*), count(*) FILTER (WHERE status IN ('ok', 'too_short')),
                  count(correct), count(*) FILTER (WHERE correct), {human},
                  min(processed_at), max(processed_at) FROM results"""
    )[0]
    n_runs = rows("SELECT count(DISTINCT run_id) FROM history")[0][0]
    n_failed = n - reads
    by_status = [(s or "?", c) for s, c in rows(
        "SELECT status, count(*) FROM results GROUP BY 1 ORDER BY 2 DESC, 1")]
    hist = [0] * HIST_BINS
    for b, c in rows(
        f"""SELECT least(floor(confidence * {HIST_BINS}), {HIST_BINS - 1})::INT, count(*) FROM results
            WHERE status IN ('ok', 'too_short') AND confidence IS NOT NULL GROUP BY 1"""
    ):
        hist[max(0, b)] += c
    calibration = [
        ((b + 0.5) / CAL_BINS, acc, c)
        for b, acc, c in rows(
            f"""SELECT least(floor(confidence * {CAL_BINS}), {CAL_BINS - 1})::INT AS b,
                       avg(CASE WHEN correct THEN 1.0 ELSE 0.0 END), count(*)
                FROM results WHERE correct IS NOT NULL AND confidence IS NOT NULL
                GROUP BY 1 ORDER BY 1"""
        )
    ]
    per_day = [(str(d), c) for d, c in rows(
        "SELECT DATE '1970-01-01' + CAST(d AS INTEGER), n FROM (SELECT epoch_us(processed_at) "
        "// 86400000000 AS d, count(*) AS n FROM results WHERE processed_at IS NOT NULL GROUP BY 1) ORDER BY 1")]
    day_unit = "day"
    if len(per_day) > MAX_DAY_BARS:
        day_unit = "month"
        months: dict[str, int] = {}
        for d, c in per_day:
            months[d[:7]] = months.get(d[:7], 0) + c
        per_day = sorted(months.items())
    per_site = []
    if "site" in res.columns:
        per_site = [(s if s is not None else "(none)", c) for s, c in rows(
            "SELECT site, count(*) FROM results GROUP BY 1 ORDER BY 2 DESC LIMIT 40")]
    per_date = []
    if "date" in res.columns:
        per_date = [(d if d is not None else "(none)", c) for d, c in rows(
            'SELECT "date", count(*) FROM results GROUP BY 1 ORDER BY 1 NULLS LAST')]
    failed = [dict(zip(("status", "error", "uri"), r, strict=True)) for r in rows(
        "SELECT status, error, uri FROM results WHERE status NOT IN ('ok', 'too_short') "
        f"ORDER BY status, uri LIMIT {MAX_FAILED}")]
    runs = stats_per_run(res).to_pylist()
    throughput = []
    for r in runs:
        pps = _summary(res.root, r["run_id"]).get("plates_per_second")
        r["plates_per_second"] = pps
        if pps is not None and _finite(pps):
            throughput.append((r["run_id"], float(pps)))
    low = review(res, threshold=1.01, limit=lowest).to_pylist() if lowest else []
    totals = {
        "rows": n,
        "reads": reads,
        "runs": n_runs,
        "labelled": labelled,
        "accuracy": correct / labelled if labelled else None,
        "reviewed": reviewed,
        "failed": n_failed,
        "correct": correct,
        "first": first,
        "last": last,
        "files": len(res.files),
    }
    return ReportData(
        root=res.root,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        totals=totals,
        by_status=by_status,
        histogram=hist,
        calibration=calibration,
        per_day=per_day,
        day_unit=day_unit,
        per_site=per_site,
        throughput=throughput,
        runs=runs,
        lowest=low,
        per_date=per_date,
        failed=failed,
        filters=dict(res.filters),
    )


def _summary(root: str, run_id: str) -> dict:
    from lpr_ray.results.query import _resolve

    fs, base = _resolve(root)
    try:
        with fs.open_input_stream(posixpath.join(base, "_runs", run_id, "summary.json")) as f:
            data = json.loads(f.read())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


# --------------------------------------------------------------------------- SVG


def _fmt(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:.1f}M"
    if v >= 1e4:
        return f"{v / 1e3:.0f}k"
    if v >= 1000:
        return f"{v / 1e3:.1f}k"
    if v == int(v):
        return str(int(v))
    return f"{v:.3g}"


def _tick(label: str, width: int = 14) -> str:
    """An x label short enough to stay inside the plot when slanted (the bar's tooltip keeps it whole)."""
    return label if len(label) <= width else label[:8] + "\u2026" + label[-(width - 9):]


def _nice_axis(v: float) -> tuple[float, int]:
    """(axis top, number of tick steps) with round tick values."""
    if v <= 0:
        return 1.0, 4
    exp = 10 ** math.floor(math.log10(v))
    for m, steps in ((1, 5), (2, 4), (2.5, 5), (5, 5), (10, 5)):
        if v <= m * exp * (1 + 1e-9):
            return m * exp, steps
    return 10 * exp, 5


def _svg_open(w: int, h: int, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'role="img" aria-label="{html.escape(title)}">',
        f"<title>{html.escape(title)}</title>",
    ]


def bar_chart(
    title: str,
    labels: list[str],
    values: Sequence[float],
    *,
    xlabel: str = "",
    ylabel: str = "",
    width: int = 720,
    height: int = 300,
    color: str = PALETTE["bar"],
    colors: list[str] | None = None,
) -> str:
    """Vertical bars with a y axis, gridlines, and at most ~16 x labels."""
    ml, mr, mt, mb = 64, 16, 12, 84
    pw, ph = width - ml - mr, height - mt - mb
    top, steps = _nice_axis(max(values, default=0))
    out = _svg_open(width, height, title)
    for i in range(steps + 1):
        v = top * i / steps
        y = mt + ph - ph * i / steps
        out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="{PALETTE["grid"]}"/>')
        out.append(f'<text x="{ml - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{_fmt(v)}</text>')
    n = max(1, len(values))
    slot = pw / n
    bw = max(1.0, min(slot * 0.8, 90.0))
    every = max(1, math.ceil(n / 16))
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        h = ph * v / top if top else 0
        if v > 0:
            h = max(h, 2.0)  # one image among thousands is still a visible bar
        x = ml + i * slot + (slot - bw) / 2
        fill = colors[i] if colors else color
        out.append(
            f'<rect class="bar" x="{x:.1f}" y="{mt + ph - h:.1f}" width="{bw:.1f}" height="{h:.1f}" '
            f'fill="{fill}"><title>{html.escape(str(lab))}: {_fmt(v)}</title></rect>'
        )
        if i % every == 0:
            cx = ml + i * slot + slot / 2
            out.append(
                f'<text x="{cx:.1f}" y="{mt + ph + 14}" text-anchor="end" class="tick" '
                f'transform="rotate(-35 {cx:.1f} {mt + ph + 14})">{html.escape(_tick(str(lab)))}</text>'
            )
    out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{mt + ph}" y2="{mt + ph}" stroke="#555"/>')
    out.append(f'<line x1="{ml}" x2="{ml}" y1="{mt}" y2="{mt + ph}" stroke="#555"/>')
    if xlabel:
        out.append(f'<text x="{ml + pw / 2}" y="{height - 4}" text-anchor="middle" class="axis">{html.escape(xlabel)}</text>')
    if ylabel:
        out.append(
            f'<text x="14" y="{mt + ph / 2}" text-anchor="middle" class="axis" '
            f'transform="rotate(-90 14 {mt + ph / 2})">{html.escape(ylabel)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out)


def calibration_chart(title: str, points: list[tuple[float, float, int]], *, width: int = 720,
                      height: int = 320) -> str:
    """Accuracy per confidence bin (points sized by rows) against the diagonal."""
    ml, mr, mt, mb = 64, 16, 12, 48
    pw, ph = width - ml - mr, height - mt - mb

    def px(x: float) -> float:
        return ml + pw * x

    def py(y: float) -> float:
        return mt + ph - ph * y

    out = _svg_open(width, height, title)
    for i in range(6):
        t = i / 5
        out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{py(t):.1f}" y2="{py(t):.1f}" stroke="{PALETTE["grid"]}"/>')
        out.append(f'<text x="{ml - 6}" y="{py(t) + 4:.1f}" text-anchor="end" class="tick">{t:.0%}</text>')
        out.append(f'<text x="{px(t):.1f}" y="{mt + ph + 16}" text-anchor="middle" class="tick">{t:.1f}</text>')
    out.append(
        f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(1)}" y2="{py(1)}" stroke="#999" stroke-dasharray="5 4">'
        "<title>a calibrated model: accuracy = confidence</title></line>"
    )
    biggest = max((c for _, _, c in points), default=1)
    path = " ".join(f"{'M' if i == 0 else 'L'}{px(x):.1f},{py(a):.1f}" for i, (x, a, _) in enumerate(points))
    if path:
        out.append(f'<path d="{path}" fill="none" stroke="{PALETTE["accent"]}" stroke-width="2"/>')
    for x, a, c in points:
        r = 3 + 6 * math.sqrt(c / biggest)
        out.append(
            f'<circle class="point" cx="{px(x):.1f}" cy="{py(a):.1f}" r="{r:.1f}" fill="{PALETTE["accent"]}">'
            f"<title>confidence {x - 0.5 / CAL_BINS:.1f}-{x + 0.5 / CAL_BINS:.1f}: accuracy {a:.1%} "
            f"on {c} labelled reads</title></circle>"
        )
    out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{mt + ph}" y2="{mt + ph}" stroke="#555"/>')
    out.append(f'<line x1="{ml}" x2="{ml}" y1="{mt}" y2="{mt + ph}" stroke="#555"/>')
    out.append(f'<text x="{ml + pw / 2}" y="{height - 6}" text-anchor="middle" class="axis">confidence</text>')
    out.append(
        f'<text x="14" y="{mt + ph / 2}" text-anchor="middle" class="axis" '
        f'transform="rotate(-90 14 {mt + ph / 2})">full-plate accuracy</text>'
    )
    out.append("</svg>")
    return "\n".join(out)


# --------------------------------------------------------------------------- HTML

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, "DejaVu Sans", "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", sans-serif; margin: 24px auto;
       max-width: 1000px; color: #1d2329; background: #fff; padding: 0 16px; }
h1 { font-size: 24px; margin-bottom: 4px; } .sub { color: #5a6470; margin-top: 0; }
section { margin: 28px 0; } h2 { font-size: 18px; border-bottom: 1px solid #e3e6ea; padding-bottom: 4px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid #e3e6ea; border-radius: 6px; padding: 10px 14px; min-width: 120px; }
.card b { display: block; font-size: 22px; } .card span { color: #5a6470; font-size: 13px; }
svg { max-width: 100%; height: auto; } svg text { font-size: 11px; fill: #333; }
svg text.axis { font-size: 12px; fill: #1d2329; }
table { border-collapse: collapse; font-size: 13px; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef0f2; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.uri { font-family: monospace; font-size: 12px; word-break: break-all; }
.note { color: #5a6470; font-size: 13px; }
img.thumb { height: 40px; image-rendering: pixelated; border: 1px solid #ccc; }
"""

STATUS_COLORS = {"ok": PALETTE["ok"], "too_short": PALETTE["accent"]}


def _card(value: str, label: str) -> str:
    return f'<div class="card"><b>{html.escape(value)}</b><span>{html.escape(label)}</span></div>'


def _section(sid: str, title: str, body: str, note: str = "") -> str:
    note_html = f'<p class="note">{html.escape(note)}</p>' if note else ""
    return f'<section id="{sid}"><h2>{html.escape(title)}</h2>{note_html}\n{body}\n</section>'


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def _thumb(row: dict) -> str:
    if "thumbnail" in row:  # a data: URI of PNG bytes lpr-ray encoded itself
        return f'<img class="thumb" alt="crop" src="{html.escape(row["thumbnail"])}">'
    return f'<span class="note">{html.escape(row.get("thumbnail_error", ""))}</span>'


def _table(headers: list[str], rows: list[list], numeric: AbstractSet[int] = frozenset(), uri_col: int = -1,
           thumbnails: list[str] | None = None) -> str:
    """THUMBNAILS: a first "crop" column of HTML made (and escaped) by _thumb, one per row."""
    head = "".join(f'<th class="{"num" if i in numeric else ""}">{html.escape(h)}</th>' for i, h in enumerate(headers))
    if thumbnails is not None:
        head = "<th>crop</th>" + head
    body = []
    for n, r in enumerate(rows):
        cells = [f"<td>{thumbnails[n]}</td>"] if thumbnails is not None else []
        for i, v in enumerate(r):
            cls = "num" if i in numeric else ("uri" if i == uri_col else "")
            cells.append(f'<td class="{cls}">{html.escape("" if v is None else str(v))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render(data: ReportData) -> str:
    t = data.totals
    acc = f"{t['accuracy']:.1%} ({t['correct']:,} of {t['labelled']:,})" if t["accuracy"] is not None else "n/a"
    span = ""
    if t["first"] is not None:
        a, b = f"{t['first']:%Y-%m-%d}", f"{t['last']:%Y-%m-%d}"
        span = a if a == b else f"{a} to {b}"
    cards = "".join(
        [
            _card(f"{t['rows']:,}", "images"),
            _card(f"{t['reads']:,}", "plate reads"),
            _card(f"{t['failed']:,} ({_share(t['failed'], t['rows'])})", "could not be read"),
            _card(f"{t.get('reviewed', 0):,}", "reviewed by people"),
            _card(f"{t['runs']:,}", "committed runs"),
            _card(acc, "accuracy on labelled images"),
            _card(span or "-", "processed"),
        ]
    )
    parts = [_section("summary", "Summary", f'<div class="cards">{cards}</div>')]

    statuses = [s for s, _ in data.by_status]
    parts.append(
        _section(
            "status",
            "Images by status",
            bar_chart("Images by status", statuses, [c for _, c in data.by_status], ylabel="images",
                      colors=[STATUS_COLORS.get(s, PALETTE["bad"]) for s in statuses], height=260),
            " · ".join(f"{s}: {c:,} ({_share(c, t['rows'])})" for s, c in data.by_status),
        )
    )
    if data.failed:
        more = t["failed"] - len(data.failed)
        fail_rows = [[r["status"], r["error"], r["uri"]] for r in data.failed]
        parts.append(
            _section(
                "failed",
                f"Images that could not be read ({t['failed']:,})",
                _table(["status", "error", "image"], fail_rows, uri_col=2),
                (f"The first {len(data.failed)} by status; " if more > 0 else "")
                + "lpr-ray query --sql \"SELECT uri, status, error FROM results WHERE status NOT IN "
                "('ok', 'too_short')\" lists them all.",
            )
        )
    labels = [f"{i / HIST_BINS:.2f}" for i in range(HIST_BINS)]
    parts.append(
        _section(
            "confidence",
            "Confidence histogram",
            bar_chart("Confidence histogram", labels, data.histogram, xlabel="plate confidence (bin start)",
                      ylabel="plate reads"),
            "Reads (status ok or too_short) by plate confidence: the product of the emitted "
            "characters' probabilities.",
        )
    )
    if data.calibration:
        body = calibration_chart("Accuracy vs confidence", data.calibration)
        note = (f"Full-plate accuracy of the {t['labelled']:,} labelled reads per confidence bin "
                "(point size: reads). Points under the dashed diagonal: the model is over-confident there.")
    else:
        body = '<p class="empty">No labelled rows: accuracy needs inputs with labels (TAO datasets, manifests with a label column).</p>'
        note = ""
    parts.append(_section("accuracy", "Accuracy vs confidence", body, note))
    parts.append(
        _section(
            "per-day",
            f"Images per {data.day_unit}",
            bar_chart(f"Images per {data.day_unit}", [d for d, _ in data.per_day], [c for _, c in data.per_day],
                      xlabel=f"{data.day_unit} the image was read (UTC)", ylabel="images"),
        )
    )
    for sid, title, counts, xlabel in (
        ("per-date", "Images per capture date", data.per_date, "capture date (the date partition of the objects' keys)"),
        ("per-site", "Images per site", data.per_site, "site"),
    ):
        if counts:
            chart = bar_chart(title, [k for k, _ in counts], [c for _, c in counts], xlabel=xlabel, ylabel="images",
                              height=280)
            parts.append(_section(sid, title, chart))
    if data.throughput:
        body = bar_chart("Throughput per run", [r for r, _ in data.throughput], [v for _, v in data.throughput],
                         xlabel="run", ylabel="plates per second", color=PALETTE["accent"], height=300)
        note = "End-to-end plates per second of each run, from _runs/<run_id>/summary.json."
    else:
        body = '<p class="empty">No run summaries (_runs/&lt;run_id&gt;/summary.json) found.</p>'
        note = ""
    parts.append(_section("throughput", "Throughput per run", body, note))

    run_rows = [
        [r["run_id"], r.get("model"), f"{r['rows']:,}", f"{r['ok']:,}", f"{r['too_short']:,}", f"{r['errors']:,}",
         "" if r["mean_confidence"] is None else f"{r['mean_confidence']:.3f}",
         "" if r["accuracy"] is None else f"{r['accuracy']:.1%} of {r['labelled']:,}",
         _number(r.get("plates_per_second"))]
        for r in data.runs
    ]
    parts.append(
        _section(
            "runs",
            "Runs",
            _table(["run", "model", "rows", "ok", "too short", "errors", "mean conf.", "accuracy", "plates/s"],
                   run_rows, numeric={2, 3, 4, 5, 6, 7, 8}),
        )
    )
    if data.lowest:
        thumbs = any("thumbnail" in r or "thumbnail_error" in r for r in data.lowest)
        low_rows = [[f"{r['confidence']:.3f}", r["plate"], r.get("label"), r["uri"]] for r in data.lowest]
        table = _table(["confidence", "plate", "label", "image"], low_rows, numeric={0}, uri_col=3,
                       thumbnails=[_thumb(r) for r in data.lowest] if thumbs else None)
        parts.append(
            _section(
                "review",
                "Lowest-confidence reads",
                table,
                "Check these images first: lpr-ray review --results ROOT serves them on a page where a "
                "correction takes a keystroke (lpr-ray query --review --csv FILE exports the list).",
            )
        )
    title = "lpr-ray results report"
    filters = "".join(f" &middot; {html.escape(k)} = {html.escape(v)}" for k, v in data.filters.items())
    if filters:
        filters = " &middot; only" + filters
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{title}</title><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<style>{CSS}</style></head><body>\n<h1>{title}</h1>"
        f'<p class="sub">{html.escape(data.root)} &middot; {t["files"]} committed files &middot; '
        f"generated {html.escape(data.generated_at)}{filters}</p>\n" + "\n".join(parts) + "\n</body></html>\n"
    )


def _finite(v) -> bool:
    """Summaries are files anyone can edit: a plates/s value is not always a number."""
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _number(v) -> str:
    if _finite(v):
        return f"{v:.1f}"
    return "" if v is None else str(v)


def write_report(results: str | Results, out: str, *, lowest: int = 20, filters: dict | None = None,
                 thumbnails: bool = False) -> ReportData:
    """Collect the statistics of RESULTS and write the HTML page to OUT (a local path)."""
    data = collect(results, lowest=lowest, filters=filters, thumbnails=thumbnails)
    write_page(data, out)
    return data


def write_page(data: ReportData, out: str) -> None:
    """The HTML page of `data`, written whole to OUT (a local path) or not at all."""
    with atomic_open(out, "w", encoding="utf-8") as f:
        f.write(render(data))

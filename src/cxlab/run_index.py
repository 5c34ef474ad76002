"""``index.html`` beside the runs: one row per run folder, newest first, with its status,
duration, dataset, parameters, headline figures and links to its HTML pages."""

from __future__ import annotations

import html
import json
from datetime import datetime
from pathlib import Path

from cxlab.config import MIN_CELL_SIZE
from cxlab.parameters import page_label
from cxlab.summary import Findings

_STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}
.failed{color:#b00020;font-weight:bold}.succeeded{color:#1b5e20}code{font-size:.85em}
.trend{display:inline-block;margin-right:1.5rem;white-space:nowrap}svg{vertical-align:middle}"""


def write_index(reports_dir: str | Path) -> Path:
    """(Re)write ``reports_dir/index.html`` from the ``manifest.json`` of every run folder in it."""
    reports_dir = Path(reports_dir)
    manifests = {
        p: _manifest(p)
        for p in reports_dir.iterdir()
        if not p.name.startswith(".") and (p / "manifest.json").is_file()  # not runs in progress
    }
    runs = sorted(manifests, key=lambda p: manifests[p].get("started_at") or "", reverse=True)
    rows = "\n".join(_row(run, manifests[run]) for run in runs)
    count = f"{len(runs)} run" + ("s" if len(runs) != 1 else "")
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>cxlab runs</title>"
        f"<style>{_STYLE}</style></head>"
        f"<body><h1>cxlab runs</h1><p>{count} in {html.escape(str(reports_dir))}</p>"
        f"{_trends(runs, manifests)}<table>"
        "<tr><th>run</th><th>started</th><th>status</th><th>minutes</th><th>dataset</th>"
        f"<th>parameters</th><th>headline</th><th>pages</th></tr>{rows}</table></body></html>"
    )
    target = reports_dir / "index.html"
    target.write_text(page, encoding="utf-8")
    return target


def _manifest(run: Path) -> dict:
    """A run's manifest; one that cannot be read is listed as such, not a reason to fail."""
    try:
        return json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {"status": "unreadable", "error": f"manifest.json cannot be read: {exc}"}


def _row(run: Path, manifest: dict) -> str:
    status = manifest.get("status", "unknown")
    cells = [
        html.escape(run.name),
        html.escape(_when(manifest.get("started_at"))),
        f"<span class='{html.escape(status)}'>{html.escape(status)}</span>"
        + (f"<br>{html.escape(manifest['error'])}" if manifest.get("error") else ""),
        _minutes(manifest),
        f"<code>{html.escape(str(manifest.get('data')))}</code>",
        "<br>".join(
            f"{html.escape(k)} = {html.escape(str(v))}" for k, v in manifest.get("parameters", {}).items()
        ),
        _headline(run, manifest),
        "<br>".join(
            f"<a href='{html.escape(run.name)}/html/{p.name}'>{html.escape(page_label(p.stem))}</a>"
            for p in sorted((run / "html").glob("*.html"))
        ),
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _when(started_at: str | None) -> str:
    try:
        return f"{datetime.fromisoformat(started_at):%d %b %Y %H:%M} UTC"
    except (TypeError, ValueError):
        return started_at or ""


def _minutes(manifest: dict) -> str:
    try:
        start, end = (datetime.fromisoformat(manifest[k]) for k in ("started_at", "finished_at"))
    except (KeyError, TypeError, ValueError):
        return ""
    return f"{(end - start).total_seconds() / 60:.1f}"


def _headline(run: Path, manifest: dict) -> str:
    if manifest.get("status") != "succeeded":
        return ""
    parameters = manifest.get("parameters", {})
    findings = Findings.from_run(run, min_cell_size=int(parameters.get("min_cell_size", MIN_CELL_SIZE)))
    return "<br>".join(
        html.escape(f"{t['kpi']}: {t['value']}" + (f" ({t['interval']})" if t["interval"] else ""))
        + (
            f" <b>{html.escape(t['change'].replace(' since the last run', ''))}</b>"
            if t["change"][:1] in "▲▼"
            else ""
        )
        for t in findings.tiles()
    )


def _trends(runs: list[Path], manifests: dict[Path, dict]) -> str:
    """A trend line of each headline figure for every dataset with two succeeded runs or more."""
    series: dict[str, list[Path]] = {}
    for run in reversed(runs):  # oldest first
        if manifests[run].get("status") == "succeeded":
            series.setdefault(str(manifests[run].get("data")), []).append(run)
    series = {data: members for data, members in series.items() if len(members) >= 2}
    if not series:
        return ""
    from cxlab.compare import headline_values  # scipy: 1-2 s, for a page that has trends only

    parts = []
    for data, members in series.items():
        values = [headline_values(run) for run in members]
        lines = "".join(
            f"<span class='trend'>{html.escape(name)} {_sparkline([v.get(name) for v in values])} "
            f"{values[-1][name]:.1f}</span>"
            for name in values[-1]
        )
        parts.append(f"<p><code>{html.escape(data)}</code>, {len(members)} runs: {lines}</p>")
    return "<h2>Trends</h2>" + "".join(parts)


def _sparkline(points: list[float | None], width: int = 120, height: int = 24) -> str:
    """An inline SVG line through ``points`` (gaps where a run lacks the figure), last point marked."""
    known = [p for p in points if p is not None]
    low, high = min(known), max(known)
    span = high - low
    xy = [
        (
            i * width / max(len(points) - 1, 1),
            height / 2 if not span else height - 3 - (p - low) / span * (height - 6),
        )
        for i, p in enumerate(points)
        if p is not None
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    x, y = xy[-1]
    return (
        f"<svg width='{width}' height='{height}' role='img' aria-label='trend'>"
        f"<polyline points='{path}' fill='none' stroke='#1f77b4' stroke-width='1.5'/>"
        f"<circle cx='{x:.1f}' cy='{y:.1f}' r='2.5' fill='#1f77b4'/></svg>"
    )

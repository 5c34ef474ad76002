"""``index.html`` beside the runs: one row per run folder, newest first, with its status,
duration, dataset, parameters, headline figures and links to its HTML pages."""

from __future__ import annotations

import html
import json
from datetime import datetime
from pathlib import Path

from cxlab.config import MIN_CELL_SIZE
from cxlab.summary import Findings

_STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}
.failed{color:#b00020;font-weight:bold}.succeeded{color:#1b5e20}code{font-size:.85em}"""


def write_index(reports_dir: str | Path) -> Path:
    """(Re)write ``reports_dir/index.html`` from the ``manifest.json`` of every run folder in it."""
    reports_dir = Path(reports_dir)
    manifests = {p: _manifest(p) for p in reports_dir.iterdir() if (p / "manifest.json").is_file()}
    runs = sorted(manifests, key=lambda p: manifests[p].get("started_at") or "", reverse=True)
    rows = "\n".join(_row(run, manifests[run]) for run in runs)
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>cxlab runs</title>"
        f"<style>{_STYLE}</style></head>"
        f"<body><h1>cxlab runs</h1><p>{len(runs)} runs in {html.escape(str(reports_dir))}</p><table>"
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
        html.escape(manifest.get("started_at") or ""),
        f"<span class='{html.escape(status)}'>{html.escape(status)}</span>"
        + (f"<br>{html.escape(manifest['error'])}" if manifest.get("error") else ""),
        _minutes(manifest),
        f"<code>{html.escape(str(manifest.get('data')))}</code>",
        "<br>".join(
            f"{html.escape(k)} = {html.escape(str(v))}" for k, v in manifest.get("parameters", {}).items()
        ),
        _headline(run, manifest),
        " ".join(
            f"<a href='{html.escape(run.name)}/html/{p.name}'>{html.escape(p.stem)}</a>"
            for p in sorted((run / "html").glob("*.html"))
        ),
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


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
    kpis = findings.kpis().summary
    return "<br>".join(
        html.escape(f"{r['kpi']}: {r['value']}" + (f" ({r['interval']})" if r["interval"] else ""))
        for r in kpis.iter_rows(named=True)
    )

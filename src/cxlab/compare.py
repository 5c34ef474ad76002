"""What changed between two runs of the same dataset series, and whether it is more than noise.

:func:`compare_runs` reads two run folders and compares, metric by metric: retention at
the horizon, NPS, CSAT and CES per touchpoint, the churn rate, the share of each archetype
(archetypes matched across the runs by their touchpoint mix), and each touchpoint's adjusted
retention difference. Each comparison has both values, the difference with a 95% interval
and a Benjamini–Hochberg q-value over all the metrics compared (one family); a change is
reported when q < 0.05. Data quality (rows read and rejected per table and reason,
touchpoint labels that appeared or vanished, the period of the events) is compared beside.

Method and its limits
---------------------
Each difference is a Wald comparison of two estimates with standard errors taken from their
95% intervals (or, for shares, from the binomial variance), as if the runs held independent
customers. Runs of one series usually share most customers, so the two estimates are
positively correlated and the true uncertainty of their difference is smaller: the test is
conservative, it misses some real changes rather than announcing false ones.

Archetypes are matched by the Hungarian method on the Hellinger distance between their mean
touchpoint mixes. The match is poor, and ``archetypes_changed`` is set, when the number of
archetypes differs or a matched pair lies further apart than half the smallest distance
between two archetypes of the same run: then a "share" compares different groups.

Examples
--------
>>> from cxlab.compare import compare_runs
>>> change = compare_runs("reports/2026-11-22", "reports/2026-11-29")   # doctest: +SKIP
>>> change.changed().select("metric", "before", "after", "q_value")     # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import polars.selectors as cs
from scipy.optimize import linear_sum_assignment
from scipy.stats import norm

from cxlab.exceptions import DataContractError
from cxlab.inference import Q_LEVEL, q_values, two_sided_p
from cxlab.results import Result
from cxlab.rundir import RunDir

Z95 = norm.ppf(0.975)
COLUMNS = {
    "kind": pl.String,
    "metric": pl.String,
    "unit": pl.String,
    "before": pl.Float64,
    "after": pl.Float64,
    "difference": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "p_value": pl.Float64,
    "q_value": pl.Float64,
    "n_before": pl.Int64,
    "n_after": pl.Int64,
    "changed": pl.Boolean,
}
"""The columns of ``comparison.csv``."""

_ROW = {c: COLUMNS[c] for c in ("kind", "metric", "unit", "before", "after", "n_before", "n_after")}
_ROW["se"] = pl.Float64  # of the difference, from which _tested derives the rest


@dataclass(repr=False, eq=False)
class RunComparison(Result):
    """:func:`compare_runs`' result: ``summary`` (one row per metric), ``quality`` (data-quality
    items before and after), ``matching`` (archetypes paired across the runs)."""

    quality: pl.DataFrame | None = None
    matching: pl.DataFrame | None = None
    archetypes_changed: bool = False
    before: str = ""
    after: str = ""

    def changed(self) -> pl.DataFrame:
        """The metrics whose change passes the multiple-testing rule (q < 0.05)."""
        return self.summary.filter(pl.col("changed"))

    def quality_changes(self) -> pl.DataFrame:
        """The data-quality items that differ between the two runs."""
        return self.quality.filter(pl.col("before").fill_null("") != pl.col("after").fill_null(""))

    def _describe(self) -> str:
        found = self.changed()
        text = (
            f"Against {self.before}: {found.height} of {self.summary.height} metrics "
            f"changed by more than noise (q < {Q_LEVEL})"
        )
        listed = "; ".join(_change_words(r) for r in found.head(5).iter_rows(named=True))
        warning = " The archetypes changed: their shares compare different groups." * self.archetypes_changed
        return text + (f": {listed}." if listed else ".") + warning

    def _plot(self, ax, **kwargs):
        from cxlab import plotting

        points = self.summary.filter(pl.col("unit") == "points", pl.col("kind") != "touchpoint effect")
        data = points.select(pl.col("metric").alias("label"), "difference", "ci_low", "ci_high").rename(
            {"difference": "estimate"}
        )
        return plotting.plot_effect_bars(
            data, title="Change since the previous run", xlabel="points (95% interval)", ax=ax
        )


def compare_runs(before: str | Path, after: str | Path) -> RunComparison:
    """Compare run folder ``after`` with the earlier run ``before`` of the same dataset series.

    Parameters
    ----------
    before, after : str or Path
        Run folders written by ``cxlab run`` (both must have succeeded).

    Returns
    -------
    RunComparison
        ``summary`` has the columns of :data:`COLUMNS`: ``kind`` (headline, survey, archetype
        share, touchpoint effect), ``metric``, ``unit``, both values, the difference with its
        95% interval, ``p_value``, ``q_value`` (Benjamini–Hochberg over every row), n of each
        run and ``changed`` (q < 0.05).

    Examples
    --------
    >>> change = compare_runs("reports/last-week", "reports/this-week")   # doctest: +SKIP
    >>> print(change.describe())                                          # doctest: +SKIP
    """
    return compare_with(_checked(RunDir(before)), _checked(RunDir(after)))


def compare_with(a: RunDir, b: RunDir) -> RunComparison:
    """:func:`compare_runs` without checking that ``b`` has finished: for the runner, which
    compares a run before its leadership summary is written."""
    matching, changed = match_archetypes(a, b)
    rows = [*_headline(a, b), *_survey(a, b), *_shares(a, b, matching), *_effects(a, b)]
    table = _tested(pl.DataFrame([r for r in rows if r], schema=_ROW))
    counts = {"metrics": table.height, "changed": int(table["changed"].sum())}
    return RunComparison(
        table,
        counts,
        None,
        "Change since the previous run",
        quality=data_quality_changes(a, b),
        matching=matching,
        archetypes_changed=changed,
        before=a.path.name,
        after=b.path.name,
    )


def headline_values(run: str | Path) -> dict[str, float]:
    """Retention at the horizon, churn rate (both in percent) and NPS of a run, where it has them:
    the figures the runs index draws as trend lines."""
    folder = RunDir(run)
    values = {"retention at the horizon": _retention(folder), "churn rate": _churn(folder)}
    scores = _overall_scores(folder)
    nps = None if scores is None else scores.filter(pl.col("metric") == "nps", pl.col("touchpoint").is_null())
    if nps is not None and nps.height:
        values["NPS"] = {"value": nps["score"][0]}
    return {name: v["value"] for name, v in values.items() if v is not None}


def _checked(run: RunDir) -> RunDir:
    try:
        status = json.loads(run.manifest.read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError) as exc:
        raise DataContractError(f"{run.path} is not a readable run folder (manifest.json: {exc}).") from None
    if status != "succeeded":
        raise DataContractError(f"Run {run.path} did not succeed (status {status!r}); compare finished runs.")
    return run


def _tested(table: pl.DataFrame) -> pl.DataFrame:
    """Differences, intervals, p- and q-values from each row's values and standard errors."""
    se = pl.col("se")
    table = table.with_columns((pl.col("after") - pl.col("before")).alias("difference"))
    table = table.with_columns(
        (pl.col("difference") - Z95 * se).alias("ci_low"),
        (pl.col("difference") + Z95 * se).alias("ci_high"),
        two_sided_p(pl.when(se > 0).then(pl.col("difference") / se)).alias("p_value"),
    )
    table = table.with_columns(q_values(table["p_value"])).with_columns(
        (pl.col("q_value") < Q_LEVEL).fill_null(False).alias("changed")
    )
    return table.select(list(COLUMNS))


def _row(kind, metric, unit, before: dict | None, after: dict | None) -> dict | None:
    """One compared metric; ``before``/``after`` hold value, se and n (None when a run lacks it)."""
    if before is None or after is None:
        return None
    return {
        "kind": kind, "metric": metric, "unit": unit, "before": before["value"], "after": after["value"],
        "n_before": before["n"], "n_after": after["n"], "se": float(np.hypot(before["se"], after["se"])),
    }  # fmt: skip


def _from_interval(value: float, low: float, high: float, n: int, scale: float = 1.0) -> dict:
    return {"value": value * scale, "se": (high - low) * scale / (2 * Z95), "n": n}


def _from_share(share: float, n: int) -> dict:
    return {"value": 100 * share, "se": 100 * np.sqrt(share * (1 - share) / max(n, 1)), "n": n}


def _headline(a: RunDir, b: RunDir) -> list[dict]:
    return [
        _row("headline", "retention at the horizon", "points", _retention(a), _retention(b)),
        _row("headline", "churn rate", "points", _churn(a), _churn(b)),
    ]


def _retention(run: RunDir) -> dict | None:
    table = run.read_table("retention_overall.csv")
    if table is None or table.is_empty() or table["retention"][-1] is None:
        return None
    r = table.row(-1, named=True)  # the horizon's row: the table reads 30 days, 90 days, the horizon
    return _from_interval(r["retention"], r["ci_low"], r["ci_high"], r["n_at_start"], scale=100)


def _churn(run: RunDir) -> dict | None:
    path = run.table_path("customer_features.parquet")
    if not path.is_file():
        return None
    churned = pl.read_parquet(path, columns=["is_churned"])["is_churned"]
    return _from_share(float(churned.mean()), churned.len()) if churned.len() else None


def _survey(a: RunDir, b: RunDir) -> list[dict]:
    scores = [_overall_scores(run) for run in (a, b)]
    if any(s is None for s in scores):
        return []
    joined = scores[0].join(scores[1], on=["metric", "touchpoint"], suffix="_b", nulls_equal=True)
    rows = []
    for r in joined.iter_rows(named=True):
        name = r["metric"].upper() + (f": {r['touchpoint'].replace('_', ' ')}" if r["touchpoint"] else "")
        unit = "points" if r["metric"] == "nps" else "scale points"
        before = _from_interval(r["score"], r["ci_low"], r["ci_high"], r["n"])
        after = _from_interval(r["score_b"], r["ci_low_b"], r["ci_high_b"], r["n_b"])
        rows.append(_row("survey", name, unit, before, after))
    return rows


def _overall_scores(run: RunDir) -> pl.DataFrame | None:
    """Every metric's score over all customers (per touchpoint where it has one), not suppressed."""
    scores = run.read_table("survey_scores.csv")
    if scores is None:
        return None
    return scores.filter(
        pl.col("segment") == "all", pl.col("month").is_null(), pl.col("stage").is_null(),
        ~pl.col("suppressed"), pl.col("ci_low").is_not_null(), pl.col("metric").is_in(["nps", "csat", "ces"]),
    ).select("metric", "touchpoint", "score", "ci_low", "ci_high", "n")  # fmt: skip


def _effects(a: RunDir, b: RunDir) -> list[dict]:
    tables = [run.read_table("touchpoint_impact.csv") for run in (a, b)]
    if any(t is None for t in tables):
        return []
    keep = [
        pl.col("method") == "retention_diff",
        pl.col("segment") == "all",
        pl.col("estimate").is_not_null(),
    ]
    columns = ["touchpoint", "estimate", "ci_low", "ci_high", "n_exposed"]
    joined = (
        tables[0].filter(*keep).select(columns).join(tables[1].filter(*keep).select(columns), on="touchpoint")
    )
    return [
        _row(
            "touchpoint effect",
            r["touchpoint"].replace("_", " "),
            "points",
            _from_interval(r["estimate"], r["ci_low"], r["ci_high"], r["n_exposed"], scale=100),
            _from_interval(
                r["estimate_right"], r["ci_low_right"], r["ci_high_right"], r["n_exposed_right"], scale=100
            ),
        )  # fmt: skip
        for r in joined.iter_rows(named=True)
    ]


def _shares(a: RunDir, b: RunDir, matching: pl.DataFrame) -> list[dict]:
    profiles = [run.read_table("archetype_profiles.csv") for run in (a, b)]
    if any(p is None or p.is_empty() for p in profiles) or matching.is_empty():
        return []
    size = [dict(zip(p["archetype_name"], p["n_customers"], strict=True)) for p in profiles]
    total = [sum(s.values()) for s in size]
    rows = []
    for r in matching.iter_rows(named=True):
        before, after = r["archetype_before"], r["archetype_after"]
        name = after if before == after else f"{after} (was {before})"
        rows.append(
            _row(
                "archetype share",
                f"share: {name}",
                "points",
                _from_share(size[0][before] / total[0], total[0]),
                _from_share(size[1][after] / total[1], total[1]),
            )  # fmt: skip
        )
    return rows


def match_archetypes(before: RunDir, after: RunDir) -> tuple[pl.DataFrame, bool]:
    """Pair the archetypes of two runs by their mean touchpoint mix (Hungarian method on the
    Hellinger distance); True when the pairing is poor (see the module docs)."""
    mixes = [_mixes(run) for run in (before, after)]
    schema = {"archetype_before": pl.String, "archetype_after": pl.String, "distance": pl.Float64}
    if any(m is None for m in mixes):
        return pl.DataFrame(schema=schema), False
    columns = sorted(set(mixes[0].columns) & set(mixes[1].columns) - {"archetype_name"})
    x, y = (np.sqrt(m.select(columns).fill_null(0).to_numpy().clip(0)) for m in mixes)
    distance = np.linalg.norm(x[:, None, :] - y[None, :, :], axis=2) / np.sqrt(2)
    rows, cols = linear_sum_assignment(distance)
    matched = distance[rows, cols]
    separation = min(_smallest_gap(x), _smallest_gap(y))
    poor = len(x) != len(y) or bool((matched > separation / 2).any())
    names = [m["archetype_name"].to_list() for m in mixes]
    table = pl.DataFrame(
        {
            "archetype_before": [names[0][i] for i in rows],
            "archetype_after": [names[1][j] for j in cols],
            "distance": matched,
        },
        schema=schema,
    )
    return table, poor


def _mixes(run: RunDir) -> pl.DataFrame | None:
    archetypes, features = run.read_table("archetypes.csv"), run.table_path("customer_features.parquet")
    if archetypes is None or archetypes.is_empty() or not features.is_file():
        return None
    shares = pl.scan_parquet(features).select("customer_id", cs.starts_with("share_tp_")).collect()
    return (
        shares.join(archetypes.select("customer_id", "archetype_name"), on="customer_id")
        .group_by("archetype_name")
        .agg(pl.exclude("customer_id").mean())
        .sort("archetype_name")
    )


def _smallest_gap(x: np.ndarray) -> float:
    if len(x) < 2:
        return np.inf
    d = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=2) / np.sqrt(2)
    return float(d[np.triu_indices(len(x), 1)].min())


def data_quality_changes(before: RunDir, after: RunDir) -> pl.DataFrame:
    """Rows read and rejected per table, touchpoint labels that appeared or vanished, and the
    period of the events, before and after."""
    manifests = [json.loads(run.manifest.read_text(encoding="utf-8")) for run in (before, after)]
    rows = []
    inputs = [{t["table"]: t for t in m.get("inputs", [])} for m in manifests]
    for table in sorted(set(inputs[0]) | set(inputs[1])):
        for field in ("rows_read", "rows_rejected"):
            values = [i.get(table, {}).get(field) for i in inputs]
            rows.append(
                {"item": f"{table}: {field.replace('_', ' ')}", "before": values[0], "after": values[1]}
            )
    reasons = [_rejected_reasons(run) for run in (before, after)]
    for table, reason in sorted(set(reasons[0]) | set(reasons[1])):
        values = [str(r.get((table, reason), 0)) for r in reasons]
        rows.append({"item": f"{table}: rejected for {reason}", "before": values[0], "after": values[1]})
    rows = [{k: v if v is None else str(v) for k, v in r.items()} for r in rows]
    labels = [_labels(run) for run in (before, after)]
    rows.append(
        {"item": "touchpoint labels new", "before": "", "after": ", ".join(sorted(labels[1] - labels[0]))}
    )
    rows.append(
        {"item": "touchpoint labels gone", "before": ", ".join(sorted(labels[0] - labels[1])), "after": ""}
    )
    periods = [_period(run) for run in (before, after)]
    rows.append({"item": "events from", "before": periods[0][0], "after": periods[1][0]})
    rows.append({"item": "events to", "before": periods[0][1], "after": periods[1][1]})
    return pl.DataFrame(rows, schema={"item": pl.String, "before": pl.String, "after": pl.String})


def _rejected_reasons(run: RunDir) -> dict[tuple[str, str], int]:
    """Rejected rows by (table, reason), from the run's ``rejected/*.csv``."""
    counts: dict[tuple[str, str], int] = {}
    for path in sorted(run.rejected.glob("*.csv")):
        reasons = pl.read_csv(path, columns=["reason"], infer_schema=False)["reason"]
        for reason, n in reasons.str.split("; ").explode().value_counts().iter_rows():
            counts[(path.stem, reason)] = n
    return counts


def _labels(run: RunDir) -> set[str]:
    path = run.dataset / "interactions.parquet"
    return (
        set(pl.read_parquet(path, columns=["touchpoint"])["touchpoint"].unique()) if path.is_file() else set()
    )


def _period(run: RunDir) -> tuple[str, str]:
    path = run.dataset / "interactions.parquet"
    if not path.is_file():
        return "", ""
    span = pl.scan_parquet(path).select(
        pl.col("timestamp").min().alias("a"), pl.col("timestamp").max().alias("b")
    )
    first, last = span.collect().row(0)
    return (str(first.date()) if first else ""), (str(last.date()) if last else "")


def _change_words(r: dict) -> str:
    arrow = "up" if r["difference"] > 0 else "down"
    size = f"{abs(r['difference']):.1f} {r['unit']}"
    return f"{r['metric']} {arrow} {size} (from {r['before']:.1f} to {r['after']:.1f})"


def previous_run(parent: str | Path, data: str) -> Path | None:
    """The latest succeeded run in ``parent`` of the same data source ``data`` (the series)."""
    found = []
    for manifest in Path(parent).glob("[!.]*/manifest.json"):
        try:
            meta = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # the index lists it as unreadable; it cannot be compared with
        if meta.get("status") == "succeeded" and meta.get("data") == data:
            found.append((meta.get("started_at") or "", manifest.parent))
    return max(found)[1] if found else None


def write_comparison(run: str | Path, comparison: RunComparison) -> None:
    """Save ``comparison.csv`` and ``comparison_quality.csv`` into run folder ``run``."""
    folder = RunDir(run)
    folder.write_table("comparison.csv", comparison)
    folder.write_table("comparison_quality.csv", comparison.quality)


ALERT_METRICS = {"nps": "NPS", "retention": "retention at the horizon", "churn_rate": "churn rate"}
"""Names a rule of ``--alert-if`` may use, and the compared metric each means."""

_RULE = re.compile(r"^(?P<metric>[a-z_]+?)_(?P<direction>drop|rise|change)\s*>\s*(?P<limit>\d+(\.\d+)?)$")


@dataclass(frozen=True)
class AlertRule:
    """A rule such as ``nps_drop>5``: it fires when the metric moved that way by more than
    the limit (in its unit: points for NPS, retention and churn rate) since the previous run
    and the change passes the multiple-testing rule (q < 0.05), so noise never fires it.

    Examples
    --------
    >>> AlertRule.parse("nps_drop>5")
    AlertRule(text='nps_drop>5', metric='nps', direction='drop', limit=5.0)
    """

    text: str
    metric: str
    direction: str
    limit: float

    @classmethod
    def parse(cls, text: str) -> AlertRule:
        match = _RULE.match(text.strip().lower())
        if not match or match["metric"] not in ALERT_METRICS:
            raise DataContractError(
                f"--alert-if {text!r} is not a rule. Write METRIC_drop>N, METRIC_rise>N or "
                f"METRIC_change>N with METRIC one of {', '.join(ALERT_METRICS)}, e.g. nps_drop>5."
            )
        return cls(text.strip(), match["metric"], match["direction"], float(match["limit"]))

    def check(self, comparison: RunComparison | None) -> dict:
        """``rule``, ``fired`` and ``detail`` (in words) for the manifest."""
        if comparison is None:
            return {
                "rule": self.text,
                "fired": False,
                "detail": "no previous run of this dataset to compare with",
            }
        row = comparison.summary.filter(pl.col("metric") == ALERT_METRICS[self.metric])
        if row.is_empty():
            return {
                "rule": self.text,
                "fired": False,
                "detail": f"{ALERT_METRICS[self.metric]} is not in both runs",
            }
        r = row.row(0, named=True)
        moved = {"drop": -r["difference"], "rise": r["difference"], "change": abs(r["difference"])}[
            self.direction
        ]
        fired = bool(r["changed"] and moved > self.limit)
        return {"rule": self.text, "fired": fired, "detail": f"{_change_words(r)}, q = {r['q_value']:.3g}"}

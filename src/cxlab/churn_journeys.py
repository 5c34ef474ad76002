"""Journeys into churn: what churned customers did before they left, against comparable
customers who stayed, and the flow around a chosen touchpoint.

Comparable windows
------------------
A churned customer's journey is read up to the day they churned. Customers still active
are read up to a *matched point*: a tenure drawn (seeded) from the churned customers'
tenures that the active customer has already lived through, so both groups are looked at
after the same time as customers. Without the match, long-lived active customers would be
compared at a tenure churned customers rarely reach, and touchpoints of late tenure would
look protective for that reason alone.

:func:`churned_vs_retained` compares the share of each group that used each touchpoint and
each touchpoint-to-touchpoint transition in the last ``window_days`` before that point;
:func:`paths_into_churn` compares the last few touchpoints as a path. Differences have 95%
Wald intervals and a two-proportion z-test, with Benjamini–Hochberg q-values over the whole
table (one family). These are associations: what precedes churn, not what causes it.

Examples
--------
>>> from cxlab import churn_journeys
>>> from cxlab.synthetic import make_journeys
>>> dataset = make_journeys(2_000, random_state=0).load()
>>> table = churn_journeys.churned_vs_retained(dataset).summary
>>> table.columns[:4]
['kind', 'step', 'n_churned', 'share_churned']
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
from scipy.stats import norm

from cxlab.dataset import Dataset
from cxlab.inference import Q_LEVEL, q_values, two_sided_p
from cxlab.journeys import churn_status, first_in_journey, journey_events, per_event
from cxlab.results import Result

NO_CHURN = "it needs customers who churned and customers still active, with events before"
_Z = norm.ppf(0.975)
START, CHURNED, ACTIVE = "(start)", "(churned)", "(still active)"


def reference_points(dataset: Dataset, *, random_state: int = 0) -> pl.DataFrame:
    """``customer_id``, ``churned`` and ``reference_at``: churn day for churned customers, a
    matched point (see the module docs) for active ones; active customers younger than every
    churned customer's tenure have no match and are left out.

    Examples
    --------
    >>> from cxlab.synthetic import make_journeys
    >>> points = reference_points(make_journeys(300, random_state=0).load())
    >>> points.columns
    ['customer_id', 'churned', 'reference_at']
    """
    people = churn_status(dataset.customers, dataset.observation_end)
    churned = people.filter("is_churned")
    active = people.filter(~pl.col("is_churned")).sort("customer_id")
    seconds = (pl.col("churned_at") - pl.col("signup_at")).dt.total_seconds()
    tenures = np.sort(churned.select(seconds)["churned_at"].to_numpy())
    if len(tenures) and len(active):
        lived = active.select((pl.lit(dataset.observation_end) - pl.col("signup_at")).dt.total_seconds())
        eligible = np.searchsorted(tenures, lived.to_series().to_numpy(), side="right")
        pick = np.floor(np.random.default_rng(random_state).random(len(active)) * eligible).astype(np.int64)
        matched = np.where(eligible > 0, tenures[np.minimum(pick, len(tenures) - 1)], np.nan)
        offset = pl.duration(seconds=pl.Series(matched).fill_nan(None).cast(pl.Int64))
        active = active.with_columns((pl.col("signup_at") + offset).alias("churned_at")).drop_nulls(
            "churned_at"
        )
    else:
        active = active.clear()
    return pl.concat([churned, active]).select(
        "customer_id", pl.col("is_churned").alias("churned"), pl.col("churned_at").alias("reference_at")
    )


def churned_vs_retained(dataset: Dataset, *, window_days: int = 30, random_state: int = 0) -> Result:
    """Share of churned and of comparable retained customers who used each touchpoint and each
    transition in the last ``window_days`` before churn (or the matched point).

    Parameters
    ----------
    dataset : Dataset
        A validated dataset.
    window_days : int, default 30
        The window before churn (or the matched point) that is compared.
    random_state : int, default 0
        Seed of the matched points.

    Returns
    -------
    Result
        ``summary``: ``kind`` (activity: any event at all; touchpoint; transition), ``step``, ``n_churned``,
        ``share_churned``, ``n_retained``, ``share_retained``, ``difference`` (churned minus
        retained, in share points), ``ci_low``, ``ci_high``, ``p_value``, ``q_value``,
        ``window_days``; largest significant differences first.

    Examples
    --------
    >>> from cxlab.synthetic import make_journeys
    >>> result = churned_vs_retained(make_journeys(1_000, random_state=0).load(), window_days=60)
    >>> result.counts["churned"] > 0
    True
    """
    title = f"Churned against retained customers, last {window_days} days"
    points = reference_points(dataset, random_state=random_state)
    events = _before(dataset, points).filter(
        pl.col("timestamp") >= pl.col("reference_at") - timedelta(days=window_days)
    )
    steps = pl.concat([_used(events, kind) for kind in ("activity", "touchpoint", "transition")])
    result = _compared(steps, points, title, f"in their last {window_days} days")
    result.summary = result.summary.with_columns(pl.lit(window_days, pl.Int64).alias("window_days"))
    return result


def paths_into_churn(dataset: Dataset, *, steps: int = 3, random_state: int = 0, top: int = 15) -> Result:
    """The last ``steps`` touchpoints before churn against the last ``steps`` before the matched
    point of comparable retained customers: each touchpoint among them (a step) and the whole
    path, compared as in :func:`churned_vs_retained` (one family for the q-values).

    Parameters
    ----------
    dataset : Dataset
        A validated dataset.
    steps : int, default 3
        Touchpoints per path (consecutive repeats count once).
    random_state : int, default 0
        Seed of the matched points.
    top : int, default 15
        Paths to keep, by how many churned customers took them.

    Returns
    -------
    Result
        As :func:`churned_vs_retained`: ``kind`` "step" (a touchpoint among the last
        ``steps``; largest significant differences first), then "path" (``a > b > c``; the
        ``top`` most common paths into churn).

    Examples
    --------
    >>> from cxlab.synthetic import make_journeys
    >>> paths = paths_into_churn(make_journeys(1_000, random_state=0).load(), steps=2).summary
    >>> paths["step"].str.count_matches(" > ").max() <= 1
    True
    """
    title = f"The last {steps} touchpoints before churn"
    points = reference_points(dataset, random_state=random_state)
    repeat = (pl.col("touchpoint") == pl.col("touchpoint").shift()) & _same_journey()
    events = _before(dataset, points).filter(~repeat.fill_null(False))
    last = events.group_by("journey").agg(pl.first("churned"), pl.col("touchpoint").tail(steps))
    paths = last.select(
        "journey",
        "churned",
        pl.lit("path").alias("kind"),
        pl.col("touchpoint").cast(pl.List(pl.String)).list.join(" > ").alias("step"),
    )
    each = last.explode("touchpoint").select(
        "journey", "churned", pl.lit("step").alias("kind"), pl.col("touchpoint").cast(pl.String).alias("step")
    )
    used = pl.concat([paths, each.unique()])
    result = _compared(used, points, title, f"among their last {steps} touchpoints", noun="paths and steps")
    table = result.summary
    common = table.filter(pl.col("kind") == "path").sort("n_churned", descending=True).head(top)
    result.summary = pl.concat([table.filter(pl.col("kind") == "step"), common])
    return result


def _before(dataset: Dataset, points: pl.DataFrame) -> pl.DataFrame:
    """Each customer's events before their reference point, in journey order, with ``journey``
    and ``churned``."""
    events = journey_events(dataset, status=False).select("journey", "customer_id", "timestamp", "touchpoint")
    events = events.with_columns(per_event(events, points, ("churned", "reference_at")))
    return events.filter(pl.col("timestamp") < pl.col("reference_at")).drop("customer_id")


def _same_journey() -> pl.Expr:
    return ~first_in_journey()


def _used(events: pl.DataFrame, kind: str) -> pl.DataFrame:
    """``journey``, ``churned``, ``kind``, ``step``: each touchpoint or transition a customer used (once)."""
    step = pl.col("touchpoint")
    if kind == "activity":
        step = pl.lit("(any touchpoint)")
    elif kind == "transition":
        events = events.with_columns(pl.col("touchpoint").shift().alias("_previous"))
        events = events.filter(_same_journey(), pl.col("_previous") != step)
        step = pl.concat_str("_previous", pl.lit(" → "), step)
    step = step.cast(pl.String)  # touchpoints are Categorical, the other steps text
    return events.select("journey", "churned", pl.lit(kind).alias("kind"), step.alias("step")).unique()


def _compared(
    used: pl.DataFrame, points: pl.DataFrame, title: str, where: str, noun: str = "steps"
) -> Result:
    counts = {"churned": int(points["churned"].sum()), "retained": int((~points["churned"]).sum())}
    if not counts["churned"] or not counts["retained"] or used.is_empty():
        return Result.not_estimable(NO_CHURN, _empty(), counts=counts, title=title)
    n = {True: counts["churned"], False: counts["retained"]}
    table = (
        used.group_by("kind", "step")
        .agg(
            pl.col("churned").sum().cast(pl.Int64).alias("n_churned"),
            (~pl.col("churned")).sum().cast(pl.Int64).alias("n_retained"),
        )
        .with_columns(
            (pl.col("n_churned") / n[True]).alias("share_churned"),
            (pl.col("n_retained") / n[False]).alias("share_retained"),
        )
    )
    table = _tested(table, n[True], n[False])
    found = table.filter(pl.col("q_value") < Q_LEVEL)
    text = (
        f"{counts['churned']:,} churned and {counts['retained']:,} comparable retained customers; "
        f"{found.height} of {table.height} {noun} differ between the two groups {where} "
        f"(q < {Q_LEVEL}). An association: these {noun} come before churn more (or less) often; "
        "that does not make them causes."
    )
    return Result(table, counts, None, title, text=text, chart="plot_churn_differences")


def _tested(table: pl.DataFrame, n1: int, n0: int) -> pl.DataFrame:
    """Difference of two shares with its Wald interval, pooled z-test p-value and BH q-value."""
    p1, p0 = pl.col("share_churned"), pl.col("share_retained")
    pooled = (pl.col("n_churned") + pl.col("n_retained")) / (n1 + n0)
    se = (p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0).sqrt()
    null_variance = pooled * (1 - pooled) * (1 / n1 + 1 / n0)
    z = (
        pl.when(null_variance > 0).then((p1 - p0) / null_variance.sqrt()).otherwise(0.0)
    )  # all or none used it
    table = table.with_columns(
        (p1 - p0).alias("difference"),
        (p1 - p0 - _Z * se).alias("ci_low"),
        (p1 - p0 + _Z * se).alias("ci_high"),
        two_sided_p(z).alias("p_value"),
    )
    table = table.with_columns(q_values(table["p_value"]))
    order = [(pl.col("q_value") >= Q_LEVEL), pl.col("difference").abs(), pl.col("kind"), pl.col("step")]
    return table.sort(order, descending=[False, True, False, False]).select(
        list(_empty().columns)
    )  # ties by name


def _empty() -> pl.DataFrame:
    schema = {"kind": pl.String, "step": pl.String, "n_churned": pl.Int64, "share_churned": pl.Float64}
    schema |= {"n_retained": pl.Int64, "share_retained": pl.Float64}
    schema |= dict.fromkeys(("difference", "ci_low", "ci_high", "p_value", "q_value"), pl.Float64)
    return pl.DataFrame(schema=schema)


def anchored_flow(dataset: Dataset, anchor: str, *, steps: int = 3) -> Result:
    """What comes before and after the first use of ``anchor``: the touchpoint at each of the
    ``steps`` positions on either side, with end states.

    Parameters
    ----------
    dataset : Dataset
        A validated dataset.
    anchor : str
        A touchpoint, for example ``support_team``.
    steps : int, default 3
        Positions before and after the anchor.

    Returns
    -------
    Result
        ``summary``: ``position`` (-steps to steps; 0 is the anchor), ``touchpoint``,
        ``n_customers``, ``share`` (of the customers who used the anchor). Before a journey's
        first event the position reads ``(start)``; after its last, ``(churned)`` or
        ``(still active)``.

    Examples
    --------
    >>> from cxlab.synthetic import make_journeys
    >>> flow = anchored_flow(make_journeys(500, random_state=0).load(), "support_team", steps=1)
    >>> sorted(flow.summary["position"].unique().to_list())
    [-1, 0, 1]
    """
    title = f"Before and after {anchor.replace('_', ' ')}"
    events = journey_events(dataset).select("journey", "touchpoint", "is_churned")
    first = (  # the row of each journey's first use of the anchor (rows are in journey order)
        events.with_row_index("row")
        .filter(pl.col("touchpoint") == anchor)
        .group_by("journey")
        .agg(pl.col("row").min().cast(pl.Int64).alias("at"))
    )
    if first.is_empty():
        reason = f"nobody used '{anchor}'; choose a touchpoint of the data ({_some(dataset)})"
        return Result.not_estimable(reason, _flow_schema(), title=title)
    grid = first.join(pl.DataFrame({"position": range(-steps, steps + 1)}), how="cross")
    wanted = grid["at"] + grid["position"]
    row = wanted.clip(0, events.height - 1)
    inside = (wanted == row) & (events["journey"].gather(row) == grid["journey"])  # still this customer's
    after = pl.when(events["is_churned"].gather(grid["at"])).then(pl.lit(CHURNED)).otherwise(pl.lit(ACTIVE))
    placed = grid.with_columns(
        pl.when(inside)
        .then(events["touchpoint"].gather(row))
        .when(pl.col("position") < 0)
        .then(pl.lit(START))
        .otherwise(after)
        .alias("touchpoint")
    )
    table = (
        placed.group_by("position", "touchpoint")
        .agg(pl.len().cast(pl.Int64).alias("n_customers"))
        .with_columns((pl.col("n_customers") / first.height).alias("share"))
        .sort("position", "n_customers", descending=[False, True])
    )
    text = f"{first.height:,} customers used {anchor.replace('_', ' ')}; what they did before and after it."
    return Result(table, {"customers": first.height}, None, title, text=text, chart="plot_anchored_flow")


def _flow_schema() -> pl.DataFrame:
    schema = {"position": pl.Int64, "touchpoint": pl.String, "n_customers": pl.Int64, "share": pl.Float64}
    return pl.DataFrame(schema=schema)


def _some(dataset: Dataset, k: int = 5) -> str:
    common = dataset.interactions["touchpoint"].value_counts(sort=True).head(k)["touchpoint"]
    return ", ".join(common.to_list())

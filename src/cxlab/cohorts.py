"""Signup cohorts: how each month's new customers retain, and how the active base moves.

:func:`cohort_retention` reads Kaplan–Meier retention (lifelines) within each signup month
at whole months since signup. It is censoring-aware: a customer still active at the end of
observation counts as at risk up to then and no further, so a young cohort's row stops
where its follow-up stops (an empty cell, never a zero), and a cell with fewer customers
at risk than the smallest shown cell is suppressed.

:func:`lifecycle` counts, per calendar month, customers with activity who are *new* (their
first active month), *returning* (also active the month before), *resurrected* (active
again after a month or more without activity), and *dormant* (active the month before, not
this month).

Examples
--------
>>> from cxlab import build_features, cohorts
>>> from cxlab.synthetic import make_journeys
>>> dataset = make_journeys(2_000, random_state=0).load()
>>> table = cohorts.cohort_retention(build_features(dataset), months=6).summary
>>> table.columns
['cohort', 'month', 'n_at_risk', 'retention', 'ci_low', 'ci_high', 'suppressed']
"""

from __future__ import annotations

import polars as pl
from lifelines import KaplanMeierFitter

from cxlab.config import MIN_CELL_SIZE
from cxlab.dataset import Dataset
from cxlab.journeys import journey_events
from cxlab.results import Result
from cxlab.retention import retention_at

DAYS_PER_MONTH = 365.25 / 12
_SCHEMA = {"cohort": pl.String, "month": pl.Int64, "n_at_risk": pl.Int64}
_SCHEMA |= {"retention": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "suppressed": pl.Boolean}


def cohort_retention(
    features: pl.DataFrame, *, months: int = 12, min_cell_size: int = MIN_CELL_SIZE
) -> Result:
    """Kaplan–Meier retention of each signup month at 1 to ``months`` months since signup.

    Parameters
    ----------
    features : polars.DataFrame
        From :func:`cxlab.build_features` (``signup_at``, ``observed_days``, ``is_churned``).
    months : int, default 12
        The last month since signup shown.
    min_cell_size : int, default 30
        Cells with fewer customers at risk are suppressed (``retention`` empty).

    Returns
    -------
    Result
        ``summary``: ``cohort`` (signup month, ``YYYY-MM``), ``month`` (since signup),
        ``n_at_risk`` (customers still followed at that month), ``retention`` with its 95%
        interval, ``suppressed``. A cell past a cohort's follow-up has no row.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> features = pl.DataFrame({"signup_at": [datetime(2025, 1, 5)] * 4,
    ...     "observed_days": [20.0, 45.0, 70.0, 70.0], "is_churned": [True, True, False, False]})
    >>> cohort_retention(features, months=2, min_cell_size=1).summary["retention"].round(2).to_list()
    [0.75, 0.5]
    """
    title = "Retention by signup month"
    data = features.select(
        pl.col("signup_at").dt.strftime("%Y-%m").alias("cohort"),
        pl.col("observed_days").alias("duration"),
        pl.col("is_churned").alias("churned"),
    )
    if data.is_empty():
        return Result.not_estimable("no customers to follow", pl.DataFrame(schema=_SCHEMA), title=title)
    fitters = {  # no log-rank test across cohorts: it would cost ten times the fits
        str(cohort): KaplanMeierFitter().fit(rows["duration"], rows["churned"])
        for cohort, rows in data.to_pandas().groupby("cohort", sort=True)
    }
    grid = [m * DAYS_PER_MONTH for m in range(1, months + 1)]
    at = retention_at(fitters, days=tuple(grid)).select(
        pl.col("group").alias("cohort"),
        (pl.col("days") / DAYS_PER_MONTH).round(0).cast(pl.Int64).alias("month"),
        "retention",
        "ci_low",
        "ci_high",
    )
    at_risk = (
        data.group_by("cohort")
        .agg((pl.col("duration") >= day).sum().alias(str(m)) for m, day in enumerate(grid, start=1))
        .unpivot(index="cohort", variable_name="month", value_name="n_at_risk")
        .with_columns(pl.col("month").cast(pl.Int64), pl.col("n_at_risk").cast(pl.Int64))
    )
    table = (
        at.join(at_risk, on=["cohort", "month"])
        .filter(pl.col("n_at_risk") > 0)  # past the cohort's follow-up: no cell, never a zero
        .with_columns((pl.col("n_at_risk") < min_cell_size).alias("suppressed"))
        .select(list(_SCHEMA))
    )
    hidden = pl.when(pl.col("suppressed")).then(None)
    table = table.with_columns(
        hidden.otherwise(pl.col(c)).alias(c) for c in ("retention", "ci_low", "ci_high")
    )
    text = (
        f"{table['cohort'].n_unique()} signup months; Kaplan–Meier retention at whole months since signup, "
        f"each cohort shown as far as it has been followed; cells of fewer than {min_cell_size} customers "
        "at risk are suppressed."
    )
    counts = {"customers": data.height, "cohorts": table["cohort"].n_unique()}
    return Result(table.sort("cohort", "month"), counts, None, title, text=text, chart="plot_cohort_heatmap")


def lifecycle(dataset: Dataset) -> Result:
    """New, returning, resurrected and dormant customers per calendar month (module docs).

    Parameters
    ----------
    dataset : Dataset
        A validated dataset.

    Returns
    -------
    Result
        ``summary``: ``month`` (``YYYY-MM``), ``new``, ``returning``, ``resurrected``,
        ``dormant``; not estimable when no customer is active in two different months.

    Examples
    --------
    >>> from cxlab.synthetic import make_journeys
    >>> table = lifecycle(make_journeys(500, random_state=0).load()).summary
    >>> table.columns
    ['month', 'new', 'returning', 'resurrected', 'dormant']
    """
    title = "Active customers by lifecycle status"
    schema = {"month": pl.String} | dict.fromkeys(("new", "returning", "resurrected", "dormant"), pl.Int64)
    month = pl.col("timestamp").dt.truncate("1mo").alias("m")
    # in journey order: months never go back
    events = journey_events(dataset, status=False).select("journey", month)
    same = pl.col("journey") == pl.col("journey").shift()
    active = events.filter(~(same & (pl.col("m") == pl.col("m").shift())).fill_null(False))
    previous = pl.when(same).then(pl.col("m").shift())
    following = pl.when(pl.col("journey") == pl.col("journey").shift(-1)).then(pl.col("m").shift(-1))
    last = active["m"].max()
    active = active.with_columns(
        pl.when(previous.is_null())
        .then(pl.lit("new"))
        .when(previous == pl.col("m").dt.offset_by("-1mo"))
        .then(pl.lit("returning"))
        .otherwise(pl.lit("resurrected"))
        .alias("status"),
        (following.is_null() | (following != pl.col("m").dt.offset_by("1mo"))).alias("_gap_after"),
    )
    dormant = active.filter("_gap_after", pl.col("m") < last).select(
        pl.col("m").dt.offset_by("1mo"), pl.lit("dormant").alias("status")
    )
    if active.is_empty() or active["journey"].n_unique() == active.height:
        reason = "no customer is active in two different months; it needs repeated activity"
        return Result.not_estimable(reason, pl.DataFrame(schema=schema), title=title)
    table = (
        pl.concat([active.select("m", "status"), dormant])
        .group_by("m", "status")
        .len()
        .pivot("status", index="m", values="len")
        .sort("m")
    )
    table = table.with_columns(pl.col("m").dt.strftime("%Y-%m").alias("month"))
    table = table.select(
        pl.col(c).cast(t) if c in table.columns else pl.lit(0, t).alias(c) for c, t in schema.items()
    )
    table = table.with_columns(pl.exclude("month").fill_null(0))
    text = (
        "Customers with any event in the month, by status; dormant: active the month before, not this month."
    )
    return Result(table, {"months": table.height}, None, title, text=text, chart="plot_lifecycle")

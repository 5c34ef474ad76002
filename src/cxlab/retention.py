"""Touchpoint impact on retention: a landmark analysis with lifelines.

Only customers still active at the end of the exposure window (the *landmark*) enter, and
exposure is what happened in that window, so that surviving longer cannot by itself create
exposure (no immortal-time bias). Time runs from the landmark to churn, or to the end of
observation (censored).

* :func:`landmark_data` builds that data set and counts who is left out and why.
* :func:`retention_curves` and :func:`retention_at`: Kaplan–Meier retention with
  confidence bands and log-rank tests (``lifelines``).
* :func:`touchpoint_hazard_ratios`: a Cox model of churn on every touchpoint exposure,
  the archetype and the customer attributes: ``cox_hr`` rows of ``touchpoint_impact.csv``.
* :func:`retention_difference`: exposed minus unexposed retention at the horizon,
  standardised over the population (g-computation from the Cox model), with delta-method
  intervals: ``retention_diff`` rows.

These are *adjusted associations*, not experiments: a touchpoint's estimate is free of the
differences the model adjusts for (other touchpoints, archetype, attributes) and of none
it does not know about.
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import polars as pl
import polars.selectors as cs
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.exceptions import ConvergenceError, ConvergenceWarning
from lifelines.statistics import multivariate_logrank_test, proportional_hazard_test

from cxlab import progress
from cxlab.config import EXPOSURE_WINDOW_DAYS, HORIZON_DAYS, MIN_EXPOSED
from cxlab.exceptions import DataContractError
from cxlab.inference import COMMON_OUTCOME, Q_LEVEL, describe_e_value, e_values, with_q_values
from cxlab.results import Result
from cxlab.rundir import OUTPUT_TABLES
from cxlab.schoenfeld import scaled_schoenfeld
from cxlab.standardized import retention_differences

MAX_LEVELS = 20
"""An attribute with more levels than this is left out of the model (and the note says so)."""


LANDMARK_COLUMNS = cs.by_name(
    "customer_id", "observed_days", "window_complete", "is_churned", "exposure_window_days"
) | cs.starts_with("exposed_", "attr_")
"""The columns of :func:`cxlab.build_features` that :func:`landmark_data` uses."""


PH_ALPHA = 0.01
"""A proportional-hazards test below this says an effect changes over follow-up."""


class ImpactWarning(UserWarning):
    """The estimates were computed, with a problem the analyst must know about."""


@dataclass
class Landmark:
    """Customers active at the landmark, with ``duration`` (days after it) and ``churned``."""

    data: pl.DataFrame
    exposure_window_days: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def exposures(self) -> list[str]:
        return [c for c in self.data.columns if c.startswith("exposed_")]

    def with_archetypes(self, archetypes: pl.DataFrame | None) -> Landmark:
        """The same customers with ``archetype_name`` from ``archetypes`` (``customer_id``,
        ``archetype_name``), or without archetypes when None."""
        data = self.data.drop("archetype_name", strict=False)
        if archetypes is not None:
            data = data.join(archetypes.select("customer_id", "archetype_name"), on="customer_id", how="left")
        return Landmark(data, self.exposure_window_days, self.counts)

    def describe(self) -> str:
        """Who is in the analysis and who is not, in plain words."""
        c, days = self.counts, self.exposure_window_days
        return (
            f"{c['included']:,} of {c['customers']:,} customers were still active {days} days after "
            f"signing up and are analysed; left out: {c['window_incomplete']:,} who signed up less "
            f"than {days} days before the end of observation, "
            f"{c['churned_in_window']:,} who churned within those days, {c['no_follow_up']:,} with no "
            f"time observed after them. {c['churned']:,} of those analysed churned later."
            + (
                ""
                if "archetype_name" in self.data.columns
                else " No archetypes at the landmark (a run from per-customer tables has no events to "
                "cluster), so models adjust for the exposures and attributes only."
            )
        )

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.describe())}</p>"

    @property
    def no_churn_reason(self) -> str | None:
        """Why there is no churn to explain after the landmark, or None when there is some."""
        if self.data.height == 0:
            return (
                f"no customer was followed past the landmark ({self.exposure_window_days} days after "
                "signup), so there is no churn to explain; it needs customers who signed up earlier "
                "than that before the end of observation and were still active then"
            )
        if int(self.data["churned"].sum()) == 0:
            return "nobody churned after the landmark; it needs churn (churned_at, or churn by inactivity)"
        return None


def landmark_data(
    features: pl.DataFrame, *, exposure_window_days: int | None = None, archetypes=None
) -> Landmark:
    """The landmark data set from :func:`cxlab.build_features`.

    Parameters
    ----------
    features : polars.DataFrame
        One row per customer, from :func:`cxlab.build_features`; it records the exposure
        window it was built with.
    exposure_window_days : int, optional
        The landmark, in days after signup. Default: the window the features were built
        with; a different value is refused (the exposures would not match the landmark).
    archetypes : polars.DataFrame, optional
        ``customer_id`` and ``archetype_name`` (as in ``archetypes.csv``), added to each customer.

    Returns
    -------
    Landmark
        ``duration`` counts whole days after the landmark (rounded up; ties are handled by
        Efron's method in the Cox model), ``churned`` whether follow-up ended in churn.

    Examples
    --------
    >>> import cxlab
    >>> from cxlab import retention
    >>> from cxlab.synthetic import make_journeys
    >>> features = cxlab.build_features(make_journeys(300, random_state=0).load())
    >>> landmark = retention.landmark_data(features)
    >>> landmark.exposure_window_days, landmark.counts["customers"]
    (30, 300)
    """
    window = _features_window(features, exposure_window_days)
    duration = pl.col("observed_days") - float(window)
    flagged = features.with_columns(
        duration.ceil().alias("duration"),  # whole days: ties make the Cox fit ~15x faster at 1M
        (~pl.col("window_complete")).alias("_incomplete"),
        (pl.col("window_complete") & pl.col("is_churned") & (duration <= 0)).alias("_early"),
        (pl.col("window_complete") & ~pl.col("is_churned") & (duration <= 0)).alias("_no_follow_up"),
    )
    keep = ~(pl.col("_incomplete") | pl.col("_early") | pl.col("_no_follow_up"))
    columns = ["customer_id", "duration", pl.col("is_churned").alias("churned")]
    columns += [c for c in features.columns if c.startswith(("exposed_", "attr_"))]
    data = flagged.filter(keep).select(columns)
    counts = {
        "customers": features.height,
        "window_incomplete": int(flagged["_incomplete"].sum()),
        "churned_in_window": int(flagged["_early"].sum()),
        "no_follow_up": int(flagged["_no_follow_up"].sum()),
        "included": data.height,
        "churned": int(data["churned"].sum()),
    }
    return Landmark(data, window, counts).with_archetypes(archetypes)


def _features_window(features: pl.DataFrame, asked: int | None) -> int:
    """The exposure window the features were built with; ``asked`` must agree with it."""
    if "exposure_window_days" not in features.columns:  # a hand-made table: trust the caller
        return EXPOSURE_WINDOW_DAYS if asked is None else asked
    built = features["exposure_window_days"].unique().drop_nulls().to_list()
    if len(built) > 1 or (asked is not None and built and built[0] != asked):
        raise DataContractError(
            f"The features were built with an exposure window of {built} days, but the landmark was "
            f"asked at {asked} days: the exposures would not match the landmark. Leave "
            "exposure_window_days out to use the features' own window, or build the features again "
            "with the window you want."
        )
    return int(built[0]) if built else (EXPOSURE_WINDOW_DAYS if asked is None else asked)


# -- Kaplan–Meier --------------------------------------------------------------------------


@dataclass(repr=False, eq=False)
class RetentionCurves(Result):
    """Kaplan–Meier retention per group, with the log-rank test: ``summary`` is retention at
    30, 90 and ``horizon_days`` days after the landmark, with 95% intervals and n."""

    fitters: dict[str, KaplanMeierFitter] = field(default_factory=dict)
    p_value: float | None = None
    by: str = "all"
    since: str = "the end of the exposure window"  # the time origin, for the plot's axis

    def at(self, days=(30, 90, HORIZON_DAYS)) -> pl.DataFrame:
        """Retention at each of ``days`` per group (empty past a group's longest follow-up)."""
        return retention_at(self.fitters, days=days)

    def _describe(self) -> str:
        word = {"archetype_name": "archetype", "all": "group"}.get(self.by, "group")
        test = f"p = {self.p_value:.2g}" if self.p_value is not None else f"one {word} only"
        groups = ", ".join(self.fitters)
        return (
            f"Kaplan–Meier retention of {self.counts['customers']:,} customers ({groups}). "
            f"Log-rank test: {test}."
        )

    def _plot(self, ax=None, **kwargs):
        from cxlab.plotting import plot_retention_curves

        kwargs.setdefault("xlabel", f"days after {self.since}")
        return plot_retention_curves(self.fitters, title=self.title, ax=ax, **kwargs)

    def _figure(self, **kwargs):
        from cxlab.interactive import retention_curves

        return retention_curves(
            self.fitters, title=self.title, xlabel=kwargs.get("xlabel", f"days after {self.since}")
        )


def retention_curves(
    landmark: Landmark | pl.DataFrame,
    by: str = "all",
    *,
    horizon_days: int = HORIZON_DAYS,
    title: str = "",
) -> RetentionCurves:
    """Kaplan–Meier retention per group of ``by`` (``"all"``: everyone together).

    Parameters
    ----------
    landmark : Landmark or polars.DataFrame
        A :class:`Landmark`, or any frame with ``duration`` and ``churned``.
    by : str, default "all"
        The column whose groups get a curve each; the log-rank test compares them.
    horizon_days : int
        The last of the days (30, 90, ``horizon_days``) at which ``summary`` reads retention.
    title : str
        The plot's title.

    Returns
    -------
    RetentionCurves
        Not estimable when nobody is in the data or nobody churned.

    Examples
    --------
    >>> import polars as pl
    >>> from cxlab import retention
    >>> data = pl.DataFrame({"duration": [5, 8, 12, 20], "churned": [True, False, True, False]})
    >>> curves = retention.retention_curves(data, horizon_days=10)
    >>> curves.summary["retention"].round(2).to_list()  # at 30, 90, 10 days; 30 and 90 unobserved
    [None, None, 0.75]
    >>> curves.at(days=(6,))["retention"].round(2).to_list()
    [0.75]
    """
    frame = landmark.data if isinstance(landmark, Landmark) else landmark
    window = landmark.exposure_window_days if isinstance(landmark, Landmark) else None
    if by == "all" and by not in frame.columns:
        frame = frame.with_columns(pl.lit("all customers").alias("all"))
    if frame.height == 0:
        reason = landmark.no_churn_reason if isinstance(landmark, Landmark) else "nobody to follow"
        return RetentionCurves.not_estimable(reason, _curve_frame(None, window), title=title, by=by)
    if by not in frame.columns:
        reason = f"there is no '{by}' to compare groups by in this data"
        return RetentionCurves.not_estimable(reason, _curve_frame(None, window), title=title, by=by)
    data = frame.select("duration", "churned", pl.col(by).cast(pl.String)).drop_nulls(by).to_pandas()
    fitters = {
        str(group): KaplanMeierFitter(label=str(group)).fit(rows["duration"], rows["churned"])
        for group, rows in data.groupby(by, sort=True)
    }
    p_value = None
    if len(fitters) >= 2:
        p_value = float(multivariate_logrank_test(data["duration"], data[by], data["churned"]).p_value)
    table = _curve_frame(retention_at(fitters, days=(30, 90, horizon_days)), window)
    counts = {"customers": len(data), "churned": int(data["churned"].sum()), "groups": len(fitters)}
    return RetentionCurves(table, counts, None, title, fitters=fitters, p_value=p_value, by=by)


def archetype_retention(
    features: pl.DataFrame, archetypes: pl.DataFrame, *, step_days: int = 15, max_days: int = 360
) -> RetentionCurves:
    """Kaplan–Meier retention *since signup* of each archetype, every ``step_days`` days up
    to ``max_days``: a description of the archetypes (whose whole histories define them), not
    an effect of anything; ``archetype_retention.csv``.

    Parameters
    ----------
    features : polars.DataFrame
        From :func:`cxlab.build_features` (``observed_days``, ``is_churned``).
    archetypes : polars.DataFrame
        ``customer_id``, ``archetype_name``.
    step_days, max_days : int
        The days at which retention is read.

    Returns
    -------
    RetentionCurves
        ``summary``: ``group`` (the archetype), ``days``, ``n_at_start``, ``retention``,
        ``ci_low``, ``ci_high``.

    Examples
    --------
    >>> import polars as pl
    >>> features = pl.DataFrame({"customer_id": ["a", "b", "c"], "observed_days": [10.0, 40.0, 50.0],
    ...                          "is_churned": [True, False, True]})
    >>> names = pl.DataFrame({"customer_id": ["a", "b", "c"], "archetype_name": ["X", "X", "Y"]})
    >>> archetype_retention(features, names, step_days=30, max_days=30).summary["retention"].to_list()
    [0.5, 1.0]
    """
    # whole days (rounded up), as the landmark's durations and the days read: at a million
    # customers the fits and the log-rank test take 0.9 s instead of 3.2 s on 990k distinct
    # times; an event and a censoring on the same day then count both at risk (0.03 points)
    duration = pl.col("observed_days").ceil().alias("duration")
    data = features.join(archetypes.select("customer_id", "archetype_name"), on="customer_id").select(
        duration, pl.col("is_churned").alias("churned"), "archetype_name"
    )
    curves = retention_curves(data, "archetype_name", title="Retention since signup, by archetype")
    curves.since = "signup"
    grid = tuple(range(step_days, max_days + 1, step_days))
    curves.summary = _curve_frame(curves.at(days=grid) if curves.fitters else None, None)
    return curves


def _curve_frame(frame: pl.DataFrame | None, window: int | None) -> pl.DataFrame:
    """Retention-at rows (none when ``frame`` is None) with the window they were computed at."""
    frame = pl.DataFrame(schema=_CURVE_SCHEMA) if frame is None else frame
    return frame.with_columns(pl.lit(window, pl.Int64).alias("exposure_window_days"))


_CURVE_SCHEMA = {"group": pl.String, "days": pl.Int64, "n_at_start": pl.Int64} | {
    c: pl.Float64 for c in ("retention", "ci_low", "ci_high")
}


def exposure_curves(
    landmark: Landmark, touchpoint: str, *, horizon_days: int = HORIZON_DAYS
) -> RetentionCurves:
    """Unadjusted Kaplan–Meier retention of customers who did and did not use ``touchpoint``
    in the exposure window (``touchpoint`` empty: not estimable, nothing chosen)."""
    title = f"Retention by use of {touchpoint.replace('_', ' ')} in the window (unadjusted)"
    if not touchpoint or f"exposed_{touchpoint}" not in landmark.data.columns:
        reason = f"no touchpoint '{touchpoint}' among the exposures" if touchpoint else "no effect to show"
        return RetentionCurves.not_estimable(reason, _curve_frame(None, None), title=title)
    name = touchpoint.replace("_", " ")
    used = pl.when(f"exposed_{touchpoint}").then(pl.lit(f"used {name}"))
    used = used.otherwise(pl.lit(f"did not use {name}"))
    labelled = replace(landmark, data=landmark.data.with_columns(used.alias("use")))  # words, not true/false
    return retention_curves(labelled, "use", horizon_days=horizon_days, title=title)


def retention_at(fitters, days=(30, 90, HORIZON_DAYS)) -> pl.DataFrame:
    """Retention at each of ``days`` after the landmark per group, with its 95% interval
    (empty past a group's longest follow-up). ``fitters``: :class:`RetentionCurves` or a
    dict of fitted ``KaplanMeierFitter``."""
    if isinstance(fitters, RetentionCurves):
        fitters = fitters.fitters
    rows = []
    for group, kmf in fitters.items():
        band = kmf.confidence_interval_survival_function_
        for t in days:
            observed = t <= kmf.timeline.max()
            at = band.loc[:t].iloc[-1].to_numpy() if observed else [None, None]
            rows.append(
                {
                    "group": group,
                    "days": t,
                    "n_at_start": int(kmf.event_table["at_risk"].iloc[0]),
                    "retention": float(kmf.survival_function_at_times(t).iloc[0]) if observed else None,
                    "ci_low": float(at[0]) if observed else None,
                    "ci_high": float(at[1]) if observed else None,
                }
            )
    return pl.DataFrame(rows, schema=_CURVE_SCHEMA)


# -- Cox model -----------------------------------------------------------------------------


@dataclass(repr=False, eq=False)
class HazardRatios(Result):
    """Adjusted hazard ratios of churn after the landmark (``cox_hr`` rows), the fitted Cox
    model and its design matrix; ``fitted`` lists the exposures that have an estimate."""

    model: CoxPHFitter | None = None
    design: pd.DataFrame | None = None
    fitted: list[str] = field(default_factory=list)

    def _describe(self) -> str:
        n = len(self.fitted)
        return (
            f"Cox model of churn after the landmark on {self.counts['included']:,} customers "
            f"({self.counts['churned']:,} churned), {n} touchpoint exposures estimated. "
            + describe_ph_check(self.summary)
        )

    def _plot(self, ax=None, **kwargs):
        from cxlab.plotting import plot_hazard_ratios

        return plot_hazard_ratios(self.summary, ax=ax, **kwargs)


def touchpoint_hazard_ratios(
    landmark: Landmark,
    *,
    min_exposed: int = MIN_EXPOSED,
    segment: str = "all",
    adjust_for_archetype: bool = True,
    penalizer: float = 0.0,
    check_ph: bool = True,
) -> HazardRatios:
    """Hazard ratio of churn after the landmark for each touchpoint exposure.

    Parameters
    ----------
    landmark : Landmark
        From :func:`landmark_data`.
    min_exposed : int
        Exposures with fewer exposed or unexposed customers are listed as not estimable.
    segment : str
        The ``segment`` written on every row.
    adjust_for_archetype : bool
        Adjust for the archetype (reference: the largest) as well as the other exposures and
        the customer attributes (reference: each one's most common level).
    penalizer : float
        lifelines' ridge penalty, for data where the model does not converge.
    check_ph : bool
        Test proportional hazards (``ph_p_value``); False leaves it empty, for refits that
        only compare estimates (the test takes most of a fit's time at 20,000 customers).

    Returns
    -------
    HazardRatios
        Not estimable (every row saying why) when nobody churned after the landmark or no
        exposure has enough exposed and unexposed customers.

    Examples
    --------
    >>> import cxlab
    >>> from cxlab import retention
    >>> from cxlab.synthetic import make_journeys
    >>> features = cxlab.build_features(make_journeys(2_000, random_state=0).load())
    >>> cox = retention.touchpoint_hazard_ratios(retention.landmark_data(features), min_exposed=50)
    >>> cox.estimable, list(cox.summary.columns[:4])
    (True, ['touchpoint', 'method', 'segment', 'estimate'])
    """
    data = landmark.data
    title = "Adjusted hazard ratios"
    if data.height == 0:
        empty = impact_frame([], exposure_window_days=landmark.exposure_window_days)
        return HazardRatios.not_estimable(
            landmark.no_churn_reason, empty, counts={"included": 0}, title=title
        )
    counts = {c: int(data[c].sum()) for c in landmark.exposures}
    estimable = [c for c, n in counts.items() if min(n, data.height - n) >= min_exposed]
    notes = {
        c: f"not estimable: {n:,} exposed and {data.height - n:,} unexposed, below min_exposed={min_exposed}"
        for c, n in counts.items()
        if c not in estimable
    }
    model = design = None
    ph = {}
    reason = landmark.no_churn_reason
    if reason is not None and data.height:
        notes = {c: "not estimable: nobody churned after the landmark" for c in counts}
        estimable = []
    if estimable:
        design = _design(data, estimable, adjust_for_archetype=adjust_for_archetype)
        redundant = _redundant_columns(design.drop(columns=["duration", "churned"]), min_exposed)
        notes |= {c: _collinear_note(breaking, min_exposed) for c, breaking in redundant.items()}
        estimable = [c for c in estimable if c not in redundant]
        design = design.drop(columns=list(redundant))
        progress.report(f"Cox model ({segment}): {len(design):,} customers, {design.shape[1] - 2} covariates")
        model = _fit_cox(design, penalizer)
        if model is None:
            notes |= {c: "not estimable: " + NO_CONVERGENCE for c in estimable}
            estimable = []
        elif check_ph:
            ph = _ph_p_values(model, design)
    rows = []
    estimates = model.summary if estimable else None  # lifelines builds it anew on every access
    for column, n in counts.items():
        row = {"touchpoint": column.removeprefix("exposed_"), "method": "cox_hr", "segment": segment}
        row |= {"n_exposed": n, "n_unexposed": data.height - n, "note": notes.get(column, "")}
        if column in estimable:
            s = estimates.loc[column]
            row |= {"estimate": s["exp(coef)"], "ci_low": s["exp(coef) lower 95%"]}
            row |= {"ci_high": s["exp(coef) upper 95%"], "p_value": s["p"], "ph_p_value": ph.get(column)}
        rows.append(row)
    if not counts and reason is None:
        reason = "no touchpoint was used in the exposure window; it needs touchpoint events in the window"
    elif not estimable and reason is None:
        reason = f"no touchpoint exposure could be estimated (min_exposed={min_exposed}; see each row's note)"
    table = impact_frame(rows, exposure_window_days=landmark.exposure_window_days)
    common = landmark.counts.get("churned", 0) > COMMON_OUTCOME * max(data.height, 1)
    table = with_q_values(_with_e_values(table, common=common))
    result_counts = {"included": data.height, "churned": landmark.counts.get("churned", 0)}
    return HazardRatios(table, result_counts, reason, title, model=model, design=design, fitted=estimable)


def _with_e_values(table: pl.DataFrame, *, common: bool) -> pl.DataFrame:
    """``e_value`` and ``e_value_ci`` of the hazard ratios in ``table``."""
    return table.with_columns(e_values(table["estimate"], table["ci_low"], table["ci_high"], common=common))


def impact_frame(
    rows: list[dict], *, exposure_window_days: int | None = None, horizon_days: int | None = None
) -> pl.DataFrame:
    """Rows in the columns and types of ``touchpoint_impact.csv``, with the settings they were
    computed with on every row."""
    settings = {"exposure_window_days": exposure_window_days, "horizon_days": horizon_days}
    frame = pl.DataFrame(rows, schema=OUTPUT_TABLES["touchpoint_impact.csv"].columns)
    return frame.with_columns(pl.lit(v, pl.Int64).alias(c) for c, v in settings.items())


def _design(data: pl.DataFrame, exposures: list[str], *, adjust_for_archetype: bool) -> pd.DataFrame:
    """Numeric design: exposures as 0/1, categoricals as indicators against a named reference."""
    parts = [data.select("duration", pl.col("churned").cast(pl.Int8), pl.col(exposures).cast(pl.Int8))]
    categoricals = [c for c in data.columns if c.startswith("attr_")]
    if adjust_for_archetype and "archetype_name" in data.columns:
        categoricals.append("archetype_name")
    for column in categoricals:
        values = data[column].cast(pl.String).fill_null("(missing)")
        levels = values.value_counts(sort=True)[column].to_list()
        if 1 < len(levels) <= MAX_LEVELS:
            reference, others = levels[0], sorted(levels[1:])
            label = column.removeprefix("attr_")
            parts.append(
                pl.DataFrame({f"{label}={v} (vs {reference})": (values == v).cast(pl.Int8) for v in others})
            )
    return pl.concat(parts, how="horizontal").cast(pl.Float64).to_pandas()


def _redundant_columns(covariates: pd.DataFrame, min_rows: int) -> dict[str, int]:
    """Columns the earlier ones determine, each with how many customers break the pattern.

    A column is redundant when a linear combination of the earlier columns kept (once centred:
    a Cox model has no intercept) explains most of its variance and predicts it to within a
    half for every customer but fewer than ``min_rows``. Exactly collinear columns (exposures
    that every customer has exactly one of) have none. When a few break it, the effects of the
    column and of those it is nearly collinear with rest on those few alone: in one archetype
    of the 1M benchmark, the 32 customers who bought in the app (too few for an app effect of
    its own) made four purchase touchpoints "halve churn" (hazard ratios 0.43, q = 0.003).
    Counted on every customer: a sample can miss the few (the 20,000 used before did)."""
    X = covariates.to_numpy(np.float64)
    mean = X.mean(axis=0)
    cov = X.T @ X / max(len(X), 1) - np.outer(mean, mean)
    kept, redundant = [], {}
    for i, column in enumerate(covariates.columns):
        b = np.zeros(len(mean))
        if kept:
            b[kept] = np.linalg.lstsq(cov[np.ix_(kept, kept)], cov[kept, i], rcond=None)[0]
        # Below half its variance explained, the others do not determine it: a rare column is just rare.
        if cov[i, i] > 1e-12 and b @ cov[:, i] < 0.5 * cov[i, i]:
            kept.append(i)
            continue
        predicted = X @ b + (mean[i] - mean @ b)
        breaking = int(np.count_nonzero(np.abs(X[:, i] - predicted) > 0.5))  # 0/1: off by more than rounding
        if breaking >= min_rows:
            kept.append(i)
        else:
            redundant[column] = breaking
    return redundant


def _collinear_note(breaking: int, min_rows: int) -> str:
    if not breaking:
        return "not estimable: determined by the other columns (collinear)"
    return (
        f"not estimable: determined by the other columns for all but {breaking:,} "
        f"customer{'s' if breaking > 1 else ''} "
        f"(collinear; fewer than min_exposed={min_rows} break the pattern)"
    )


NO_CONVERGENCE = (
    "The Cox model did not converge, usually because an exposure or attribute level (almost) "
    "always or never goes with churn, or two of them (almost) always occur together. Remedy: "
    "raise min_exposed, or pass a small penalizer (for example 0.01)."
)


def _fit_cox(design: pd.DataFrame, penalizer: float) -> CoxPHFitter | None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            model = CoxPHFitter(penalizer=penalizer).fit(design, "duration", "churned")
        except ConvergenceError as error:
            warnings.warn(
                f"{NO_CONVERGENCE} lifelines said: {str(error).splitlines()[0]}", ImpactWarning, stacklevel=3
            )
            return None
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            warnings.warn(
                f"The Cox model fitted with a problem ({str(warning.message).splitlines()[0]}); "
                "intervals of the named columns may be unreliable. Remedy: raise min_exposed or "
                "pass a small penalizer (for example 0.01).",
                ImpactWarning,
                stacklevel=3,
            )
    return model


# 20,000 customers hold 1,000 churn events even at 5% churn, enough for a diagnostic whose job
# is to flag effects that clearly change over follow-up; on a million it would flag changes too
# small to matter, and the sample's refit costs less than a second.
PH_CHECK_ROWS = 20_000


def _ph_p_values(model: CoxPHFitter, design: pd.DataFrame, max_rows: int = PH_CHECK_ROWS) -> dict[str, float]:
    """Proportional-hazards test (Schoenfeld residuals against time rank) per covariate;
    on a sample of ``max_rows`` for large data. A small p-value means the effect changes
    over time: read its hazard ratio as an average over follow-up."""
    sample = design if len(design) <= max_rows else design.sample(max_rows, random_state=0)
    refit = (
        model
        if sample is design
        else CoxPHFitter(penalizer=model.penalizer).fit(sample, "duration", "churned")
    )
    residuals = scaled_schoenfeld(refit, sample)  # lifelines' own are quadratic in the rows
    result = proportional_hazard_test(refit, sample, time_transform="rank", precomputed_residuals=residuals)
    return result.summary["p"].to_dict()


# -- retention difference ------------------------------------------------------------------


@dataclass(repr=False, eq=False)
class RetentionDifference(Result):
    """Adjusted retention difference at the horizon (``retention_diff`` rows)."""

    exposure_window_days: int = EXPOSURE_WINDOW_DAYS
    horizon_days: int = HORIZON_DAYS

    def _describe(self) -> str:
        sentences = describe_differences(
            self.summary, exposure_window_days=self.exposure_window_days, horizon_days=self.horizon_days
        )
        return " ".join(sentences)

    def _plot(self, ax=None, **kwargs):
        from cxlab.plotting import plot_retention_difference

        return plot_retention_difference(self.summary, ax=ax, **kwargs)

    def _figure(self, **kwargs):
        from cxlab.interactive import retention_effects

        return retention_effects(self.summary)


def retention_difference(
    cox: HazardRatios, *, horizon_days: int = HORIZON_DAYS, segment: str = "all"
) -> RetentionDifference:
    """Adjusted difference in retention at ``horizon_days`` after the landmark, exposed minus
    unexposed, standardised over the population (g-computation): everyone's predicted
    retention with the exposure set to 1, minus with it set to 0, averaged.

    The 95% interval is normal, with a delta-method standard error that counts the
    uncertainty of the coefficients, of the baseline hazard and of the customers averaged
    over (:mod:`cxlab.standardized`); it agrees with a bootstrap of the whole fit and costs
    one pass over the data instead of dozens of refits.

    Parameters
    ----------
    cox : HazardRatios
        From :func:`touchpoint_hazard_ratios`; not estimable there means not estimable here.
    horizon_days : int
        Days after the landmark at which retention is compared.
    segment : str
        The ``segment`` written on every row.

    Returns
    -------
    RetentionDifference

    Examples
    --------
    >>> import cxlab
    >>> from cxlab import retention
    >>> from cxlab.synthetic import make_journeys
    >>> features = cxlab.build_features(make_journeys(2_000, random_state=0).load())
    >>> cox = retention.touchpoint_hazard_ratios(retention.landmark_data(features))
    >>> difference = retention.retention_difference(cox)
    >>> difference.summary["method"].unique().to_list()
    ['retention_diff']
    """
    # The difference is zero exactly when the hazard ratio is one: its test (p and q) is the Cox
    # model's, the same test the interval would give only approximately.
    rows = [
        {k: r[k] for k in ("touchpoint", "n_exposed", "n_unexposed", "note", "p_value", "q_value")}
        for r in cox.summary.iter_rows(named=True)
    ]
    found = retention_differences(cox.model, cox.design, cox.fitted, horizon_days) if cox.fitted else {}
    for row in rows:
        column = f"exposed_{row['touchpoint']}"
        row |= {"method": "retention_diff", "segment": segment}
        if column in found:
            estimate, se = found[column]
            row |= {"estimate": estimate, "ci_low": estimate - 1.96 * se, "ci_high": estimate + 1.96 * se}
    window = window_of(cox.summary)
    table = impact_frame(rows, exposure_window_days=window, horizon_days=horizon_days)
    return RetentionDifference(
        table,
        cox.counts,
        cox.reason,
        f"Adjusted retention difference {horizon_days} days after the landmark",
        exposure_window_days=window,
        horizon_days=horizon_days,
    )


def window_of(table: pl.DataFrame) -> int:
    """The exposure window rows of ``touchpoint_impact.csv`` were computed with (the default
    when no row says)."""
    windows = table["exposure_window_days"].drop_nulls()
    return int(windows[0]) if len(windows) else EXPOSURE_WINDOW_DAYS


@dataclass(repr=False, eq=False)
class ArchetypeEffects(Result):
    """``cox_hr`` rows within each archetype (``segment`` = its name)."""

    def _describe(self) -> str:
        estimated = self.summary.filter(pl.col("estimate").is_not_null())
        return (
            f"Hazard ratios within {estimated['segment'].n_unique()} of {self.counts['archetypes']} "
            f"archetypes ({estimated.height} touchpoint estimates); the others had too few customers."
        )

    def _plot(self, ax=None, **kwargs):
        from cxlab.plotting import plot_effects_by_segment

        return plot_effects_by_segment(self.summary, ax=ax, **kwargs)

    def _repr_html_(self) -> str:
        if not self.estimable:
            return super()._repr_html_()
        from cxlab.display import table_html

        wide = self.summary.filter(pl.col("estimate").is_not_null()).pivot(
            on="segment", index="touchpoint", values="estimate"
        )
        return f"<p>{html.escape(self.describe())}</p>" + table_html(wide)


def effects_by_archetype(
    landmark: Landmark, *, min_exposed: int = MIN_EXPOSED, penalizer: float = 0.0
) -> ArchetypeEffects:
    """``cox_hr`` rows within each archetype (``segment`` = its name), adjusted for the other
    exposures and the attributes; touchpoints too rare within an archetype say so in ``note``.

    Parameters
    ----------
    landmark : Landmark
        :func:`landmark_data` of features joined with ``archetype_name``.
    min_exposed : int
        Touchpoints with fewer exposed customers (or churners among them) in an archetype are
        not estimated there.
    penalizer : float, default 0.0
        Ridge penalty of lifelines' ``CoxPHFitter``.

    Returns
    -------
    ArchetypeEffects

    Examples
    --------
    >>> from cxlab import retention
    >>> from cxlab.retention import Landmark
    >>> import polars as pl
    >>> empty = Landmark(pl.DataFrame({"duration": [], "churned": []}), 30)
    >>> retention.effects_by_archetype(empty).describe()
    'Not estimable: the customers have no archetype at the landmark; it needs touchpoint events to cluster.'
    """
    reason = landmark.no_churn_reason
    if "archetype_name" not in landmark.data.columns:
        reason = "the customers have no archetype at the landmark; it needs touchpoint events to cluster"
    empty = impact_frame([], exposure_window_days=landmark.exposure_window_days)
    if reason is not None:
        return ArchetypeEffects.not_estimable(reason, empty, title="Hazard ratios within each archetype")
    tables = []
    names = sorted(landmark.data["archetype_name"].drop_nulls().unique().to_list())
    for name in names:
        subset = landmark.data.filter(pl.col("archetype_name") == name).drop("archetype_name")
        churned = int(subset["churned"].sum())
        part = Landmark(subset, landmark.exposure_window_days, {"churned": churned})
        cox = touchpoint_hazard_ratios(part, min_exposed=min_exposed, segment=name, penalizer=penalizer)
        tables.append(cox.summary)
    table = with_q_values(pl.concat([empty, *tables]))  # every archetype's rows: one family
    reason = None
    if table["estimate"].is_null().all():
        reason = "no archetype has enough customers for its own estimates"
    return ArchetypeEffects(table, {"archetypes": len(names)}, reason, "Hazard ratios within each archetype")


@dataclass(repr=False, eq=False)
class ArchetypeSensitivity(Result):
    """The all-customer hazard ratios refitted with other archetype choices (``variant``),
    and per touchpoint whether its sign or significance depends on the choice."""

    def flags(self) -> pl.DataFrame:
        """``touchpoint``, ``archetype_sensitive`` (empty when not estimable)."""
        return self.summary.group_by("touchpoint").agg(pl.col("sensitive").any().alias("archetype_sensitive"))

    def _describe(self) -> str:
        flagged = self.flags().filter("archetype_sensitive")["touchpoint"].sort().to_list()
        variants = ", ".join(self.summary["variant"].unique(maintain_order=True).to_list())
        which = ", ".join(t.replace("_", " ") for t in flagged) or "none"
        return f"Refitted with {variants}. Touchpoints whose sign or significance changes: {which}."


def archetype_sensitivity(
    landmark: Landmark,
    alternatives: dict[str, pl.DataFrame | None],
    reference: HazardRatios,
    *,
    min_exposed: int = MIN_EXPOSED,
    penalizer: float = 0.0,
) -> ArchetypeSensitivity:
    """Refit :func:`touchpoint_hazard_ratios` for all customers with each of ``alternatives``
    (archetype tables, or None for no archetypes) and compare with ``reference``.

    A touchpoint is ``sensitive`` under a variant when its hazard ratio points the other way, or
    is significant (q < 0.05) in one fit and not in the other: then the finding rests on how
    many archetypes were chosen, and the leadership page does not claim it.

    Parameters
    ----------
    landmark : Landmark
        From :func:`landmark_data`; its archetypes, if any, are replaced by each alternative.
    alternatives : dict
        Variant name -> ``customer_id``, ``archetype_name`` table, or None.
    reference : HazardRatios
        The fit being checked.
    min_exposed, penalizer
        As in :func:`touchpoint_hazard_ratios`.

    Returns
    -------
    ArchetypeSensitivity
        ``summary``: ``variant``, ``touchpoint``, ``estimate``, ``ci_low``, ``ci_high``,
        ``q_value``, ``sensitive``.

    Examples
    --------
    >>> import cxlab
    >>> from cxlab import retention
    >>> from cxlab.synthetic import make_journeys
    >>> features = cxlab.build_features(make_journeys(2_000, random_state=0).load())
    >>> landmark = retention.landmark_data(features)
    >>> cox = retention.touchpoint_hazard_ratios(landmark)
    >>> check = retention.archetype_sensitivity(landmark, {"no archetypes": None}, cox)
    >>> check.summary["variant"].unique().to_list()
    ['no archetypes']
    """
    base = reference.summary.select(
        "touchpoint", pl.col("estimate").alias("_ref"), pl.col("q_value").alias("_q")
    )
    parts = []
    for variant, archetypes in alternatives.items():
        refit = touchpoint_hazard_ratios(
            landmark.with_archetypes(archetypes), min_exposed=min_exposed, penalizer=penalizer, check_ph=False
        ).summary
        parts.append(
            refit.select(
                pl.lit(variant).alias("variant"), "touchpoint", "estimate", "ci_low", "ci_high", "q_value"
            )
        )
    table = (
        pl.concat(parts)
        .join(base, on="touchpoint", how="inner")
        .filter(pl.col("estimate").is_not_null(), pl.col("_ref").is_not_null())
    )
    flipped = (pl.col("estimate").log().sign() != pl.col("_ref").log().sign()) & (
        (pl.col("q_value") < Q_LEVEL) | (pl.col("_q") < Q_LEVEL)
    )
    significance = (pl.col("q_value") < Q_LEVEL) != (pl.col("_q") < Q_LEVEL)
    table = table.with_columns((flipped | significance).alias("sensitive")).drop("_ref", "_q")
    title = "Hazard ratios with other archetype choices"
    if table.is_empty():
        return ArchetypeSensitivity.not_estimable(
            reference.reason or "no hazard ratio to compare", table, title=title
        )
    return ArchetypeSensitivity(table, {"variants": len(alternatives)}, None, title)


def _e_values_on_differences(table: pl.DataFrame) -> pl.DataFrame:
    """Retention differences carry the E-values of the hazard ratio they are computed from."""
    keys = ["touchpoint", "segment"]
    hazard = table.filter(method="cox_hr").select(*keys, pl.col("e_value", "e_value_ci").name.prefix("_hr_"))
    is_difference = pl.col("method") == "retention_diff"
    return (
        table.join(hazard, on=keys, how="left", maintain_order="left")
        .with_columns(
            pl.when(is_difference).then(f"_hr_{c}").otherwise(c).alias(c) for c in ("e_value", "e_value_ci")
        )
        .drop("_hr_e_value", "_hr_e_value_ci")
    )


# -- plain-language findings ---------------------------------------------------------------


def describe_ph_check(table: pl.DataFrame, *, alpha: float = PH_ALPHA) -> str:
    """One sentence on the proportional-hazards check of ``cox_hr`` rows."""
    drifting = table.filter(pl.col("ph_p_value") < alpha)["touchpoint"].to_list()
    if not drifting:
        return "Proportional-hazards check (Schoenfeld residuals): no effect changes clearly over follow-up."
    return (
        f"Proportional-hazards check (Schoenfeld residuals): the effect of {', '.join(drifting)} changes "
        "over follow-up; read its hazard ratio as an average over time."
    )


_PASSES = (pl.col("q_value") < Q_LEVEL) & ~pl.col("archetype_sensitive").fill_null(False)
"""An effect the page may name: it passes the multiple-testing rule and not only for one archetype choice."""


def describe_differences(
    difference: pl.DataFrame, *, exposure_window_days: int, horizon_days: int, top: int = 3
) -> list[str]:
    """Sentences for the touchpoints whose retention difference is found (q < 0.05 in its
    family, and not ``archetype_sensitive``), helpful ones first, then how many were tested.

    Examples
    --------
    >>> import polars as pl
    >>> rows = pl.DataFrame({"touchpoint": ["live_chat", "billing"], "estimate": [0.04, -0.01],
    ...     "ci_low": [0.02, -0.02], "ci_high": [0.06, -0.001], "q_value": [0.001, 0.2]})
    >>> describe_differences(rows, exposure_window_days=30, horizon_days=180)[-1][:39]
    '1 of 2 touchpoints tested has an effect'
    """
    tested = _with_sensitivity(difference.filter(pl.col("estimate").is_not_null()))
    found = tested.filter(_PASSES)
    named = _largest(found, top)
    sentences = [
        f"Using {r['touchpoint'].replace('_', ' ')} in the first {exposure_window_days} days is associated "
        f"with {100 * r['estimate']:+.1f} points of retention {horizon_days} days later "
        f"(95% CI {100 * r['ci_low']:+.1f} to {100 * r['ci_high']:+.1f})."
        for r in named.iter_rows(named=True)
    ]
    if "e_value_ci" in named.columns and named["e_value_ci"].drop_nulls().len():
        weakest = named.sort("e_value_ci", nulls_last=True).row(0, named=True)
        sentences.append(describe_e_value(weakest["e_value_ci"], weakest["touchpoint"].replace("_", " ")))
    fragile = tested.filter(pl.col("q_value") < Q_LEVEL, pl.col("archetype_sensitive").fill_null(False))
    verb = "has" if found.height == 1 else "have"
    summary = (
        f"{found.height} of {tested.height} touchpoints tested {verb} an effect on retention that passes "
        f"the multiple-testing rule (Benjamini–Hochberg q < {Q_LEVEL:g})"
    )
    if fragile.height:
        names = ", ".join(t.replace("_", " ") for t in fragile["touchpoint"].to_list())
        summary += f"; not claimed because it depends on the number of archetypes: {names}"
    return [*sentences, summary + "."]


def named_effects(difference: pl.DataFrame, *, top: int = 3) -> pl.DataFrame:
    """The effects a page names: the ``top`` largest helpful and then harmful retention
    differences among those with q < 0.05 that are not ``archetype_sensitive``.

    Examples
    --------
    >>> import polars as pl
    >>> rows = pl.DataFrame({"touchpoint": ["a", "b", "c"], "estimate": [0.04, -0.01, 0.02],
    ...     "q_value": [0.001, 0.01, 0.2]})
    >>> named_effects(rows)["touchpoint"].to_list()
    ['a', 'b']
    """
    tested = _with_sensitivity(difference.filter(pl.col("estimate").is_not_null()))
    return _largest(tested.filter(_PASSES), top)


def _largest(found: pl.DataFrame, top: int) -> pl.DataFrame:
    """The ``top`` largest helpful, then harmful, rows of ``found``."""
    return pl.concat(
        found.filter(pl.col("estimate") > 0 if helps else pl.col("estimate") < 0)
        .sort("estimate", descending=helps)
        .head(top)
        for helps in (True, False)
    )


def _with_sensitivity(table: pl.DataFrame) -> pl.DataFrame:
    if "archetype_sensitive" in table.columns:
        return table
    return table.with_columns(pl.lit(None, pl.Boolean).alias("archetype_sensitive"))


def strongest_touchpoint(difference: RetentionDifference | None) -> str:
    """The touchpoint with the largest adjusted retention difference (either sign), or ''."""
    if difference is None or difference.summary["estimate"].is_null().all():
        return ""
    table = difference.summary.drop_nulls("estimate")
    return table.sort(pl.col("estimate").abs(), descending=True)["touchpoint"][0]


def impact_table(
    *results: Result | pl.DataFrame | None, sensitivity: ArchetypeSensitivity | None = None
) -> pl.DataFrame:
    """The ``touchpoint_impact.csv`` table from the parts that could be estimated (maybe none),
    with ``archetype_sensitive`` on the all-customer rows from ``sensitivity``."""
    frames = [r if isinstance(r, pl.DataFrame) else r.summary for r in results if r is not None]
    table = _e_values_on_differences(pl.concat([impact_frame([]), *frames], how="vertical_relaxed"))
    if sensitivity is None or not sensitivity.estimable:
        return table
    flags = sensitivity.flags().rename({"archetype_sensitive": "_flag"})
    overall = pl.col("segment") == "all"
    return (
        table.join(flags, on="touchpoint", how="left", maintain_order="left")
        .with_columns(
            pl.when(overall).then("_flag").otherwise("archetype_sensitive").alias("archetype_sensitive")
        )
        .drop("_flag")
    )

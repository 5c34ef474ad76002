"""Days of retention gained or lost where a hazard ratio would mislead.

When the proportional-hazards check rejects for a touchpoint, its effect changes over
follow-up (a welcome call that helps in the first weeks only, say) and its hazard ratio is an
average that can hide that. The difference in **restricted mean survival time** (RMST) to the
horizon needs no such assumption: how many of the first ``horizon_days`` days after the
landmark an exposed customer stays on average, minus an unexposed one, adjusted like the
hazard ratios. It comes from a Cox model *stratified* by the touchpoint (each group keeps its
own baseline hazard, so no proportionality is assumed for it), standardised over all
customers (g-computation), with a bootstrap interval.

Examples
--------
>>> from cxlab import retention, rmst
>>> import cxlab
>>> from cxlab.synthetic import make_journeys
>>> features = cxlab.build_features(make_journeys(2_000, random_state=0).load())
>>> cox = retention.touchpoint_hazard_ratios(retention.landmark_data(features))
>>> rmst.rmst_differences(cox).describe()[:60]
"Not estimable: no touchpoint's effect changes clearly over f"
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import polars as pl
from lifelines import CoxPHFitter
from lifelines.exceptions import ConvergenceError, ConvergenceWarning
from scipy.stats import norm

from cxlab.config import HORIZON_DAYS, N_BOOTSTRAP, RANDOM_STATE
from cxlab.inference import with_q_values
from cxlab.results import Result
from cxlab.retention import PH_ALPHA, HazardRatios, impact_frame, window_of

RMST_NOTE = "days retained of the first {h} after the landmark, exposed minus unexposed (stratified Cox)"


def rmst_differences(
    cox: HazardRatios,
    *,
    horizon_days: int = HORIZON_DAYS,
    alpha: float = PH_ALPHA,
    n_bootstrap: int = N_BOOTSTRAP,
    bootstrap_sample: int = 5_000,
    random_state: int = RANDOM_STATE,
) -> Result:
    """``rmst_diff`` rows for every touchpoint whose proportional-hazards test has p < ``alpha``.

    Parameters
    ----------
    cox : HazardRatios
        From :func:`cxlab.retention.touchpoint_hazard_ratios`.
    horizon_days : int
        The RMST runs from the landmark to this many days after it.
    alpha : float, default 0.01
        The proportional-hazards p-value below which a touchpoint gets an RMST difference.
    n_bootstrap, bootstrap_sample : int
        The 95% interval is normal, from refits on ``n_bootstrap`` resamples of
        ``bootstrap_sample`` customers (m-out-of-n, scaled by sqrt(m / n)).
    random_state : int
        Seed of the bootstrap.

    Returns
    -------
    Result
        ``summary`` in the ``touchpoint_impact.csv`` columns, ``estimate`` in days; not
        estimable when no touchpoint fails the check (then the hazard ratios suffice).
    """
    drifting = cox.summary.filter(pl.col("ph_p_value") < alpha)["touchpoint"].to_list()
    columns = [f"exposed_{t}" for t in drifting if f"exposed_{t}" in cox.fitted]
    rng = np.random.default_rng(random_state)
    rows = []
    for column in columns:
        point = _rmst_difference(cox.design, column, horizon_days, cox.model.penalizer)
        sd = _bootstrap_sd(
            cox.design, column, horizon_days, cox.model.penalizer, n_bootstrap, bootstrap_sample, rng
        )
        counts = cox.summary.filter(touchpoint=column.removeprefix("exposed_")).row(0, named=True)
        rows.append(
            {"touchpoint": column.removeprefix("exposed_"), "method": "rmst_diff", "segment": "all",
             "estimate": point, "ci_low": point - 1.96 * sd, "ci_high": point + 1.96 * sd,
             "p_value": float(2 * norm.sf(abs(point) / sd)) if sd > 0 else None,
             "n_exposed": counts["n_exposed"], "n_unexposed": counts["n_unexposed"],
             "note": RMST_NOTE.format(h=horizon_days)}
        )  # fmt: skip
    window = window_of(cox.summary)
    table = with_q_values(impact_frame(rows, exposure_window_days=window, horizon_days=horizon_days))
    title = f"Days retained of the first {horizon_days} (where the hazard ratio changes over time)"
    if not rows:
        reason = f"no touchpoint's effect changes clearly over follow-up (proportional-hazards p ≥ {alpha:g})"
        return Result.not_estimable(cox.reason or reason, table, title=title)
    text = "; ".join(
        f"{r['touchpoint'].replace('_', ' ')}: {r['estimate']:+.1f} days (95% CI {r['ci_low']:+.1f} to "
        f"{r['ci_high']:+.1f})"
        for r in table.iter_rows(named=True)
    )
    return Result(table, {"touchpoints": len(rows)}, None, title, text=text + ".")


def _rmst_difference(design: pd.DataFrame, column: str, horizon: int, penalizer: float) -> float:
    """Mean RMST to ``horizon`` with ``column`` set to 1 for everyone, minus set to 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = CoxPHFitter(penalizer=penalizer).fit(design, "duration", "churned", strata=[column])
    covariates = design.drop(columns=["duration", "churned"])
    days = np.arange(horizon)  # durations are whole days: S is constant on [t, t + 1)
    rmst = {}
    for value in (1, 0):
        survival = model.predict_survival_function(covariates.assign(**{column: value}), times=days)
        rmst[value] = float(survival.mean(axis=1).sum())
    return rmst[1] - rmst[0]


def _bootstrap_sd(design, column, horizon, penalizer, n_bootstrap, size, rng) -> float:
    n = len(design)
    m = min(n, size)
    draws = []
    for _ in range(n_bootstrap):
        sample = design.iloc[rng.integers(0, n, m)].reset_index(drop=True)
        varies = (sample.nunique() > 1) | sample.columns.isin(["duration", "churned", column])
        try:
            draws.append(_rmst_difference(sample.loc[:, varies], column, horizon, penalizer))
        except (ConvergenceError, ValueError, KeyError):  # a resample without one of the groups
            continue
    return float(np.std(draws, ddof=1) * np.sqrt(m / n)) if len(draws) >= 2 else float("nan")

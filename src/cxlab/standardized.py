"""Standardised retention differences from a fitted Cox model, with delta-method intervals.

For an exposure column ``j`` the difference at horizon ``h`` is the g-computation

    D = mean_i S(h | x_i with x_ij = 1) - mean_i S(h | x_i with x_ij = 0),
    S(h | x) = exp(-L(h) exp((x - m) b)),

with ``b`` the model's coefficients, ``m`` the covariate means (lifelines centres on them too)
and ``L`` the Breslow baseline cumulative hazard, ``L(h) = sum over event times t <= h of
d(t) / S0(t)``, where ``S0(t)`` sums ``exp((x - m) b)`` over the customers still at risk.

Its variance has three asymptotically independent parts (Tsiatis 1981; Andersen, Borgan,
Gill & Keiding 1993, section VII.2.2):

* the coefficients' sampling variance ``V``, through D's gradient in ``b``, which includes
  ``L``'s own dependence on ``b`` (``dL/db = -q``, ``q = sum d(t) S1(t) / S0(t)^2``);
* the baseline's variance given the coefficients, ``sum d(t) / S0(t)^2``;
* the customers the average is taken over: ``var_i(S1_i - S0_i) / n``.

All three take one pass over the data, where a bootstrap refits the model dozens of times.
Against 200 bootstrap refits of the whole fit (1,500 to 20,000 customers) the standard errors
came within 5-10%; the tests check the intervals' coverage of planted differences.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter


def retention_differences(
    model: CoxPHFitter, design: pd.DataFrame, exposures: list[str], horizon: float
) -> dict[str, tuple[float, float]]:
    """``{exposure: (difference, standard error)}`` at ``horizon``, for 0/1 columns of the
    design ``model`` was fitted on (with its ``duration`` and ``churned`` columns)."""
    names = list(model.params_.index)
    beta = model.params_.to_numpy()
    x = design[names].to_numpy(float)
    centred = x - x.mean(axis=0)
    linear = centred @ beta
    baseline, baseline_var, q = _breslow_at(design, np.exp(linear), centred, horizon)
    variance = model.variance_matrix_.loc[names, names].to_numpy()
    result = {}
    for column in exposures:
        j = names.index(column)
        arms = [_arm(linear, centred, beta, j, x[:, j], value, baseline) for value in (1.0, 0.0)]
        (s1, g1, h1), (s0, g0, h0) = arms
        by_baseline = h1 - h0  # dD/dL
        by_beta = g1 - g0 - by_baseline * q  # dD/db, through L as well
        effect = s1 - s0
        var = by_beta @ variance @ by_beta + by_baseline**2 * baseline_var + effect.var() / len(effect)
        result[column] = (float(effect.mean()), float(np.sqrt(var)))
    return result


def _arm(linear, centred, beta, j, x, value, baseline):
    """Each customer's survival at the horizon with column ``j`` set to ``value``, and the
    gradients of its mean in the coefficients and in the baseline."""
    hazard = np.exp(linear + beta[j] * (value - x))
    survival = np.exp(-baseline * hazard)
    weight = hazard * survival
    by_beta = -baseline * (centred.T @ weight) / len(weight)
    by_beta[j] = -baseline * np.mean(weight) * (value - x.mean())
    return survival, by_beta, -float(np.mean(weight))


def _breslow_at(design: pd.DataFrame, risk: np.ndarray, centred: np.ndarray, horizon: float):
    """``L(h)``, its variance given the coefficients, and ``q = -dL/db``."""
    duration = design["duration"].to_numpy(float)
    churned = design["churned"].to_numpy(bool)
    order = np.argsort(duration, kind="stable")
    at_risk = np.cumsum(risk[order][::-1])[::-1]  # S0 at each sorted row's time
    times, first = np.unique(duration[order], return_index=True)
    s0 = at_risk[first]  # a tie's first row sees the whole tie at risk
    events = np.bincount(np.searchsorted(times, duration[churned]), minlength=len(times))
    counted = np.where(times <= horizon, events, 0)
    weight = counted / s0**2
    # q = sum_t weight(t) S1(t) = sum_i risk_i centred_i * (sum of weight(t) over t <= duration_i)
    upto = np.cumsum(weight)[np.searchsorted(times, duration, side="right") - 1]
    return float(np.sum(counted / s0)), float(weight.sum()), centred.T @ (risk * upto)

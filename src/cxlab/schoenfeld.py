"""Scaled Schoenfeld residuals of a fitted lifelines Cox model, in one vectorised pass.

lifelines' own (``CoxPHFitter.compute_residuals(kind="scaled_schoenfeld")``) grows its array
one row at a time, in time quadratic in the rows: 1.8 s of a 2.8 s Cox step at 19,000
customers and 25 covariates. These are the same residuals (Efron's handling of tied times, as
lifelines fits; equal to lifelines' to 1e-12 in the tests), for lifelines' own
``proportional_hazard_test`` through its ``precomputed_residuals``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter


def scaled_schoenfeld(model: CoxPHFitter, design: pd.DataFrame) -> pd.DataFrame:
    """One row per event of the data ``model`` was fitted on (``design``, by index), in the
    model's order of events, one column per coefficient."""
    names = list(model.params_.index)
    durations = model.durations.to_numpy(float)
    events = model.event_observed.to_numpy(bool)
    order = np.argsort(durations, kind="stable")
    x = design.loc[model.durations.index, names].to_numpy(float)[order]
    x -= x.mean(axis=0)  # the residuals do not change; the exponentials stay in range
    event = events[order]
    _, first, group = np.unique(durations[order], return_index=True, return_inverse=True)
    mean = _efron_means(x, np.exp(x @ model.params_.to_numpy()), event, first, group)
    residuals = np.zeros_like(x)
    residuals[event] = x[event] - mean[group[event]]
    scaled = event.sum() * residuals @ model.variance_matrix_.loc[names, names].to_numpy()
    in_model_order = np.empty_like(scaled)
    in_model_order[order] = scaled
    return pd.DataFrame(in_model_order[events], columns=names, index=model.durations.index[events])


def _efron_means(x, risk, event, first, group) -> np.ndarray:
    """Per distinct time (rows sorted by time; ``first`` row of each, ``group`` of each row),
    the risk-weighted mean covariates of those at risk, averaged as Efron does over the tied
    deaths: the l-th of m sees the risk set less l/m of the tied deaths' weight."""
    n_times, risk_x = len(first), risk[:, None] * x
    at_risk = np.cumsum(risk[::-1])[::-1][first]
    at_risk_x = np.cumsum(risk_x[::-1], axis=0)[::-1][first]
    g = group[event]  # sorted: rows are in time order
    deaths = np.bincount(g, minlength=n_times)
    tied = np.bincount(g, weights=risk[event], minlength=n_times)
    tied_x = _sum_by(g, risk_x[event], n_times)
    share = (np.arange(len(g)) - np.searchsorted(g, g)) / deaths[g]  # l / m of each death
    terms = (at_risk_x[g] - share[:, None] * tied_x[g]) / (at_risk[g] - share * tied[g])[:, None]
    return _sum_by(g, terms / deaths[g][:, None], n_times)


def _sum_by(group: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    return np.stack([np.bincount(group, weights=v, minlength=n) for v in values.T], axis=1)

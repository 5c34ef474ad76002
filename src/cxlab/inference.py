"""Reading many effects honestly: multiplicity control and sensitivity to unmeasured confounding.

* :func:`q_values`: Benjamini–Hochberg adjusted p-values (scipy's
  ``false_discovery_control``) over one *family* of tests. An effect with q < 0.05 is one
  of a set in which at most 5% of the claimed effects are expected to be null.
* :func:`e_values`: the E-value of a hazard ratio and of its confidence limit nearest 1
  (VanderWeele & Ding, 2017): how strongly an unmeasured factor would have to be associated
  with both the exposure and churn (as a risk ratio) to explain the estimate away.

Examples
--------
>>> import polars as pl
>>> from cxlab.inference import e_values, q_values
>>> q_values(pl.Series([0.01, 0.04, 0.03, 0.2])).round(4).to_list()
[0.04, 0.0533, 0.0533, 0.2]
>>> point, limit = e_values(pl.Series([0.5]), pl.Series([0.4]), pl.Series([0.9]), common=False)
>>> round(point[0], 2), round(limit[0], 2)
(3.41, 1.46)
"""

from __future__ import annotations

import numpy as np
import polars as pl

# scipy.stats (1-2 s to import) is imported by the functions that compute p- and q-values: the
# leadership summary and the runs index import this module for Q_LEVEL alone.

Q_LEVEL = 0.05
"""Effects with a Benjamini–Hochberg q-value below this are reported as found."""

COMMON_OUTCOME = 0.15
"""Above this share of churn, a hazard ratio is not a risk ratio: the E-value converts it first."""


def q_values(p_values: pl.Series) -> pl.Series:
    """Benjamini–Hochberg q-values of ``p_values`` as one family; nulls stay null and are not
    counted as tests.

    Parameters
    ----------
    p_values : polars.Series
        The p-values of one family of tests (nulls allowed).

    Returns
    -------
    polars.Series
        Float64, same length and order.

    Examples
    --------
    >>> q_values(pl.Series([0.01, None, 0.02])).to_list()
    [0.02, None, 0.02]
    """
    from scipy.stats import false_discovery_control

    p = p_values.cast(pl.Float64).to_numpy().copy()
    tested = ~np.isnan(p)
    if tested.any():
        p[tested] = false_discovery_control(p[tested], method="bh")
    return pl.Series("q_value", p, pl.Float64).fill_nan(None)


def two_sided_p(z: pl.Expr) -> pl.Expr:
    """Two-sided normal p-value of the z statistic ``z`` (null stays null).

    Examples
    --------
    >>> pl.select(two_sided_p(pl.lit(1.959964))).item().__round__(3)
    0.05
    """
    from scipy.stats import norm

    return z.abs().map_batches(lambda x: pl.Series(2 * norm.sf(x.to_numpy()), dtype=pl.Float64))


def with_q_values(table: pl.DataFrame) -> pl.DataFrame:
    """``table`` with ``q_value``: :func:`q_values` of its ``p_value`` column, all its rows
    one family.

    Examples
    --------
    >>> with_q_values(pl.DataFrame({"p_value": [0.01, 0.02]}))["q_value"].to_list()
    [0.02, 0.02]
    """
    return table.with_columns(q_values(table["p_value"]))


def e_values(
    estimate: pl.Series, ci_low: pl.Series, ci_high: pl.Series, *, common: bool
) -> tuple[pl.Series, pl.Series]:
    """E-values of hazard ratios and of their confidence limit nearest 1 (1 when the interval
    includes 1).

    Parameters
    ----------
    estimate, ci_low, ci_high : polars.Series
        Hazard ratios and their 95% limits.
    common : bool
        The outcome is common (more than :data:`COMMON_OUTCOME` churn): hazard ratios are first
        turned into risk ratios by ``(1 - 0.5**sqrt(HR)) / (1 - 0.5**sqrt(1/HR))``.

    Returns
    -------
    (e_value, e_value_ci) : tuple of polars.Series

    Examples
    --------
    >>> point, limit = e_values(pl.Series([2.0]), pl.Series([1.5]), pl.Series([2.7]), common=False)
    >>> round(point[0], 2), round(limit[0], 2)
    (3.41, 2.37)
    """
    hr, low, high = (s.cast(pl.Float64).to_numpy() for s in (estimate, ci_low, ci_high))
    nearest = np.where(low > 1, low, np.where(high < 1, high, 1.0))
    point, limit = (_e_value(_risk_ratio(x, common)) for x in (hr, nearest))
    return pl.Series("e_value", point).fill_nan(None), pl.Series("e_value_ci", limit).fill_nan(None)


def _risk_ratio(hr: np.ndarray, common: bool) -> np.ndarray:
    if not common:
        return hr
    with np.errstate(divide="ignore", invalid="ignore"):
        return (1 - 0.5 ** np.sqrt(hr)) / (1 - 0.5 ** np.sqrt(1 / hr))


def _e_value(rr: np.ndarray) -> np.ndarray:
    rr = np.where(rr < 1, 1 / rr, rr)
    return rr + np.sqrt(rr * (rr - 1))


def describe_e_value(e_value_ci: float, touchpoint: str) -> str:
    """One plain sentence on the E-value of the confidence limit of ``touchpoint``'s effect,
    the least robust of the effects reported beside it.

    Examples
    --------
    >>> describe_e_value(2.1, "live chat")[:61]
    'Even the least robust of these, live chat, would be explained'
    """
    return (
        f"Even the least robust of these, {touchpoint}, would be explained away only by an unmeasured "
        f"factor associated with both using it and churn by a risk ratio of {e_value_ci:.1f} each, "
        "beyond everything adjusted for (the E-value of its confidence limit)."
    )

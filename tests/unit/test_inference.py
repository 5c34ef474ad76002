"""Multiplicity control and E-values against published and reference values."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from cxlab.inference import e_values, q_values


def test_e_value_matches_vanderweele_and_ding():
    # VanderWeele & Ding (2017), Annals of Internal Medicine: RR 0.80 (0.71 to 0.91) has
    # E-values 1.81 for the estimate and 1.43 for the confidence limit.
    point, limit = e_values(pl.Series([0.80]), pl.Series([0.71]), pl.Series([0.91]), common=False)
    assert point[0] == pytest.approx(1.81, abs=0.005) and limit[0] == pytest.approx(1.43, abs=0.005)


def test_e_value_of_an_interval_including_one_is_one():
    _, limit = e_values(pl.Series([0.9]), pl.Series([0.7]), pl.Series([1.1]), common=True)
    assert limit[0] == 1.0


def test_common_outcome_shrinks_the_e_value():
    # A hazard ratio overstates the risk ratio of a common outcome, so its E-value is smaller.
    rare, _ = e_values(pl.Series([0.6]), pl.Series([0.5]), pl.Series([0.7]), common=False)
    common, _ = e_values(pl.Series([0.6]), pl.Series([0.5]), pl.Series([0.7]), common=True)
    assert common[0] < rare[0]


def test_q_values_follow_benjamini_hochberg():
    # The step-up rule written out: q_(i) = min over j >= i of p_(j) * m / j, capped at 1.
    p = np.random.default_rng(0).uniform(0, 0.2, 30)
    order = np.argsort(p)
    stepped = np.minimum.accumulate((p[order] * len(p) / np.arange(1, len(p) + 1))[::-1])[::-1]
    expected = np.empty_like(p)
    expected[order] = np.minimum(stepped, 1)
    assert np.allclose(q_values(pl.Series(p)).to_numpy(), expected)


def test_missing_p_values_are_not_tests():
    assert q_values(pl.Series([0.01, None, 0.04])).to_list() == pytest.approx([0.02, None, 0.04])

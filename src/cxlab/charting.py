"""What the static charts (:mod:`cxlab.plotting`) and the interactive ones
(:mod:`cxlab.interactive`) share: one colour per stage and per archetype on every chart of a
run, the columns of the journey-flow diagram, and the points a retention curve is drawn with.

Examples
--------
>>> sorted(archetype_colors(["b", "a"])) == ["a", "b"]
True
"""

from __future__ import annotations

import numpy as np
import polars as pl
import seaborn as sns

from cxlab.schema import STAGES, UNKNOWN

STAGE_COLORS = dict(zip((*STAGES, UNKNOWN), sns.color_palette("colorblind", 5), strict=True))


def stage_colors(stages) -> dict[str, tuple]:
    """A colour per stage: the contract's four keep theirs, an analyst's own stages get the
    colorblind palette in their order, and ``unknown`` is grey."""
    own = [s for s in dict.fromkeys(stages) if s not in STAGE_COLORS]
    palette = sns.color_palette("colorblind", max(len(own), 1) + 5)[5:]
    return {**STAGE_COLORS, **dict(zip(own, palette, strict=False)), UNKNOWN: (0.6, 0.6, 0.6)}


def archetype_colors(names) -> dict[str, tuple]:
    """One colour per archetype, the same on every chart of a run: the colour-blind-safe palette
    in the archetypes' sorted order."""
    ordered = sorted({str(n) for n in names})
    return dict(zip(ordered, sns.color_palette("colorblind", max(len(ordered), 1)), strict=False))


def flow_columns(flows: pl.DataFrame) -> dict[str, list[tuple[str, int]]]:
    """Nodes per stage (name, customers), largest first, '(none)' and 'other' last, stages in
    the order of the flows (``stage_flows`` lists them in journey order).

    Every stage but the last is read from its outgoing flows, the last from its incoming ones.
    """
    order = [*flows["from_stage"].unique(maintain_order=True), *flows["to_stage"].tail(1)]
    columns = {}
    for stage in order:
        side = "from" if stage != order[-1] else "to"
        sizes = (
            flows.filter(pl.col(f"{side}_stage") == stage)
            .group_by(f"{side}_touchpoint")
            .agg(pl.col("n_customers").sum())
            .rows()
        )
        if sizes:
            columns[stage] = sorted(sizes, key=lambda t: (t[0] in ("(none)", "other"), -t[1]))
    return columns


CURVE_POINTS = 500
"""The most points a Kaplan–Meier curve is drawn with. A curve has a step at every distinct
time: a million customers' took 14 s to draw and filled the page, and beyond a few hundred
points on a chart's width the steps look the same."""


def curve_points(kmf, points: int = CURVE_POINTS) -> tuple[np.ndarray, ...]:
    """Days, retention and its 95% band of a fitted ``KaplanMeierFitter``: at every step, or
    for a longer curve its value on ``points`` evenly spaced days (the step in force there)."""
    days = kmf.survival_function_.index.to_numpy()
    at = np.arange(len(days))
    if len(days) > points:
        days = np.linspace(days[0], days[-1], points)
        at = np.searchsorted(kmf.survival_function_.index.to_numpy(), days, side="right") - 1
    band = kmf.confidence_interval_survival_function_.to_numpy()[at]
    return days, kmf.survival_function_.to_numpy()[at, 0], band[:, 0], band[:, 1]

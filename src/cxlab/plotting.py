"""Plots for the notebooks. Each takes a tidy table and ``ax=None`` and returns the axes.

Nothing here changes global matplotlib state; call :func:`use_style` once in a
notebook for cxlab's readable defaults.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import polars as pl
import seaborn as sns
from matplotlib.axes import Axes

from cxlab.schema import STAGES, UNKNOWN

STAGE_COLORS = dict(zip((*STAGES, UNKNOWN), sns.color_palette("colorblind", 5), strict=True))


def use_style() -> None:
    """Readable defaults for report plots (larger fonts, light grid)."""
    sns.set_theme(
        context="notebook",
        style="whitegrid",
        palette="colorblind",
        rc={"figure.figsize": (9, 4.5), "figure.dpi": 100, "axes.titleweight": "bold"},
    )


def _axes(ax: Axes | None, figsize: tuple[float, float] = (9, 4.5)) -> Axes:
    return ax if ax is not None else plt.subplots(figsize=figsize)[1]


def plot_events_by_month(events_by_month: pl.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Stacked monthly event volumes by journey stage (from :func:`cxlab.quality.events_by_month`)."""
    ax = _axes(ax)
    wide = events_by_month.to_pandas().pivot_table(
        index="month", columns="stage", values="n_events", aggfunc="sum", fill_value=0
    )
    stages = [s for s in STAGE_COLORS if s in wide.columns]
    ax.stackplot(
        wide.index,
        *(wide[s] for s in stages),
        labels=stages,
        colors=[STAGE_COLORS[s] for s in stages],
        alpha=0.85,
    )
    ax.set(title="Touchpoint events per month, by journey stage", xlabel="", ylabel="events")
    ax.legend(loc="upper left", frameon=False, fontsize="small")
    return ax


def plot_touchpoint_mix(mix: pl.DataFrame, *, top: int = 20, ax: Axes | None = None) -> Axes:
    """Horizontal bars of events per touchpoint, coloured by stage (from ``touchpoint_mix``)."""
    data = mix.sort("n_events", descending=True).head(top).to_pandas()
    ax = _axes(ax, (9, max(3.0, 0.3 * len(data) + 1)))
    stages = [s for s in STAGE_COLORS if s in set(data["stage"])]
    sns.barplot(
        data=data,
        y="touchpoint",
        x="n_events",
        hue="stage",
        hue_order=stages,
        palette=STAGE_COLORS,
        dodge=False,
        ax=ax,
    )
    ax.set(title=f"Top {len(data)} touchpoints by events", xlabel="events", ylabel="")
    ax.legend(title="stage", frameon=False, fontsize="small")
    return ax


def plot_channel_mix(mix: pl.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Share of events per channel, coloured by kind (from ``channel_mix``)."""
    ax = _axes(ax, (7, 4))
    sns.barplot(data=mix.to_pandas(), x="share_of_events", y="channel", hue="kind", dodge=False, ax=ax)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set(title="Share of events per channel", xlabel="share of events", ylabel="")
    ax.legend(title="kind", frameon=False, fontsize="small")
    return ax


def plot_survey_counts(counts: pl.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Survey responses per metric and rated touchpoint (from ``survey_counts``)."""
    data = counts.with_columns(pl.format("{} · {}", "metric", "touchpoint").alias("question")).to_pandas()
    ax = _axes(ax, (8, max(3.0, 0.3 * len(data) + 1)))
    sns.barplot(data=data, y="question", x="n_responses", hue="metric", dodge=False, ax=ax)
    ax.set(title="Survey responses per question", xlabel="responses", ylabel="")
    ax.legend(title="metric", frameon=False, fontsize="small")
    return ax

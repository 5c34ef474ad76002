"""Plots for the notebooks. Each takes a tidy table and ``ax=None`` and returns the axes.

Nothing here changes global matplotlib state; call :func:`use_style` once in a
notebook for cxlab's readable defaults.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, PercentFormatter

from cxlab.charting import archetype_colors, curve_points, flow_columns, stage_colors


def use_style(*, interactive: bool = False) -> None:
    """Readable defaults for report plots (larger fonts, light grid), and, in a notebook, data
    frames shown as tables for people (:func:`cxlab.display.table_html`: no dtype row, labels
    in words, percentages) instead of their raw repr. With ``interactive``, plotly figures
    (``plot(interactive=True)``) are sent as plotly's own output type, which JupyterLab draws
    and a run's pages keep interactive offline (:mod:`cxlab.interactive`)."""
    sns.set_theme(
        context="notebook",
        style="whitegrid",
        palette="colorblind",
        rc={"figure.figsize": (9, 4.5), "figure.dpi": 100, "axes.titleweight": "bold"},
    )
    from IPython import get_ipython

    from cxlab.display import table_html

    shell = get_ipython()
    if shell is not None:
        formatter = shell.display_formatter
        formatter.formatters["text/html"].for_type(pl.DataFrame, table_html)
        if interactive:  # by name: plotly is imported only when a figure is made
            from cxlab.interactive import show

            formatter.ipython_display_formatter.for_type_by_name("plotly.basedatatypes", "BaseFigure", show)


def _axes(ax: Axes | None, figsize: tuple[float, float] = (9, 4.5)) -> Axes:
    return ax if ax is not None else plt.subplots(figsize=figsize)[1]


def plot_message(message: str, *, title: str = "", ax: Axes | None = None) -> Axes:
    """A chart-sized note where a chart cannot be drawn (a not-estimable result says why)."""
    import textwrap

    ax = _axes(ax, (9, 1.2))
    ax.axis("off")
    ax.text(0, 0.5, textwrap.fill(message, 110), transform=ax.transAxes, va="center", color="#555555")
    if title:
        ax.set_title(title, loc="left")
    return ax


def _heatmap(data, **kwargs) -> Axes:
    """seaborn's heat map without the style's grid lines, which would cross its blank cells."""
    ax = sns.heatmap(data, **kwargs)
    ax.grid(False)
    return ax


def plot_effects_by_segment(impact: pl.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Heat map of ``cox_hr`` hazard ratios, touchpoints by segment (archetype); blank where not
    estimable. Green below 1 (fewer churn), red above."""
    wide = (
        impact.filter(pl.col("method") == "cox_hr", pl.col("estimate").is_not_null())
        .pivot(on="segment", index="touchpoint", values="estimate")
        .sort("touchpoint")
    )
    data = wide.drop("touchpoint").to_pandas()
    data.index = [t.replace("_", " ") for t in wide["touchpoint"]]
    ax = _axes(ax, (max(6.0, 1.2 * data.shape[1] + 3), max(3.0, 0.32 * len(data) + 1.5)))
    _heatmap(
        np.log2(data.astype(float)), ax=ax, cmap="RdYlGn_r", center=0, annot=data, fmt=".2f",
        cbar_kws={"label": "log2 hazard ratio"}, annot_kws={"fontsize": "x-small"},
    )  # fmt: skip
    ax.set(title="Adjusted hazard ratio of churn within each archetype", xlabel="", ylabel="")
    return ax


def plot_attribution(credit: pl.DataFrame, *, top: int = 20, ax: Axes | None = None) -> Axes:
    """Credit for retention per touchpoint, one bar per attribution rule (``attribution.csv``):
    the ``top`` touchpoints by Markov removal credit."""
    order = (
        credit.filter(pl.col("method") == "markov_removal").sort("credit", descending=True)["touchpoint"]
    ).to_list() or sorted(credit["touchpoint"].unique())
    shown = order[:top]
    data = credit.filter(pl.col("touchpoint").is_in(shown))
    data = data.with_columns(pl.col("touchpoint").str.replace_all("_", " ")).to_pandas()
    ax = _axes(ax, (9, max(3.5, 0.3 * len(shown) + 1.5)))
    sns.barplot(
        data, y="touchpoint", x="credit", hue="method", order=[t.replace("_", " ") for t in shown], ax=ax
    )
    ax.xaxis.set_major_formatter(PercentFormatter(1))
    which = f", top {top} of {len(order)} touchpoints" if len(order) > top else ""
    ax.set(title=f"Share of credit for retention, by rule{which}", xlabel="share of credit", ylabel="")
    ax.legend(frameon=False, fontsize="small", title="rule")
    return ax


def plot_events_by_month(events_by_month: pl.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Stacked monthly event volumes by journey stage (from :func:`cxlab.quality.events_by_month`)."""
    ax = _axes(ax)
    wide = events_by_month.to_pandas().pivot_table(  # stage is a categorical: its stages seen
        index="month", columns="stage", values="n_events", aggfunc="sum", fill_value=0, observed=True
    )
    colors = stage_colors(events_by_month["stage"].unique(maintain_order=True))
    stages = [s for s in colors if s in wide.columns]
    ax.stackplot(
        wide.index,
        *(wide[s] for s in stages),
        labels=stages,
        colors=[colors[s] for s in stages],
        alpha=0.85,
    )
    ax.set(title="Touchpoint events per month, by journey stage", xlabel="", ylabel="events")
    ax.legend(loc="upper left", frameon=False, fontsize="small")
    return ax


def plot_touchpoint_mix(mix: pl.DataFrame, *, top: int = 20, ax: Axes | None = None) -> Axes:
    """Horizontal bars of events per touchpoint, coloured by stage (from ``touchpoint_mix``)."""
    data = mix.sort("n_events", descending=True).head(top).to_pandas()
    ax = _axes(ax, (9, max(3.0, 0.3 * len(data) + 1)))
    colors = stage_colors(mix["stage"].unique(maintain_order=True))
    stages = [s for s in colors if s in set(data["stage"])]
    sns.barplot(
        data=data,
        y="touchpoint",
        x="n_events",
        hue="stage",
        hue_order=stages,
        palette=colors,
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


def plot_funnel(funnel: pl.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Customers reaching each stage, with share and conversion (from ``stage_funnel``)."""
    ax = _axes(ax, (8, 3.5))
    rows = funnel.to_dicts()
    stages = [r["stage"] for r in rows][::-1]
    counts = [r["n_customers"] for r in rows][::-1]
    colors = stage_colors([r["stage"] for r in rows])
    ax.barh(stages, counts, color=[colors[s] for s in stages])
    for y, r in enumerate(rows[::-1]):
        step = (
            ""
            if r["conversion_from_previous"] is None
            else f", {r['conversion_from_previous']:.0%} of previous"
        )
        if r.get("median_days_to_convert") is not None:
            step += f", median {r['median_days_to_convert']:.0f} days after"
        ax.text(r["n_customers"], y, f"  {r['n_customers']:,} ({r['share']:.0%}{step})", va="center")
    ax.set_xlim(0, max(counts) * 1.6 if counts and max(counts) else 1)
    ax.set(title="Customers reaching each journey stage", xlabel="customers", ylabel="")
    return ax


def plot_paths(paths: pl.DataFrame, *, top: int = 10, ax: Axes | None = None) -> Axes:
    """The most common paths, with each path's retention rate (from ``journey_paths``)."""
    data = paths.head(top).to_dicts()[::-1]
    ax = _axes(ax, (10, max(3.0, 0.45 * len(data) + 1)))
    ax.barh(range(len(data)), [r["n_customers"] for r in data], color=sns.color_palette("colorblind")[0])
    ax.set_yticks(range(len(data)), [r["path"] for r in data], fontsize="small")
    for y, r in enumerate(data):
        ax.text(
            r["n_customers"],
            y,
            f"  {r['share']:.1%} · retained {r['retention_rate']:.0%}",
            va="center",
            fontsize="small",
        )
    ax.set_xlim(0, max((r["n_customers"] for r in data), default=1) * 1.4)
    ax.set(title=f"Top {len(data)} journeys (first steps)", xlabel="customers")
    return ax


def plot_transition_heatmap(transitions: pl.DataFrame, *, top: int = 15, ax: Axes | None = None) -> Axes:
    """Probability of each next touchpoint, for the most frequent touchpoints (from ``transitions``)."""
    busiest = (
        transitions.group_by("from_touchpoint").agg(pl.col("count").sum()).sort("count", descending=True)
    )["from_touchpoint"].head(top)
    data = transitions.filter(pl.col("from_touchpoint").is_in(busiest.implode()))
    targets = data.group_by("to_touchpoint").agg(pl.col("count").sum()).sort("count", descending=True)
    data = data.filter(pl.col("to_touchpoint").is_in(targets["to_touchpoint"].head(top + 2).implode()))
    wide = data.to_pandas().pivot_table(
        index="from_touchpoint", columns="to_touchpoint", values="probability", fill_value=0
    )
    words = {t: t.replace("_", " ") for t in (*wide.index, *wide.columns)}
    wide = wide.rename(index=words, columns=words)
    ax = _axes(ax, (11, 8))
    _heatmap(wide, cmap="Blues", annot=True, fmt=".0%", annot_kws={"fontsize": 7}, cbar=False, ax=ax)
    ax.set(
        title="Where customers go next (share of each touchpoint's next steps)", xlabel="next", ylabel="from"
    )
    return ax


def plot_journey_flow(flows: pl.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Sankey-style flow of customers between the stages' top touchpoints (from ``stage_flows``)."""
    from matplotlib.patches import PathPatch, Rectangle
    from matplotlib.path import Path as MplPath

    ax = _axes(ax, (12, 6))
    columns = flow_columns(flows)
    colors = stage_colors(columns)
    total = max(sum(n for _, n in nodes) for nodes in columns.values()) or 1
    gap, width = 0.02, 0.12
    top_of, out_offset, in_offset = {}, {}, {}
    for x, (stage, nodes) in enumerate(columns.items()):
        y = 1.0
        for name, n in nodes:
            h = n / total * (1 - gap * len(nodes))
            top_of[(stage, name)] = y
            out_offset[(stage, name)] = in_offset[(stage, name)] = y
            muted = name.startswith("(")
            ax.add_patch(
                Rectangle((x - width / 2, y - h), width, h, color="0.75" if muted else colors[stage])
            )
            if h >= 0.03:  # a thinner node's label would overlap its neighbours (its count is in the table)
                label = f"{name.replace('_', ' ')} ({n:,})"  # right of its bar, over the flows
                ax.text(x + width / 2 + 0.02, y - h / 2, label, va="center", fontsize=8)
            y -= h + gap
    for r in flows.sort("n_customers", descending=True).iter_rows(named=True):
        src, dst = (r["from_stage"], r["from_touchpoint"]), (r["to_stage"], r["to_touchpoint"])
        h = r["n_customers"] / total * (1 - gap * len(columns[r["from_stage"]]))
        x0, x1 = list(columns).index(src[0]) + width / 2, list(columns).index(dst[0]) - width / 2
        y0, y1 = out_offset[src], in_offset[dst]
        out_offset[src], in_offset[dst] = y0 - h, y1 - h
        xm = (x0 + x1) / 2
        verts = [
            (x0, y0),
            (xm, y0),
            (xm, y1),
            (x1, y1),
            (x1, y1 - h),
            (xm, y1 - h),
            (xm, y0 - h),
            (x0, y0 - h),
            (x0, y0),
        ]
        codes = (
            [MplPath.MOVETO]
            + [MplPath.CURVE4] * 3
            + [MplPath.LINETO]
            + [MplPath.CURVE4] * 3
            + [MplPath.CLOSEPOLY]
        )
        muted = src[1].startswith("(") or dst[1].startswith("(")
        ax.add_patch(
            PathPatch(MplPath(verts, codes), color="0.85" if muted else colors[src[0]], alpha=0.4, lw=0)
        )
    ax.set_xlim(-0.5, len(columns) - 0.5 + 0.45)  # room for the last stage's labels
    ax.set_ylim(min(0.0, *(v for v in out_offset.values())) - 0.02, 1.02)
    ax.set_xticks(range(len(columns)), [s.replace("_", " ") for s in columns])
    ax.set_yticks([])
    ax.grid(False)
    ax.set_title("How customers move through the journey (first touchpoint in each stage)")
    return ax


def plot_selection_scores(
    scores: pl.DataFrame, *, min_stability: float = 0.75, ax: Axes | None = None
) -> Axes:
    """Bootstrap stability of the least stable archetype and silhouette for each number of
    archetypes, the bar a solution must reach and the choice marked (from
    ``JourneyArchetypes.selection_scores_``)."""
    ax = _axes(ax)
    data = scores.to_pandas()
    ax.errorbar(
        data["k"],
        data["stability"],
        yerr=data["stability_sd"],
        marker="s",
        capsize=3,
        label="stability of the least stable archetype",
    )
    ax.plot(data["k"], data["silhouette"], marker="o", label="silhouette (separation, for reading)")
    ax.axhline(min_stability, color="grey", linewidth=1, linestyle=":")
    for k in data.loc[data["chosen"], "k"]:
        ax.axvline(k, color="grey", linestyle="--", linewidth=1)
        ax.annotate(
            f" chosen: {k}", (k, 0.5), ha="left", fontsize="small", xycoords=("data", "axes fraction")
        )
    ax.set(
        title="Choosing the number of archetypes",
        xlabel="number of archetypes",
        ylabel="score",
        ylim=(0, 1.05),
    )
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_archetype_lifts(
    lifts: pl.DataFrame, names: list[str], *, top: int = 12, ax: Axes | None = None
) -> Axes:
    """Heatmap of touchpoint lift per archetype (from ``JourneyArchetypes.lifts_``): above 1, the
    archetype uses the touchpoint more than customers overall."""
    touchpoints = lifts.filter(pl.col("feature").str.starts_with("share_tp_"))
    data = touchpoints if touchpoints.height else lifts
    spread = data.group_by("feature").agg((pl.col("lift").max() - pl.col("lift").min()).alias("spread"))
    keep = spread.sort("spread", "feature", descending=[True, False])["feature"].head(top)
    wide = (
        data.filter(pl.col("feature").is_in(keep.implode()))
        .with_columns(
            pl.col("feature").str.replace("^share_(tp|tr|channel|stage|kind)_", "").str.replace_all("_", " ")
        )
        .to_pandas()
        .pivot_table(index="archetype", columns="feature", values="lift")
    )
    wide.index = [names[i] for i in wide.index]
    ax = _axes(ax, (11, 1.0 + 0.6 * len(wide)))
    _heatmap(wide, cmap="RdBu_r", center=1, vmin=0, vmax=3, annot=True, fmt=".1f", cbar=False, ax=ax)
    ax.set(title="What sets each archetype apart (lift: 2 = twice the average use)", xlabel="", ylabel="")
    ax.tick_params(axis="x", rotation=40)
    return ax


def plot_archetype_sizes(profiles: pl.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Share of customers and retention rate per archetype (from ``JourneyArchetypes.profiles_``)."""
    data = profiles.to_dicts()[::-1]
    ax = _axes(ax, (10, 1.0 + 0.5 * len(data)))
    colors = archetype_colors(r["archetype_name"] for r in data)
    ax.barh(range(len(data)), [r["share"] for r in data], color=[colors[r["archetype_name"]] for r in data])
    ax.set_yticks(range(len(data)), [r["archetype_name"] for r in data], fontsize="small")
    for y, r in enumerate(data):
        retained = "" if r["retention_rate"] is None else f" · retained {r['retention_rate']:.0%}"
        ax.text(
            r["share"],
            y,
            f"  {r['share']:.0%} ({r['n_customers']:,}){retained}",
            va="center",
            fontsize="small",
        )
    ax.set_xlim(0, max(r["share"] for r in data) * 1.6)
    ax.xaxis.set_major_formatter(PercentFormatter(1))
    ax.set(title="Archetypes: share of customers and retention", xlabel="share of customers")
    return ax


def plot_archetype_map(
    embedding: np.ndarray,
    labels: np.ndarray,
    names: list[str],
    *,
    ax: Axes | None = None,
    interactive: bool = False,
) -> Axes:
    """Customers on the first two principal components of the preprocessed features, coloured
    by archetype (``embedding`` from :func:`cxlab.archetypes.archetype_map`); ``interactive``
    shows the plotly twin (:func:`cxlab.interactive.archetype_map`) instead."""
    if interactive:
        from cxlab import interactive as charts

        return charts.show(charts.archetype_map(embedding, labels, names))
    ax = _axes(ax, (9, 6))
    palette = archetype_colors(names)
    for i, name in enumerate(names):
        points = embedding[labels == i]
        ax.scatter(points[:, 0], points[:, 1], s=6, alpha=0.4, color=palette[name], label=name)
    ax.set(
        title="Customers by journey mix, coloured by archetype",
        xlabel="first principal component of the journey mix",
        ylabel="second principal component",
    )
    ax.legend(frameon=False, fontsize="small", markerscale=3, loc="best")
    return ax


def plot_hazard_ratios(impact: pl.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Forest plot of adjusted hazard ratios with 95% intervals (``cox_hr`` rows of
    ``touchpoint_impact``); left of 1 the touchpoint goes with less churn."""
    data = impact.filter(pl.col("method") == "cox_hr", pl.col("estimate").is_not_null()).sort("estimate")
    rows = data.to_dicts()
    ax = _axes(ax, (9, max(3.0, 0.35 * len(rows) + 1.2)))
    colors = sns.color_palette("colorblind")
    for y, r in enumerate(rows):
        significant = r["ci_high"] < 1 or r["ci_low"] > 1
        color = (colors[2] if r["estimate"] < 1 else colors[3]) if significant else "grey"
        ax.plot([r["ci_low"], r["ci_high"]], [y, y], color=color, linewidth=2)
        ax.plot(r["estimate"], y, "o", color=color)
    ax.axvline(1, color="black", linewidth=1)
    ax.set_xscale("log")
    low, high = ax.get_xlim()
    fine = [t for t in (0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.25, 1.5, 1.75, 2) if low <= t <= high]
    coarse = [t for t in (0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10) if low <= t <= high]
    ticks = fine if len(fine) >= len(coarse) and len(fine) <= 8 else coarse
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])  # 1 and a tick either side of it, whatever the range
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
    ax.set_yticks(range(len(rows)), [r["touchpoint"].replace("_", " ") for r in rows], fontsize="small")
    ax.set(
        title="Adjusted hazard ratio of churn (95% CI): below 1 = fewer churn",
        xlabel="hazard ratio (log scale)",
    )
    return ax


def plot_retention_difference(impact: pl.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Bars of the adjusted retention difference at the horizon, in points, with 95% intervals
    (``retention_diff`` rows of ``touchpoint_impact``)."""
    data = impact.filter(pl.col("method") == "retention_diff", pl.col("estimate").is_not_null()).sort(
        "estimate"
    )
    rows = data.to_dicts()
    ax = _axes(ax, (9, max(3.0, 0.35 * len(rows) + 1.2)))
    colors = sns.color_palette("colorblind")
    values = [100 * r["estimate"] for r in rows]
    errors = [
        [100 * (r["estimate"] - r["ci_low"]) for r in rows],
        [100 * (r["ci_high"] - r["estimate"]) for r in rows],
    ]
    ax.barh(
        range(len(rows)),
        values,
        xerr=errors,
        color=[colors[2] if v > 0 else colors[3] for v in values],
        capsize=2,
    )
    ax.axvline(0, color="black", linewidth=1)
    ax.set_yticks(range(len(rows)), [r["touchpoint"].replace("_", " ") for r in rows], fontsize="small")
    ax.set(title="Adjusted difference in retention at the horizon (95% CI)", xlabel="percentage points")
    return ax


def plot_retention_curves(
    fitters: dict,
    *,
    title: str = "Retention after the landmark",
    xlabel: str = "days after the end of the exposure window",
    ax: Axes | None = None,
) -> Axes:
    """Kaplan–Meier retention curves with 95% bands, one per group (from ``retention_curves``);
    groups named as archetypes keep their archetype colour."""
    ax = _axes(ax)
    colors = archetype_colors(fitters)
    for name, kmf in fitters.items():
        days, value, low, high = curve_points(kmf)
        ax.step(days, value, where="post", color=colors[name], label=str(name))
        ax.fill_between(days, low, high, step="post", color=colors[name], alpha=0.25, linewidth=0)
    ax.yaxis.set_major_formatter(PercentFormatter(1))
    ax.set(title=title, xlabel=xlabel, ylabel="still retained")
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_calibration(retained: np.ndarray, predicted: np.ndarray, *, ax: Axes | None = None) -> Axes:
    """Predicted against observed retention in tenths of the customers by predicted chance (a
    calibrated model follows the diagonal). Equal-count bins: equal-width ones leave a few
    customers in the extreme bins, whose shares then jump about."""
    from sklearn.calibration import CalibrationDisplay

    ax = _axes(ax, (5.5, 5))
    CalibrationDisplay.from_predictions(
        retained, predicted, n_bins=10, strategy="quantile", ax=ax, name="gradient boosting"
    )
    ax.set(
        title="Calibration of the retention prediction",
        xlabel="predicted chance of staying (tenths of the customers)",
        ylabel="share of them who stayed",
    )
    return ax


def plot_importance(importance: pl.DataFrame, *, top: int = 12, ax: Axes | None = None) -> Axes:
    """Permutation importance (drop in ROC AUC when an input is shuffled), for the prediction only."""
    rows = importance.head(top).to_dicts()[::-1]
    ax = _axes(ax, (9, max(3.0, 0.35 * len(rows) + 1.2)))
    ax.barh(
        range(len(rows)),
        [r["importance"] for r in rows],
        xerr=[r["importance_sd"] for r in rows],
        color=sns.color_palette("colorblind")[0],
        capsize=2,
    )
    ax.set_yticks(range(len(rows)), [r["feature"].replace("_", " ") for r in rows], fontsize="small")
    ax.set(title="What the prediction leans on (not effects)", xlabel="drop in ROC AUC when shuffled")
    return ax


def plot_score_trend(scores: pl.DataFrame, *, metric: str = "nps", ax: Axes | None = None) -> Axes:
    """A relationship score by month with its 95% band (from ``survey_scores``); months below
    the minimum n are left out."""
    data = scores.filter(
        pl.col("metric") == metric,
        pl.col("month").is_not_null(),
        pl.col("touchpoint").is_null(),
        ~pl.col("suppressed"),
    ).sort("month")
    ax = _axes(ax)
    months = data["month"].to_list()
    ax.fill_between(range(len(months)), data["ci_low"], data["ci_high"], alpha=0.25, label="95% interval")
    ax.plot(range(len(months)), data["score"], marker="o", label=metric.upper())
    ax.set_xticks(range(len(months)), months, rotation=45, fontsize="small")
    ax.set(title=f"{metric.upper()} by month", xlabel="", ylabel=metric.upper())
    ax.legend(frameon=False, fontsize="small")
    return ax


def _score_intervals(rows: list[dict], ax: Axes) -> Axes:
    """Dots at ``score`` with bars from ``ci_low`` to ``ci_high``, one row each."""
    ax.errorbar(
        [r["score"] for r in rows],
        range(len(rows)),
        xerr=[[r["score"] - r["ci_low"] for r in rows], [r["ci_high"] - r["score"] for r in rows]],
        fmt="o",
        capsize=3,
    )
    return ax


def plot_touchpoint_scores(scores: pl.DataFrame, *, metric: str = "csat", ax: Axes | None = None) -> Axes:
    """A metric per touchpoint with 95% intervals (overall rows of ``survey_scores``)."""
    data = scores.filter(
        pl.col("metric") == metric, pl.col("touchpoint").is_not_null(), pl.col("segment") == "all",
        pl.col("stage").is_null(), pl.col("month").is_null(), ~pl.col("suppressed"),
    ).sort("score")  # fmt: skip
    rows = data.to_dicts()
    ax = _score_intervals(rows, _axes(ax, (9, max(3.0, 0.4 * len(rows) + 1.2))))
    ax.set_yticks(range(len(rows)), [f"{r['touchpoint'].replace('_', ' ')} (n={r['n']:,})" for r in rows])
    ax.set(title=f"{metric.upper()} by touchpoint (95% CI)", xlabel=metric.upper())
    return ax


def plot_driver_quadrant(drivers: pl.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Importance against performance: drivers right of the median importance and below the
    others (lower right) are candidates to fix first (from ``key_drivers``); the bars are each
    rating's 95% interval."""
    method = "lmg" if (drivers["method"] == "lmg").any() else "relative_weights"
    data = drivers.filter(pl.col("method") == method)
    ax = _axes(ax, (8, 6))
    spread = [data["mean_score"] - data["score_ci_low"], data["score_ci_high"] - data["mean_score"]]
    points, _, _ = ax.errorbar(
        data["importance"], data["mean_score"], yerr=spread, fmt="o", markersize=7, capsize=3
    )
    points.set_zorder(5)  # above the labels' boxes; the intervals stay below them
    labels = [
        ax.text(
            r["importance"], r["mean_score"], r["driver"].replace("_", " "), fontsize="small", bbox=LABEL_BOX
        )
        for r in data.iter_rows(named=True)
    ]
    steps = np.linspace(0, 1, 40)  # points along each interval, which the labels keep off
    along = [(r["importance"], r["score_ci_low"] + t * (r["score_ci_high"] - r["score_ci_low"]))
             for r in data.iter_rows(named=True) for t in steps]  # fmt: skip
    _place_labels(ax, labels, along)
    ax.axvline(data["importance"].median(), color="grey", linestyle="--", linewidth=1)
    ax.axhline(data["mean_score"].mean(), color="grey", linestyle="--", linewidth=1)
    ax.text(0.98, 0.02, "fix first", transform=ax.transAxes, ha="right", va="bottom", color="grey")
    ax.set(
        title="Key drivers: importance and performance",
        xlabel=f"importance ({'LMG' if method == 'lmg' else 'relative weights'}, share of R²)",
        ylabel="mean rating (dashed: mean of the drivers)",
    )
    return ax


LABEL_BOX = {"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85}
"""Behind a point label: legible where it has to cross a line."""


def _place_labels(ax: Axes, labels: list, avoid: list[tuple[float, float]]) -> None:
    """Move point labels apart (adjustText) so that none overlaps another label, the points
    in ``avoid`` or the frame, with a faint line back to its point when it moved."""
    from adjustText import adjust_text

    ax.margins(x=0.12, y=0.08)  # room for labels next to the outermost points
    x, y = zip(*avoid, strict=True) if avoid else ((), ())
    adjust_text(
        labels, x=list(x), y=list(y), ax=ax, arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.6}
    )


def plot_segment_scores(scores: pl.DataFrame, *, metric: str = "nps", ax: Axes | None = None) -> Axes:
    """A relationship score per archetype with 95% intervals, overall as a reference line
    (from ``survey_scores``); segments below the minimum n are left out."""
    base = scores.filter(
        pl.col("metric") == metric,
        pl.col("touchpoint").is_null(),
        pl.col("month").is_null(),
        pl.col("stage").is_null(),
    )
    rows = base.filter(pl.col("segment") != "all", ~pl.col("suppressed")).sort("score").to_dicts()
    ax = _score_intervals(rows, _axes(ax, (9, max(3.0, 0.45 * len(rows) + 1.2))))
    overall = base.filter(segment="all")["score"]
    if overall.len():
        ax.axvline(overall[0], color="grey", linestyle="--", linewidth=1, label="all customers")
        ax.legend(frameon=False, fontsize="small")
    ax.set_yticks(range(len(rows)), [f"{r['segment']} (n={r['n']:,})" for r in rows], fontsize="small")
    ax.set(title=f"{metric.upper()} by archetype (95% CI)", xlabel=metric.upper())
    return ax


def plot_driver_importance(drivers: pl.DataFrame, *, method: str = "lmg", ax: Axes | None = None) -> Axes:
    """Driver importance (share of R²) with bootstrap 95% intervals (from ``key_drivers``)."""
    if not (drivers["method"] == method).any():  # LMG is left out with many drivers
        method = "relative_weights"
    rows = drivers.filter(pl.col("method") == method).sort("importance").to_dicts()
    ax = _axes(ax, (9, max(3.0, 0.4 * len(rows) + 1.2)))
    ax.barh(
        range(len(rows)),
        [r["importance"] for r in rows],
        xerr=[[r["importance"] - r["ci_low"] for r in rows], [r["ci_high"] - r["importance"] for r in rows]],
        color=sns.color_palette("colorblind")[0],
        capsize=3,
    )
    ax.set_yticks(range(len(rows)), [r["driver"].replace("_", " ") for r in rows])
    r2 = rows[0]["r2"] if rows else float("nan")
    ax.set(title=f"Key drivers ({method}; together R² = {r2:.2f})", xlabel="share of explained variance")
    return ax


def plot_topics(topics: pl.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Comment topics by volume (bars), coloured by mean sentiment, each labelled with the NPS
    of the answers that mention it and its 95% interval (from ``comment_topics``)."""
    rows = topics.sort("n_comments").to_dicts()
    ax = _axes(ax, (9, max(3.0, 0.45 * len(rows) + 1.5)))
    cmap = plt.get_cmap("RdBu")  # colour-blind safe: red for negative, blue for positive
    colors = [cmap(min(max(r["mean_sentiment"] + 0.5, 0), 1)) for r in rows]  # -0.5..+0.5 spans the map
    bars = ax.barh(range(len(rows)), [r["n_comments"] for r in rows], color=colors, edgecolor="0.4")
    for bar, r in zip(bars, rows, strict=True):
        nps = "NPS: too few answers" if r["nps"] is None else (
            f"NPS {r['nps']:+.0f} ({r['nps_ci_low']:+.0f} to {r['nps_ci_high']:+.0f})"
        )  # fmt: skip
        ax.annotate(
            f"  {nps}", (bar.get_width(), bar.get_y() + bar.get_height() / 2), va="center", fontsize=9
        )
    ax.set_yticks(range(len(rows)), [r["topic_name"] for r in rows])
    ax.set_xlim(0, max([r["n_comments"] for r in rows], default=1) * 1.6)
    scale = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(-0.5, 0.5))
    ax.figure.colorbar(scale, ax=ax, label="mean sentiment (below 0 negative, above 0 positive)", shrink=0.8)
    ax.set(title="What customers write about", xlabel="comments")
    return ax


def plot_topic_trend(trend: pl.DataFrame | None, *, ax: Axes | None = None) -> Axes:
    """Each comment topic's share of the month's comments (``TopicFindings.trend``)."""
    if trend is None or trend.is_empty():
        return plot_message("No comment topics to follow over time.", title="Topics by month", ax=ax)
    ax = _axes(ax, (9, 4))
    palette = sns.color_palette("colorblind", trend["topic"].n_unique())
    for color, ((name,), rows) in zip(
        palette, trend.sort("month").group_by("topic_name", maintain_order=True), strict=False
    ):
        ax.plot(rows["month"], rows["share"], color=color, label=name, linewidth=2, marker="o", markersize=3)
    ax.yaxis.set_major_formatter(PercentFormatter(1))
    ax.set(title="Topics by month", xlabel="month of the answer", ylabel="share of the month's comments")
    ax.figure.autofmt_xdate()
    ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1, 1))
    return ax


def plot_retention_by_group(curves: pl.DataFrame, *, title: str, xlabel: str, ax: Axes | None = None) -> Axes:
    """Retention lines with 95% bands per ``group`` from a table of ``group``, ``days``,
    ``retention``, ``ci_low``, ``ci_high`` (such as ``archetype_retention.csv``)."""
    ax = _axes(ax, (9, 4.5))
    colors = archetype_colors(curves["group"])
    for group, rows in curves.drop_nulls("retention").sort("days").group_by("group", maintain_order=True):
        name = group[0]
        ax.plot(rows["days"], rows["retention"], color=colors[name], label=name, linewidth=2)
        ax.fill_between(rows["days"], rows["ci_low"], rows["ci_high"], color=colors[name], alpha=0.15)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set(title=title, xlabel=xlabel, ylabel="customers still active", ylim=(0, 1.02))
    ax.legend(frameon=False, fontsize="small", loc="lower left")
    return ax


def plot_effect_bars(effects: pl.DataFrame, *, title: str, xlabel: str, ax: Axes | None = None) -> Axes:
    """Horizontal bars of ``estimate`` per ``label`` with 95% interval whiskers (``ci_low``,
    ``ci_high``), green when positive and red when negative, largest on top."""
    data = effects.sort("estimate")
    ax = _axes(ax, (9, max(2.0, 0.55 * data.height + 1.2)))
    colors = ["#1b9e77" if v > 0 else "#d95f02" for v in data["estimate"]]
    errors = [data["estimate"] - data["ci_low"], data["ci_high"] - data["estimate"]]
    ax.barh(data["label"], data["estimate"], xerr=errors, color=colors, capsize=4, alpha=0.85)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set(title=title, xlabel=xlabel, ylabel="")
    return ax


def plot_scores_by_group(scores: pl.DataFrame, *, title: str, xlabel: str, ax: Axes | None = None) -> Axes:
    """A point with its 95% interval per ``group`` (``score``, ``ci_low``, ``ci_high``, ``n``),
    coloured as the archetypes are everywhere."""
    data = scores.sort("score")
    ax = _axes(ax, (9, max(2.0, 0.55 * data.height + 1.2)))
    colors = archetype_colors(data["group"])
    for y, r in enumerate(data.iter_rows(named=True)):
        ax.errorbar(r["score"], y, xerr=[[r["score"] - r["ci_low"]], [r["ci_high"] - r["score"]]],
                    fmt="o", color=colors[r["group"]], capsize=4, markersize=8)  # fmt: skip
        ax.annotate(f"  n = {r['n']:,}", (r["ci_high"], y), va="center", fontsize="small", color="#555555")
    ax.set_yticks(range(data.height), data["group"].to_list())
    ax.set(title=title, xlabel=xlabel, ylabel="")
    return ax


def plot_churn_differences(table: pl.DataFrame, *, top: int = 12, ax: Axes | None = None) -> Axes:
    """The ``top`` largest differences of :func:`cxlab.churn_journeys.churned_vs_retained` that
    pass q < 0.05, as points of the share of retained minus churned customers (right: more common
    among those who stayed), with 95% intervals."""
    found = table.filter(pl.col("q_value") < 0.05).sort(pl.col("difference").abs(), descending=True).head(top)
    if found.is_empty():
        return plot_message("No step differs between churned and retained customers (q < 0.05).", ax=ax)
    data = found.select(
        pl.col("step").str.replace_all("_", " ").alias("label"),
        (pl.col("difference") * -100).alias("estimate"),
        (pl.col("ci_high") * -100).alias("ci_low"),
        (pl.col("ci_low") * -100).alias("ci_high"),
    )
    return plot_effect_bars(
        data,
        title="What customers who stayed (right) and who churned (left) did more often before",
        xlabel="points of the share of customers, retained minus churned (95% interval)",
        ax=ax,
    )


def plot_cohort_heatmap(table: pl.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Retention by signup month (rows) and months since signup (columns); empty where a cohort
    has not been followed that long or the cell is suppressed."""
    grid = table.pivot("month", index="cohort", values="retention", sort_columns=True).sort("cohort")
    frame = grid.to_pandas().set_index("cohort")
    ax = _axes(ax, (10, max(3.0, 0.32 * len(frame) + 1.5)))
    _heatmap(
        frame, ax=ax, cmap="viridis", vmin=0, vmax=1, annot=len(frame.columns) <= 12, fmt=".0%",
        annot_kws={"fontsize": "x-small"}, cbar_kws={"label": "customers still active", "format": "{x:.0%}"},
    )  # fmt: skip
    ax.set(title="Retention by signup month", xlabel="months since signup", ylabel="signup month")
    return ax


def plot_lifecycle(table: pl.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Active customers per month stacked by status (new, returning, resurrected), and the
    dormant ones (active the month before, not this month) below zero."""
    data = table.to_pandas().set_index("month")
    ax = _axes(ax, (10, 4.5))
    colors = sns.color_palette("colorblind", 4)
    bottom = 0
    for status, color in zip(("returning", "new", "resurrected"), colors, strict=False):
        ax.bar(data.index, data[status], bottom=bottom, color=color, label=status)
        bottom = bottom + data[status]
    ax.bar(data.index, -data["dormant"], color=colors[3], label="dormant")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set(title="Active customers by lifecycle status", xlabel="month", ylabel="customers")
    ax.tick_params(axis="x", labelrotation=90, labelsize="small")
    ax.legend(frameon=False, fontsize="small", ncols=4)
    return ax


def plot_anchored_flow(flow: pl.DataFrame, *, top: int = 4, ax: Axes | None = None) -> Axes:
    """Stacked bars per position around the anchor (from
    :func:`cxlab.churn_journeys.anchored_flow`): the ``top`` touchpoints of each position and
    the rest as "other", labelled where the segment is large enough to read."""
    ax = _axes(ax, (10, 5))
    ranked = flow.with_columns(
        pl.col("n_customers").rank("ordinal", descending=True).over("position").alias("r")
    )
    data = (
        ranked.with_columns(
            pl.when(pl.col("r") <= top).then("touchpoint").otherwise(pl.lit("other")).alias("label")
        )
        .group_by("position", "label")
        .agg(pl.col("share").sum())
        .sort("position", "share", descending=[False, True])
    )
    palette = dict(
        zip(
            sorted(data["label"].unique()),
            sns.color_palette("colorblind", data["label"].n_unique()),
            strict=False,
        )
    )
    for position, rows in data.group_by("position", maintain_order=True):
        bottom = 0.0
        for r in rows.iter_rows(named=True):
            ax.bar(position[0], r["share"], bottom=bottom, color=palette[r["label"]], edgecolor="white")
            if r["share"] >= 0.08:
                text = f"{r['label'].replace('_', ' ')}\n{r['share']:.0%}"
                ax.text(
                    position[0], bottom + r["share"] / 2, text, ha="center", va="center", fontsize="x-small"
                )
            bottom += r["share"]
    ax.axvline(0, color="black", linewidth=0.8, linestyle=":")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set(
        title="Steps before (left) and after (right) the chosen touchpoint",
        xlabel="steps from the chosen touchpoint",
        ylabel="share of the customers who used it",
        xticks=sorted(data["position"].unique()),
    )
    return ax

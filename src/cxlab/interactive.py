"""Interactive charts (plotly) for exploring in JupyterLab, kept interactive in the analyst HTML
pages with no network: hover values, zoom, and groups toggled from the legend.

In a notebook, :func:`show` sends plotly figures as plotly's own output type, which
JupyterLab draws; :func:`embed_in_html` turns them into HTML
with plotly.js inlined once per page when a run exports its pages. The leadership page stays
static. Every figure has a static twin in :mod:`cxlab.plotting` (``interactive=False``).

Examples
--------
>>> import polars as pl
>>> flows = pl.DataFrame({"from_stage": ["awareness"], "from_touchpoint": ["search"],
...     "to_stage": ["purchase"], "to_touchpoint": ["website"], "n_customers": [12]})
>>> journey_flow(flows).data[0].type
'sankey'
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl

# The figures import cxlab.charting (seaborn, then scipy.stats: 2-3 s) when they are drawn: a
# run's page export needs embed_in_html only, and pays for none of it.
PLOTLY_MIME = "application/vnd.plotly.v1+json"
CONFIG = {"displaylogo": False, "responsive": True}


def _go():
    import plotly.graph_objects as go

    return go


def _rgb(color: tuple, alpha: float = 1.0) -> str:
    r, g, b = (round(255 * c) for c in color[:3])
    return f"rgba({r},{g},{b},{alpha})"


def _label(text: str) -> str:
    return str(text).replace("_", " ")


def journey_flow(flows: pl.DataFrame):
    """Sankey of customers between the stages' top touchpoints (``stage_flows``); hover a band
    for its customers, drag a node to untangle."""
    from cxlab.charting import flow_columns, stage_colors

    columns = flow_columns(flows)
    colors = stage_colors(columns)
    nodes = [(stage, name) for stage, items in columns.items() for name, _ in items]
    index = {node: i for i, node in enumerate(nodes)}
    links = flows.filter(pl.col("n_customers") > 0).rows(named=True)
    sankey = _go().Sankey(
        arrangement="snap",
        node={
            "label": [f"{_label(name)}" for _, name in nodes],
            "color": [_rgb(colors[stage]) for stage, _ in nodes],
            "customdata": [_label(stage) for stage, _ in nodes],
            "hovertemplate": "%{customdata}: %{label}<br>%{value:,} customers<extra></extra>",
            "pad": 12,
        },
        link={
            "source": [index[(r["from_stage"], r["from_touchpoint"])] for r in links],
            "target": [index[(r["to_stage"], r["to_touchpoint"])] for r in links],
            "value": [r["n_customers"] for r in links],
            "color": [_rgb(colors[r["from_stage"]], 0.35) for r in links],
            "hovertemplate": "%{source.label} → %{target.label}<br>%{value:,} customers<extra></extra>",
        },
    )
    stages = " → ".join(_label(s) for s in columns)
    return _layout(_go().Figure(sankey), f"How customers move between stages ({stages})", height=560)


def retention_curves(fitters: dict, *, title: str, xlabel: str):
    """Kaplan–Meier retention with 95% bands per group (``RetentionCurves.fitters``); click a
    legend entry to hide its group, hover for the value and its interval."""
    from cxlab.charting import archetype_colors, curve_points

    go, figure = _go(), _go().Figure()
    colors = archetype_colors(fitters)
    for name, kmf in fitters.items():
        days, value, low, high = curve_points(kmf)
        color, group = colors[name], str(name)
        band = np.concatenate([days, days[::-1]]), np.concatenate([high, low[::-1]])
        figure.add_trace(go.Scatter(
            x=band[0], y=band[1], fill="toself", fillcolor=_rgb(color, 0.15), line={"width": 0},
            hoverinfo="skip", legendgroup=group, showlegend=False,
        ))  # fmt: skip
        figure.add_trace(go.Scatter(
            x=days, y=value, mode="lines", line={"shape": "hv", "color": _rgb(color), "width": 2},
            name=group, legendgroup=group, customdata=np.column_stack([low, high]),
            hovertemplate=f"{group}<br>day %{{x:.0f}}: %{{y:.1%}} (95% CI %{{customdata[0]:.1%}} to "
                          "%{customdata[1]:.1%})<extra></extra>",
        ))  # fmt: skip
    figure.update_yaxes(title="still retained", tickformat=".0%", rangemode="tozero")
    figure.update_xaxes(title=xlabel)
    return _layout(figure, title)


def retention_effects(impact: pl.DataFrame):
    """Adjusted retention difference at the horizon per touchpoint, in points, with 95%
    intervals and q-values on hover (``retention_diff`` rows of ``touchpoint_impact``)."""
    rows = impact.filter(pl.col("method") == "retention_diff", pl.col("estimate").is_not_null()).sort(
        "estimate"
    )
    q = rows["q_value"] if "q_value" in rows.columns else pl.Series([None] * rows.height, dtype=pl.Float64)
    bar = _go().Bar(
        x=100 * rows["estimate"], y=[_label(t) for t in rows["touchpoint"]], orientation="h",
        error_x={"type": "data", "symmetric": False, "array": 100 * (rows["ci_high"] - rows["estimate"]),
                 "arrayminus": 100 * (rows["estimate"] - rows["ci_low"])},
        marker_color=["#009e73" if v > 0 else "#d55e00" for v in rows["estimate"]],
        customdata=np.column_stack([100 * rows["ci_low"], 100 * rows["ci_high"], q.fill_null(float("nan"))]),
        hovertemplate="%{y}: %{x:+.1f} points (95% CI %{customdata[0]:+.1f} to %{customdata[1]:+.1f}), "
                      "q = %{customdata[2]:.3f}<extra></extra>",
    )  # fmt: skip
    figure = _go().Figure(bar)
    figure.update_xaxes(title="percentage points of retention at the horizon", zeroline=True)
    title = "Adjusted difference in retention at the horizon (95% CI; associations)"
    return _layout(figure, title, height=max(320, 28 * rows.height + 140))


def archetype_map(embedding: np.ndarray, labels: np.ndarray, names: list[str]):
    """Customers on the first two principal components, one legend entry per archetype."""
    from cxlab.charting import archetype_colors

    go, figure = _go(), _go().Figure()
    colors = archetype_colors(names)
    for i, name in enumerate(names):
        points = embedding[labels == i]
        figure.add_trace(go.Scatter(x=points[:, 0], y=points[:, 1], mode="markers", name=name,
                                      marker={"size": 4, "opacity": 0.5, "color": _rgb(colors[name])},
                                      hovertemplate=f"{name}<extra></extra>"))  # fmt: skip
    figure.update_xaxes(title="first principal component of the journey mix")
    figure.update_yaxes(title="second principal component")
    return _layout(figure, "Customers by journey mix, coloured by archetype", height=560)


def _layout(figure, title: str, *, height: int = 450):
    figure.update_layout(
        title=title, height=height, template="plotly_white", margin={"l": 60, "r": 20, "t": 60}
    )
    return figure


def mimebundle(figure) -> dict:
    """``figure`` as plotly's own output type, the form JupyterLab draws and
    :func:`embed_in_html` exports. Built here rather than by plotly's renderers, whose import
    takes 2-3 s (they load nbformat's schema validator)."""
    return {PLOTLY_MIME: {**json.loads(figure.to_json(validate=False)), "config": CONFIG}}


def show(figure):
    """Display ``figure`` in the notebook (plotly's output type) and return it."""
    from IPython.display import display

    display(mimebundle(figure), raw=True)
    return figure


def embed_in_html(nb) -> int:
    """Give every plotly output of notebook ``nb`` an HTML form for the exported page: the first
    carries plotly.js inline, so the page works with no network. Returns the number embedded."""
    import plotly.io as pio

    count = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            spec = output.get("data", {}).get(PLOTLY_MIME)
            if spec is None:
                continue
            output["data"]["text/html"] = pio.to_html(
                spec, include_plotlyjs=count == 0, full_html=False, config=CONFIG, validate=False
            )
            count += 1
    return count

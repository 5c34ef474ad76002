"""Interactive twins of the static charts: the same numbers, and pages that carry plotly.js once."""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import numpy as np
import polars as pl
import pytest

from cxlab import interactive, journey_map, retention
from cxlab.synthetic import make_journeys

FLOWS = pl.DataFrame(
    {
        "from_stage": ["awareness", "awareness", "consideration"],
        "from_touchpoint": ["search", "social_media", "website"],
        "to_stage": ["consideration", "consideration", "purchase"],
        "to_touchpoint": ["website", "website", "checkout_payment"],
        "n_customers": [30, 10, 40],
    }
)


def test_the_journey_flow_has_one_node_per_stage_touchpoint_and_one_band_per_flow():
    sankey = interactive.journey_flow(FLOWS).data[0]
    assert list(sankey.node.label) == ["search", "social media", "website", "checkout payment"]
    assert list(sankey.link.value) == [30, 10, 40] and list(sankey.link.target) == [2, 2, 3]


@pytest.fixture(scope="module")
def landmark():
    from cxlab.journeys import build_features

    return retention.landmark_data(build_features(make_journeys(2_000, random_state=0).load()))


def test_retention_curves_and_effects_show_the_same_numbers_as_the_results(landmark):
    curves = retention.retention_curves(landmark, title="Retention")
    figure = curves.plot(interactive=True)
    lines = [t for t in figure.data if t.mode == "lines"]
    assert sorted(t.name for t in lines) == sorted(curves.fitters)
    kmf = curves.fitters[lines[0].name]
    assert np.allclose(lines[0].y, kmf.survival_function_at_times(lines[0].x).to_numpy())  # on its drawn days
    difference = retention.retention_difference(retention.touchpoint_hazard_ratios(landmark))
    bars = interactive.retention_effects(difference.summary).data[0]
    rows = difference.summary.filter(method="retention_diff").drop_nulls("estimate").sort("estimate")
    assert np.allclose(bars.x, 100 * rows["estimate"].to_numpy())


def test_results_without_an_interactive_twin_draw_as_usual():
    dataset = make_journeys(500, random_state=0).load()
    assert journey_map.stage_flows(dataset).plot(interactive=True).data[0].type == "sankey"
    assert hasattr(
        journey_map.stage_funnel(dataset).plot(interactive=True), "get_xlabel"
    )  # a matplotlib Axes


def test_an_exported_page_carries_plotly_js_once():
    figure = interactive.archetype_map(np.zeros((4, 2)), np.array([0, 0, 1, 1]), ["a", "b"])
    assert [t.name for t in figure.data] == ["a", "b"]
    nb = nbformat.v4.new_notebook()
    data = {interactive.PLOTLY_MIME: figure.to_plotly_json()}
    nb.cells = [nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output("display_data", data=data)])
                for _ in range(2)]  # fmt: skip
    assert interactive.embed_in_html(nb) == 2
    first, second = (c.outputs[0]["data"]["text/html"] for c in nb.cells)
    assert len(first) > 1_000_000 and "plotly.js" in first.lower()  # the library, inline
    assert len(second) < 100_000 and "Plotly.newPlot" in second


def test_a_notebook_shows_figures_as_plotlys_output_type_without_loading_its_renderers():
    # plotly's renderers take 2-3 s to import (nbformat's schema validator): every notebook
    # with interactive charts paid it at use_style, before any chart was drawn.
    code = """if True:
        import json, sys
        import numpy as np
        from IPython.core.interactiveshell import InteractiveShell
        from IPython.display import display
        from IPython.utils.capture import capture_output
        from cxlab import interactive, plotting
        InteractiveShell.instance()
        plotting.use_style(interactive=True)
        figure = interactive.archetype_map(np.zeros((4, 2)), np.array([0, 0, 1, 1]), ["a", "b"])
        with capture_output() as shown:
            display(figure)  # as a cell's last value is shown
        spec = shown.outputs[0].data[interactive.PLOTLY_MIME]
        print(json.dumps([len(spec["data"]), spec["config"], "plotly.io._renderers" in sys.modules]))
    """
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    traces, config, renderers = json.loads(done.stdout.strip().splitlines()[-1])
    assert (traces, config, renderers) == (2, interactive.CONFIG, False)

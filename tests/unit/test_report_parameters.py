"""Run parameters are checked against the notebooks' parameters before anything runs, and shown on pages."""

from __future__ import annotations

from datetime import date

import nbformat
import pytest

from cxlab import DataContractError
from cxlab.parameters import list_notebooks, resolve_parameters
from cxlab.report import _add_contents, _add_parameters_table

DECLARED = {
    "01_x.ipynb": {
        "exposure_window_days": {"inferred_type_name": "int"},
        "label": {"inferred_type_name": "str"},
        "share": {"inferred_type_name": "float"},
        "pseudonymize": {"inferred_type_name": "bool"},
        "data_dir": {"inferred_type_name": "str"},
    }
}


def test_values_are_converted_to_the_declared_types():
    given = {
        "exposure_window_days": "45",
        "label": 7,
        "share": "0.5",
        "pseudonymize": "yes",
        "observation_end": date(2025, 6, 30),
    }
    assert resolve_parameters(given, DECLARED) == {
        "exposure_window_days": 45,
        "label": "7",
        "share": 0.5,
        "pseudonymize": True,
        "observation_end": "2025-06-30",
    }


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"exposure_window_days": "thirty"}, "'exposure_window_days' parameter must be an int. Got 'thirty'"),
        ({"exposure_window_days": 2.5}, "must be an int"),
        ({"pseudonymize": "maybe"}, "'pseudonymize' parameter must be a bool"),
        ({"horizon": "180"}, r"Unknown parameter 'horizon'. The notebooks take: exposure_window_days, label"),
        ({"data_dir": "/tmp"}, "set by cxlab run itself"),
    ],
)
def test_bad_parameters_are_errors_naming_the_parameter(given, message):
    with pytest.raises(DataContractError, match=message):
        resolve_parameters(given, DECLARED)


def test_summary_notebook_runs_last(tmp_path):
    for name in ("02_b.ipynb", "00_summary.ipynb", "01_a.ipynb", "notes.ipynb"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in list_notebooks(tmp_path)] == ["01_a.ipynb", "02_b.ipynb", "00_summary.ipynb"]


def test_analyst_pages_list_every_parameter_and_link_their_sections():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Journey map"),
        nbformat.v4.new_code_cell(
            'run_dir: str = "x"  # folder\nsteps: int = 3  # steps', metadata={"tags": ["parameters"]}
        ),
        nbformat.v4.new_code_cell('run_dir = "."', metadata={"tags": ["injected-parameters"]}),
        *(nbformat.v4.new_markdown_cell(f"## Part {i}\n\ntext") for i in range(3)),
    ]
    _add_parameters_table(nb)
    _add_contents(nb)
    assert nb.cells[1].source.startswith("**Contents:** [Part 0](#Part-0) · [Part 1](#Part-1)")
    table = next(c.source for c in nb.cells if c.source.startswith("**Parameters"))
    assert "| run dir | `'.'` | this run |" in table and "| steps | `3` | default |" in table

"""Every shape of the zoo runs through every analysis notebook: no exception, no traceback,
every result table written with its columns, and a plain reason wherever a section has nothing
to show.

The notebooks' own code runs here in this process (a few seconds a shape), displays included;
``test_cli`` and the slow tests below run ``cxlab run`` itself end to end on some shapes.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import polars as pl
import pytest

from cxlab.parameters import list_notebooks, packaged_notebooks
from cxlab.rundir import OUTPUT_TABLES, RunDir
from cxlab.shapes import SHAPES, make_shape
from tests.conftest import assert_no_real_id

matplotlib.use("Agg")

FAST = {"n_bootstrap": 3, "k_max": 6}  # intervals and the choice among many k are not checked here


def _execute(notebook: Path, parameters: dict) -> list[str]:
    """Run the notebook's code cells in one namespace, the parameters cell overridden, and
    render every cell's last value as Jupyter would; return the rendered text."""
    import matplotlib.pyplot as plt

    cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
    namespace: dict = {}
    shown = []
    for i, cell in enumerate(cells):
        source = "".join(cell["source"])
        if i == 0:  # the parameters cell: its defaults, then ours (as papermill injects them)
            exec(source, namespace)
            namespace.update({k: v for k, v in parameters.items() if k in namespace})
            continue
        tree = ast.parse(source)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, notebook.name, "exec"), namespace)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), notebook.name, "eval"), namespace)
            for method in ("_repr_html_", "_repr_markdown_"):
                if hasattr(value, method):
                    shown.append(getattr(value, method)())
            shown.append(repr(value))
        plt.close("all")
    return shown


def _run_shape(name: str, tmp_path: Path) -> tuple[RunDir, list[str]]:
    shape = make_shape(name)
    data_dir = shape.write(tmp_path / "data")
    parameters = {
        "data_dir": str(data_dir),
        "run_dir": str(tmp_path / "run"),
        "mapping_file": str(data_dir / shape.mapping_file) if shape.mapping_file else "",
        **FAST,
    }
    shown = []
    for notebook in list_notebooks(packaged_notebooks()):
        shown += _execute(notebook, parameters)
    return RunDir(tmp_path / "run"), shown


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore")  # small shapes warn (few stable archetypes, Cox convergence)
@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_notebook_runs_on_the_shape(name, tmp_path):
    run, shown = _run_shape(name, tmp_path)
    text = "\n".join(str(s) for s in shown)
    assert "Traceback" not in text
    for table in (t for t in OUTPUT_TABLES.values() if t.every_run):
        frame = run.read_table(table.file)
        assert frame is not None, f"{table.file} was not written"
        assert set(table.columns) <= set(frame.columns), table.file
    # a section without results says why in plain words, never with an empty page
    for reason in re.findall(r"Not estimable: ([^<]*)", text):
        assert len(reason.split()) >= 4, reason


@pytest.mark.slow
@pytest.mark.parametrize("name", ["b2b_funnel", "crm_export"])
def test_cxlab_run_end_to_end(name, tmp_path):
    # b2b_funnel: stages of its own with nine in ten never buying. crm_export: its ids are in
    # 'Account ID', and the run is pseudonymized: no file of it may hold a real id, rejected
    # rows included (the other shapes run in-process above).
    shape = make_shape(name)
    data_dir = shape.write(tmp_path / "data")
    mapping = ["--mapping", str(data_dir / shape.mapping_file)] if shape.mapping_file else []
    private = ["--param", "pseudonymize_ids=true"] if name == "crm_export" else []
    if private:
        accounts = pl.read_csv(data_dir / "accounts.csv", infer_schema=False)
        pl.concat([accounts, accounts.head(5)]).write_csv(data_dir / "accounts.csv")  # 5 rejected
    out = tmp_path / "run"
    cli = Path(sys.executable).with_name("cxlab")
    done = subprocess.run(
        [cli, "run", "--data", data_dir, "--out", out, *mapping, *private], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((out / "manifest.json").read_text())["status"] == "succeeded"
    pages = {p.name: p.read_text() for p in (out / "html").glob("*.html")}
    assert "00_leadership_summary.html" in pages and len(pages) == 6
    assert not [name for name, page in pages.items() if "Traceback" in page]
    if private:
        assert_no_real_id(out, set(accounts["Account ID"]))

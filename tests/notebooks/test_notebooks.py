"""Every committed notebook runs top to bottom with its own default parameters, as an
analyst opening it in JupyterLab would run it: from ``notebooks/``, on ``../data/sample``
(here a small generated sample in a copy of that layout)."""

from __future__ import annotations

import shutil
from pathlib import Path

import papermill as pm
import polars as pl
import pytest

from tests.conftest import write_dataset

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def checkout(tmp_path_factory, generated):
    root = tmp_path_factory.mktemp("checkout")
    shutil.copytree(generated, root / "data" / "sample")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    return root


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_with_its_default_parameters(notebook, checkout):
    source = checkout / "notebooks" / notebook.name
    executed = pm.execute_notebook(
        str(source),
        str(checkout / f"executed-{notebook.name}"),
        cwd=str(source.parent),
        kernel_name="python3",
        progress_bar=False,
    )
    # nothing on stderr: a library's warning would be printed on the page, for its readers
    printed = [o["text"] for c in executed.cells for o in c.get("outputs", []) if o.get("name") == "stderr"]
    assert printed == []


@pytest.mark.notebook
def test_impact_notebook_says_why_when_the_data_cannot_support_it(tiny, tmp_path):
    # Three customers: every touchpoint is below min_exposed and there is one archetype.
    notebook = ROOT / "notebooks" / "04_touchpoint_impact.ipynb"
    executed = tmp_path / "executed.ipynb"
    pm.execute_notebook(
        str(notebook),
        str(executed),
        parameters={"data_dir": str(tiny), "run_dir": str(tmp_path / "run")},
        cwd=str(notebook.parent),
        kernel_name="python3",
        progress_bar=False,
    )
    impact = pl.read_csv(tmp_path / "run" / "tables" / "touchpoint_impact.csv")
    assert impact.height > 0 and impact["estimate"].is_null().all()
    assert impact["note"].str.starts_with("not estimable").all()
    text = executed.read_text()
    assert "nothing to predict" in text and "Log-rank test: one archetype only" in text


@pytest.mark.notebook
def test_impact_notebook_when_nobody_is_followed_past_the_window(tmp_path):
    # Everyone signed up in the last 30 days of the data: nobody reaches the landmark.
    write_dataset(
        tmp_path / "recent",
        customers="customer_id,signup_at\na,2025-04-10\nb,2025-04-20\n",
        interactions="customer_id,timestamp,touchpoint\na,2025-04-10,website\nb,2025-05-01,store\n",
        surveys=None,
    )
    notebook = ROOT / "notebooks" / "04_touchpoint_impact.ipynb"
    executed = tmp_path / "executed.ipynb"
    parameters = {"data_dir": str(tmp_path / "recent"), "run_dir": str(tmp_path / "run")}
    pm.execute_notebook(str(notebook), str(executed), parameters=parameters, cwd=str(notebook.parent),
                        kernel_name="python3", progress_bar=False)  # fmt: skip
    assert "0 of 2 customers" in executed.read_text() and "no churn to explain" in executed.read_text()
    assert pl.read_csv(tmp_path / "run" / "tables" / "touchpoint_impact.csv").height == 0


@pytest.mark.notebook
def test_survey_notebook_without_surveys_says_so(tmp_path):
    directory = write_dataset(tmp_path / "no-surveys", surveys=None)
    notebook = ROOT / "notebooks" / "05_survey.ipynb"
    executed = tmp_path / "executed.ipynb"
    parameters = {"data_dir": str(directory), "run_dir": str(tmp_path / "run")}
    pm.execute_notebook(str(notebook), str(executed), parameters=parameters, cwd=str(notebook.parent),
                        kernel_name="python3", progress_bar=False)  # fmt: skip
    assert "This dataset has no survey answers" in executed.read_text()

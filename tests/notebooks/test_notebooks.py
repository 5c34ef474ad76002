"""Every committed notebook runs top to bottom with its own default parameters, as an
analyst opening it in JupyterLab would run it: from ``notebooks/``, on ``../data/sample``
(here a small generated sample in a copy of that layout)."""

from __future__ import annotations

import shutil
from pathlib import Path

import papermill as pm
import pytest

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
    pm.execute_notebook(
        str(source),
        str(checkout / f"executed-{notebook.name}"),
        cwd=str(source.parent),
        kernel_name="python3",
        progress_bar=False,
    )

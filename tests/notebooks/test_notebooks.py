"""Every committed notebook executes top to bottom with papermill on small generated data."""

from __future__ import annotations

from pathlib import Path

import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_on_small_data(notebook, generated, tmp_path):
    declared = pm.inspect_notebook(str(notebook))
    values = {"data_dir": str(generated), "run_dir": str(tmp_path)}
    pm.execute_notebook(str(notebook), str(tmp_path / notebook.name), cwd=str(notebook.parent),
                        parameters={k: v for k, v in values.items() if k in declared},
                        kernel_name="python3", progress_bar=False)

"""Kernels started ahead of the notebooks that need them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nbformat

from cxlab.kernels import Kernels, imported_modules
from cxlab.parameters import packaged_notebooks


def _notebooks(folder: Path, **sources: str) -> list[Path]:
    paths = []
    for name, source in sources.items():
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(source)]
        nbformat.write(nb, folder / f"{name}.ipynb")
        paths.append(folder / f"{name}.ipynb")
    return paths


async def _cxlab_modules(km) -> list[str]:
    """The cxlab modules imported in ``km``'s kernel."""
    client = km.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        code = "sorted(m for m in __import__('sys').modules if m.startswith('cxlab.'))"
        msg_id = client.execute("", user_expressions={"m": code})
        while (reply := await client.get_shell_msg(timeout=60))["parent_header"].get("msg_id") != msg_id:
            pass
        return eval(reply["content"]["user_expressions"]["m"]["data"]["text/plain"])  # noqa: S307 - a list we wrote
    finally:
        client.stop_channels()


def test_the_modules_a_notebook_imports_are_found_and_only_cxlab_modules():
    quality = packaged_notebooks() / "01_data_quality.ipynb"
    assert imported_modules(quality) == ("cxlab.plotting", "cxlab.quality")


def test_names_that_are_not_modules_and_ipython_syntax_are_left_out(tmp_path):
    (notebook,) = _notebooks(
        tmp_path,
        a="import numpy\nfrom cxlab import load_dataset, survey\nfrom cxlab.cohorts import cohort_retention\n"
        "def f():\n    import cxlab.voice",
    )
    (magic,) = _notebooks(tmp_path, b="%matplotlib inline\nimport cxlab.plotting")
    assert imported_modules(notebook) == ("cxlab.cohorts", "cxlab.survey", "cxlab.voice")
    assert imported_modules(magic) == ()


def test_each_kernel_has_its_own_notebooks_modules_imported_in_any_order(tmp_path):
    notebooks = _notebooks(tmp_path, **{"01_a": "import cxlab.quality", "02_b": "x = 1"})
    with Kernels("python3", str(tmp_path), tmp_path, notebooks, ahead=1) as kernels:
        first, _ = kernels.take("01_a.ipynb")  # the spare started for it
        assert "cxlab.quality" in asyncio.run(_cxlab_modules(first))
    with Kernels("python3", str(tmp_path), tmp_path, notebooks, ahead=1) as kernels:
        second, _ = kernels.take("02_b.ipynb")  # out of the planned order: takes 01_a's spare
        first, _ = kernels.take("01_a.ipynb")  # so this one is started for it
        assert "cxlab.quality" in asyncio.run(_cxlab_modules(first))
        assert asyncio.run(second.is_alive()) and not kernels.spares


def test_a_kernel_started_ahead_that_died_is_replaced(tmp_path):
    notebooks = _notebooks(tmp_path, **{"01_a": "x = 1", "02_b": "x = 2"})
    with Kernels("python3", str(tmp_path), tmp_path, notebooks, ahead=1) as kernels:
        name, dead = kernels.spares[0]
        assert name == "01_a.ipynb"
        asyncio.run(dead.shutdown_kernel(now=True))  # as a kernel that lost its port race
        km, progress = kernels.take("01_a.ipynb")
        assert km is not dead and asyncio.run(km.is_alive())
        assert progress.parent == tmp_path
    assert not asyncio.run(km.is_alive())  # the run's end shuts every kernel down

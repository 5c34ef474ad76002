"""Shared fixtures: tiny inline datasets and a small generated one."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

from cxlab.kernels import THREAD_VARIABLES

# pytest-xdist workers share the cores. OpenMP and BLAS threads beyond a worker's share wait on
# each other (k-means took 3x as long, as the kernels of a run measured), so each worker gets its
# share, set before numpy or scikit-learn start their thread pools. The runs the tests start
# inherit it; one with notebooks side by side sets its kernels' own (cxlab.kernels).
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    _share = max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    for _variable in THREAD_VARIABLES:
        os.environ.setdefault(_variable, str(_share))

import polars as pl  # noqa: E402 - after the thread limits
import pytest  # noqa: E402

from cxlab.synthetic import make_journeys  # noqa: E402

CUSTOMERS = """\
customer_id,signup_at,churned_at,segment
c1,2025-01-10,,consumer
c2,2025-02-01,2025-05-01,business
c3,2025-03-15,,consumer
"""

INTERACTIONS = """\
customer_id,timestamp,touchpoint,value
c1,2025-01-01 09:00:00,search,
c1,2025-01-10 12:00:00,checkout_payment,49.90
c1,2025-02-01 08:30:00,support_team,
c2,2025-01-20,social_media,
c2,2025-02-01T10:00:00Z,store,120
c2,2025-03-01 10:00:00,billing,
c3,2025-03-15 10:00:00+02:00,website,
c3,2025-03-15 11:00:00,checkout_payment,15.5
"""

SURVEYS = """\
customer_id,responded_at,response_id,metric,score,touchpoint,comment
c1,2025-02-10,r1,nps,9,,great
c1,2025-02-10,r1,csat,4,delivery,
c2,2025-03-02,r2,nps,3,,slow
c3,2025-04-01,r3,ces,2,checkout_payment,
"""


def write_dataset(directory: Path, **tables: str | None) -> Path:
    """Write the tiny dataset into ``directory``; keyword arguments replace or drop (None) a table."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {"customers": CUSTOMERS, "interactions": INTERACTIONS, "surveys": SURVEYS, **tables}
    for name, text in files.items():
        if text is not None:
            (directory / f"{name}.csv").write_text(textwrap.dedent(text), encoding="utf-8")
    return directory


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A valid hand-built dataset: 3 customers, 8 interactions, 4 survey answers."""
    return write_dataset(tmp_path / "tiny")


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated dataset (300 customers) written as CSV, with its truth."""
    directory = tmp_path_factory.mktemp("generated")
    make_journeys(300, random_state=1).write(directory)
    return directory


def assert_no_real_id(run: Path, ids: set[str]) -> None:
    """No file of ``run`` holds any of ``ids``, and rejected rows were written (so they count)."""
    assert any(p.parts[-2] == "rejected" for p in run.rglob("*") if p.is_file())
    assert_nothing_holds(run, ids)


def assert_nothing_holds(run: Path, values) -> None:
    """No file of ``run`` (Parquet read as rows, every other file as text) holds any of ``values``."""
    for path in [p for p in run.rglob("*") if p.is_file()]:
        if path.suffix == ".parquet":
            text = " ".join(map(str, pl.read_parquet(path).rows()))
        else:
            text = path.read_bytes().decode("utf-8", errors="replace")
        leaked = [v for v in values if v in text]
        assert not leaked, f"{path} holds {len(leaked)} of them, e.g. {leaked[0]}"

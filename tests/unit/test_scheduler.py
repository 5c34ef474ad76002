"""Notebooks wait for the notebooks they read from, and run side by side otherwise."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import nbformat
import pytest

from cxlab.scheduler import dependencies, execute_all, start_order


def _notebooks(folder: Path, needs: dict[str, list[str] | None]) -> list[Path]:
    paths = []
    for stem, wanted in needs.items():
        nb = nbformat.v4.new_notebook()
        if wanted is not None:
            nb.metadata["cxlab"] = {"needs": wanted}
        nbformat.write(nb, folder / f"{stem}.ipynb")
        paths.append(folder / f"{stem}.ipynb")
    return paths


def test_named_needs_are_kept_and_a_notebook_that_names_none_waits_for_all_before_it(tmp_path):
    a, b, c, d = _notebooks(tmp_path, {"01_a": [], "02_b": ["01_a", "09_absent"], "03_c": [], "04_d": None})
    needs = dependencies([a, b, c, d])
    assert needs == {a: set(), b: {a}, c: set(), d: {a, b, c}}


class _Recorder:
    """An ``execute`` that sleeps, records when each notebook ran, and fails those asked."""

    def __init__(self, seconds: dict[str, float], failing=()):
        self.seconds, self.failing, self.spans, self.lock = seconds, set(failing), {}, threading.Lock()

    def __call__(self, nb: Path) -> bool:
        start = time.monotonic()
        time.sleep(self.seconds[nb.stem])
        with self.lock:
            self.spans[nb.stem] = (start, time.monotonic())
        return nb.stem not in self.failing

    def overlap(self, one: str, other: str) -> bool:
        (a0, a1), (b0, b1) = self.spans[one], self.spans[other]
        return a0 < b1 and b0 < a1


def test_kernels_are_started_ahead_in_the_order_the_notebooks_start_one_at_a_time(tmp_path):
    # The most-waited-for notebook starts first, not the first in run order: a kernel warmed
    # for another notebook would import the modules of this one while it runs.
    notebooks = _notebooks(
        tmp_path,
        {"01_a": [], "02_b": [], "03_c": [], "04_after_c": ["03_c"], "05_after_c": ["03_c"], "00_all": None},
    )
    needs = dependencies(notebooks)
    started = []
    assert execute_all(needs, 1, lambda nb: started.append(nb) or True, stop=lambda: None) == []
    assert start_order(needs) == started
    assert [nb.stem for nb in started[:2]] == ["03_c", "01_a"]


def test_independent_notebooks_overlap_and_each_starts_after_what_it_needs(tmp_path):
    notebooks = _notebooks(
        tmp_path,
        {"01_quick": [], "02_quick": [], "03_long": [], "04_after_long": ["03_long"], "00_all": None},
    )
    order = [*notebooks[:4], notebooks[4]]
    record = _Recorder(
        {"01_quick": 0.2, "02_quick": 0.2, "03_long": 0.6, "04_after_long": 0.2, "00_all": 0.1}
    )
    assert execute_all(dependencies(order), 2, record, stop=lambda: None) == []
    spans = record.spans
    assert spans["04_after_long"][0] >= spans["03_long"][1]
    assert spans["00_all"][0] >= max(end for stem, (_, end) in spans.items() if stem != "00_all")
    assert record.overlap("03_long", "01_quick")  # the long one started first: most wait for it
    starts = sorted(s for s, _ in spans.values())
    ends = sorted(e for _, e in spans.values())
    at_once = max(sum(s <= t < e for s, e in spans.values()) for t in starts)
    assert at_once == 2 and ends[-1] - starts[0] < sum(record.seconds.values())


def test_one_job_runs_one_notebook_at_a_time_in_run_order(tmp_path):
    notebooks = _notebooks(tmp_path, {"01_a": [], "02_b": [], "03_c": []})
    record = _Recorder(dict.fromkeys(["01_a", "02_b", "03_c"], 0.05))
    execute_all(dependencies(notebooks), 1, record, stop=lambda: None)
    spans = [record.spans[s] for s in ("01_a", "02_b", "03_c")]
    assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:], strict=False))


def test_after_a_failure_nothing_new_starts_and_the_rest_is_returned(tmp_path):
    notebooks = _notebooks(tmp_path, {"01_fails": [], "02_slow": [], "03_next": [], "04_needs": ["01_fails"]})
    record = _Recorder(
        {"01_fails": 0.05, "02_slow": 0.4, "03_next": 0.05, "04_needs": 0.05}, failing=["01_fails"]
    )
    left = execute_all(dependencies(notebooks), 2, record, stop=lambda: None)
    assert sorted(p.stem for p in left) == ["03_next", "04_needs"]
    assert set(record.spans) == {"01_fails", "02_slow"}  # the one running went on to its end


def test_an_interruption_stops_the_running_notebooks_and_goes_on(tmp_path):
    notebooks = _notebooks(tmp_path, {"01_a": [], "02_b": []})
    release = threading.Event()
    stopped = []

    def execute(nb: Path) -> bool:
        if nb.stem == "01_a":
            raise KeyboardInterrupt  # as the main thread would see Ctrl-C
        release.wait(5)
        return False

    def stop() -> None:
        stopped.append(True)
        release.set()  # as shutting the kernel down ends the notebook

    with pytest.raises(KeyboardInterrupt):
        execute_all(dependencies(notebooks), 2, execute, stop)
    assert stopped and release.is_set()


ARCHETYPES_READ = ("run.archetypes", "run.landmark", "run.archetype_alternatives")  # and landmark_archetypes


def test_every_packaged_notebook_that_reads_the_archetypes_waits_for_their_notebook():
    from cxlab.parameters import list_notebooks, packaged_notebooks

    notebooks = list_notebooks(packaged_notebooks())
    needs = dependencies(notebooks)
    archetypes = packaged_notebooks() / "03_archetypes.ipynb"
    readers = [nb for nb in notebooks if any(r in nb.read_text(encoding="utf-8") for r in ARCHETYPES_READ)]
    assert readers and all(archetypes in needs[nb] for nb in readers if nb != archetypes)
    assert needs[notebooks[-1]] == set(notebooks[:-1])  # the summary waits for every page


def test_what_waits_through_others_counts_for_the_order(tmp_path):
    from cxlab.scheduler import _waited_for

    a, b, c, d = _notebooks(tmp_path, {"01_a": [], "02_b": ["01_a"], "03_c": ["02_b"], "04_d": ["03_c"]})
    needs = dependencies([a, b, c, d])
    assert [_waited_for(nb, needs) for nb in (a, b, c, d)] == [3, 2, 1, 0]

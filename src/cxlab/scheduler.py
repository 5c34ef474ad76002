"""Which notebooks of a run wait for which, and executing them side by side where they may.

A notebook names the notebooks whose results it reads in its metadata::

    "metadata": {"cxlab": {"needs": ["03_archetypes"]}}

and starts once they have succeeded. A notebook without that entry waits for every notebook
before it in run order, as a notebook written for a one-at-a-time run expects; the summary
(``00_...``, last in run order) thus waits for all of them.

Examples
--------
>>> from pathlib import Path
>>> from cxlab.parameters import packaged_notebooks, list_notebooks
>>> needs = dependencies(list_notebooks(packaged_notebooks()))
>>> sorted(p.stem for p in needs[packaged_notebooks() / "04_touchpoint_impact.ipynb"])
['03_archetypes']
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from pathlib import Path


def dependencies(notebooks: list[Path]) -> dict[Path, set[Path]]:
    """Notebook -> the notebooks (of ``notebooks``, in run order) it waits for."""
    by_stem = {nb.stem: nb for nb in notebooks}
    needs = {}
    for i, nb in enumerate(notebooks):
        named = json.loads(nb.read_text(encoding="utf-8")).get("metadata", {}).get("cxlab", {}).get("needs")
        needs[nb] = set(notebooks[:i]) if named is None else {by_stem[s] for s in named if s in by_stem}
    return needs


def execute_all(
    needs: dict[Path, set[Path]], jobs: int, execute: Callable[[Path], bool], stop: Callable[[], None]
) -> list[Path]:
    """Run ``execute(nb)`` (True when it succeeded) for each notebook once those it needs have
    succeeded, at most ``jobs`` at a time, each in a thread; the notebook that most others wait
    for starts first. After a failure no other notebook starts.

    Returns the notebooks never started. If the caller is interrupted (Ctrl-C, SIGTERM),
    ``stop()`` ends the running notebooks (by shutting their kernels down) and their threads
    are given time to record that before the interruption goes on.
    """
    waiting, done, running = list(needs), set(), {}
    finished: queue.Queue = queue.Queue()
    failed = False

    def work(nb: Path) -> None:
        try:
            finished.put((nb, execute(nb), None))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
            finished.put((nb, False, exc))

    try:
        while waiting or running:
            ready = [] if failed else [nb for nb in waiting if needs[nb] <= done]
            for nb in sorted(ready, key=lambda nb: -_waited_for(nb, needs))[: jobs - len(running)]:
                waiting.remove(nb)
                running[nb] = threading.Thread(target=work, args=(nb,), daemon=True, name=nb.stem)
                running[nb].start()
            if not running:
                break  # a failure, or what is left waits for a notebook that failed
            nb, succeeded, error = finished.get()
            running.pop(nb).join()
            if error is not None:
                raise error
            done |= {nb} if succeeded else set()
            failed = failed or not succeeded
    except BaseException:
        stop()
        for thread in running.values():
            thread.join(timeout=30)
        raise
    return waiting


def start_order(needs: dict[Path, set[Path]]) -> list[Path]:
    """The notebooks in the order :func:`execute_all` starts them when each succeeds: exact
    one at a time, the likely order side by side (kernels are started ahead in this order)."""
    order: list[Path] = []
    while len(order) < len(needs):
        ready = [nb for nb in needs if nb not in order and needs[nb] <= set(order)]
        if not ready:  # a cycle: execute_all never starts these
            return order + [nb for nb in needs if nb not in order]
        order.append(min(ready, key=lambda nb: -_waited_for(nb, needs)))  # the first of ties, as there
    return order


def _waited_for(nb: Path, needs: dict[Path, set[Path]]) -> int:
    """How many notebooks wait for ``nb``, directly or through others."""
    later, frontier = set(), {nb}
    while frontier:
        frontier = {other for other, wanted in needs.items() if wanted & frontier} - later
        later |= frontier
    return len(later)

"""The kernels a run executes its notebooks in: one fresh process per notebook, as papermill
would start it, but started before the notebook needs it, with cxlab's modules already
imported. A notebook then waits neither for its kernel nor for the imports (about 5 s each)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import threading
from pathlib import Path

from cxlab import progress

logger = logging.getLogger(__name__)

WARM_MODULES = (
    "cxlab.plotting",
    "cxlab.interactive",
    "cxlab.journey_map",
    "cxlab.churn_journeys",
    "cxlab.cohorts",
    "cxlab.archetypes",
    "cxlab.retention",
    "cxlab.survey",
    "cxlab.comments",
)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

# Imported in a throwaway namespace: a notebook that forgets an import fails in a run as it
# would on its own.
_WARM = f"import importlib as _i; [_i.import_module(m) for m in {WARM_MODULES!r}]; del _i"


class Kernels:
    """Hands out started kernels for ``total`` notebooks, keeping ``ahead`` of them started
    before they are needed (one per notebook that may run at once). Each kernel writes its
    progress lines to its own file in ``logs`` (``CXLAB_PROGRESS_FILE``). Safe to use from
    several threads. Use as a context manager, so that no kernel (spare or running) outlives
    the run."""

    def __init__(
        self, kernel_name: str, cwd: str, logs: Path, total: int, ahead: int = 1, threads: int | None = None
    ) -> None:
        self.kernel_name, self.cwd, self.logs, self.left, self.ahead = kernel_name, cwd, logs, total, ahead
        # Kernels running side by side share the cores: OpenMP and BLAS threads beyond a
        # kernel's share would wait on each other (k-means took 3x as long, measured).
        self.threads = {v: str(threads) for v in THREAD_VARIABLES} if threads else {}
        self.arguments = _arguments(kernel_name)
        self.spares: list = []
        self.running: set = set()
        self.files: dict = {}  # kernel manager -> its progress file
        self.numbers = itertools.count(1)
        self.lock = threading.Lock()
        self.closed = False

    def __enter__(self) -> Kernels:
        self._top_up()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_all()

    def take(self):
        """A started kernel manager for the next notebook (a spare, or a new one), and the
        file its progress lines go to; spares for later notebooks are started meanwhile."""
        with self.lock:
            km = self.spares.pop(0) if self.spares else None
            self.left -= 1
        if km is not None and not asyncio.run(km.is_alive()):
            # It died starting: another process took a port it had picked (ZMQ "Address
            # already in use"), a race of kernels started at once. A new one picks again.
            logger.info("A kernel started ahead had died; starting another")
            self.stop(km)
            km = None
        km = km or self._start()
        with self.lock:
            closed = self.closed
            if not closed:
                self.running.add(km)
        if closed:  # the run was stopped while this kernel started
            self.stop(km)
            raise RuntimeError("the run was stopped")
        self._top_up()
        return km, self.files[km]

    def _top_up(self) -> None:
        with self.lock:
            while not self.closed and len(self.spares) < min(self.ahead, self.left):
                self.spares.append(self._start())

    def stop(self, km) -> None:
        """Shut ``km``'s kernel down (the caller owns the kernels it took); one that died
        already needs nothing more."""
        with self.lock:
            self.running.discard(km)
        if km.has_kernel:
            try:
                asyncio.run(km.shutdown_kernel(now=True))
            except Exception as exc:  # noqa: BLE001 - a kernel that is gone is what we want
                logger.debug("kernel shut-down: %s", exc)

    def stop_all(self) -> None:
        """Shut down the spares and every running kernel (an interrupted run)."""
        with self.lock:
            kernels, self.spares = [*self.running, *self.spares], []
            self.closed = True
        for km in kernels:
            self.stop(km)

    def _start(self):
        from jupyter_client.manager import AsyncKernelManager

        km = AsyncKernelManager(kernel_name=self.kernel_name)
        self.files[km] = (self.logs / f"kernel-{next(self.numbers)}.progress.txt").absolute()
        env = {**os.environ, **self.threads, progress.ENV: str(self.files[km])}
        asyncio.run(km.start_kernel(cwd=self.cwd, env=env, extra_arguments=self.arguments))
        return km


def _arguments(kernel_name: str) -> list[str]:
    """For an IPython kernel: keep its start-up warnings (such as "running over TCP without
    encryption", a local kernel's normal state) off the run's stderr, and import cxlab's
    modules at start-up. None for other kernels."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        argv = KernelSpecManager().get_kernel_spec(kernel_name).argv
    except NoSuchKernel:
        return []
    if not any("ipykernel" in a for a in argv):
        return []
    return ["--IPKernelApp.log_level=ERROR", f"--IPKernelApp.exec_lines={_WARM}"]

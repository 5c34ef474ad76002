"""The kernels a run executes its notebooks in: one fresh process per notebook, as papermill
would start it, but started before the notebook needs it, with the cxlab modules that notebook
imports already imported. A notebook then waits neither for its kernel nor for the imports
(about 5 s each)."""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import itertools
import json
import logging
import os
import threading
from pathlib import Path

from cxlab import progress

logger = logging.getLogger(__name__)

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def imported_modules(notebook: Path) -> tuple[str, ...]:
    """The cxlab modules the code cells of ``notebook`` import (``import cxlab.x``, ``from
    cxlab import x`` where x is a module, ``from cxlab.x import y``), sorted. Its kernel imports
    these ahead; a notebook that imports none of them (the heavy libraries behind plotting and
    the models) does not pay for them (3.6 s of a trivial notebook's run)."""
    found = set()
    cells = json.loads(Path(notebook).read_text(encoding="utf-8")).get("cells", [])
    for cell in (c for c in cells if c.get("cell_type") == "code"):
        try:
            tree = ast.parse("".join(cell.get("source", "")))
        except SyntaxError:  # IPython syntax (magics): its imports are not warmed
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module)
                if node.module == "cxlab":  # a module, or a name from cxlab's __init__
                    found.update(f"cxlab.{a.name}" for a in node.names)
    # find_spec of cxlab.x imports only cxlab itself (light): never a module it looks for
    cxlab = (m for m in found if m.count(".") == 1 and m.startswith("cxlab."))
    return tuple(sorted(m for m in cxlab if importlib.util.find_spec(m) is not None))


class Kernels:
    """Hands out started kernels for ``notebooks`` (in the order they will likely run), keeping
    ``ahead`` of them started before they are needed (one per notebook that may run at once),
    each with the cxlab modules its notebook imports already imported. Each kernel writes its
    progress lines to its own file in ``logs`` (``CXLAB_PROGRESS_FILE``). Safe to use from
    several threads. Use as a context manager, so that no kernel (spare or running) outlives
    the run."""

    def __init__(
        self,
        kernel_name: str,
        cwd: str,
        logs: Path,
        notebooks: list[Path],
        ahead: int = 1,
        threads: int | None = None,
    ) -> None:
        self.kernel_name, self.cwd, self.logs, self.ahead = kernel_name, cwd, logs, ahead
        # Kernels running side by side share the cores: OpenMP and BLAS threads beyond a
        # kernel's share would wait on each other (k-means took 3x as long, measured).
        self.threads = {v: str(threads) for v in THREAD_VARIABLES} if threads else {}
        self.ipython = _is_ipython(kernel_name)
        self.warm = {nb.name: imported_modules(nb) for nb in notebooks}
        self.planned = [nb.name for nb in notebooks]  # no kernel started for them yet
        self.left = len(notebooks)
        self.spares: list = []  # (notebook, kernel manager started for it)
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

    def take(self, notebook: str):
        """A started kernel manager for ``notebook`` (the spare started for it, another spare,
        or a new one), and the file its progress lines go to; spares for later notebooks are
        started meanwhile."""
        with self.lock:
            at = next((i for i, (name, _) in enumerate(self.spares) if name == notebook), 0)
            planned_for, km = self.spares.pop(at) if self.spares else (notebook, None)
            if planned_for != notebook:  # its notebook still needs one; this one's is not needed
                self.planned.insert(0, planned_for)
            if notebook in self.planned:
                self.planned.remove(notebook)
            self.left -= 1
        if km is not None and not asyncio.run(km.is_alive()):
            # It died starting: another process took a port it had picked (ZMQ "Address
            # already in use"), a race of kernels started at once. A new one picks again.
            logger.info("A kernel started ahead had died; starting another")
            self.stop(km)
            km = None
        km = km or self._start(notebook)
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
            while not self.closed and self.planned and len(self.spares) < min(self.ahead, self.left):
                name = self.planned.pop(0)
                self.spares.append((name, self._start(name)))

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
            kernels, self.spares = [*self.running, *(km for _, km in self.spares)], []
            self.closed = True
        for km in kernels:
            self.stop(km)

    def _start(self, notebook: str):
        from jupyter_client.manager import AsyncKernelManager

        km = AsyncKernelManager(kernel_name=self.kernel_name)
        self.files[km] = (self.logs / f"kernel-{next(self.numbers)}.progress.txt").absolute()
        env = {**os.environ, **self.threads, progress.ENV: str(self.files[km])}
        arguments = _arguments(self.warm.get(notebook, ())) if self.ipython else []
        asyncio.run(km.start_kernel(cwd=self.cwd, env=env, extra_arguments=arguments))
        return km


def _is_ipython(kernel_name: str) -> bool:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        argv = KernelSpecManager().get_kernel_spec(kernel_name).argv
    except NoSuchKernel:
        return False
    return any("ipykernel" in a for a in argv)


def _arguments(warm: tuple[str, ...]) -> list[str]:
    """For an IPython kernel: keep its start-up warnings (such as "running over TCP without
    encryption", a local kernel's normal state) off the run's stderr, and import the ``warm``
    modules at start-up, in a throwaway namespace: a notebook that forgets an import fails in a
    run as it would on its own."""
    imports = f"import importlib as _i; [_i.import_module(m) for m in {warm!r}]; del _i"
    return ["--IPKernelApp.log_level=ERROR", *([f"--IPKernelApp.exec_lines={imports}"] if warm else [])]

"""The kernels a run executes its notebooks in: one fresh process per notebook, as papermill
would start it, but started while the notebook before it runs, with cxlab's modules already
imported. A notebook then waits neither for its kernel nor for the imports (about 5 s each)."""

from __future__ import annotations

import asyncio
import logging

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
# Imported in a throwaway namespace: a notebook that forgets an import fails in a run as it
# would on its own.
_WARM = f"import importlib as _i; [_i.import_module(m) for m in {WARM_MODULES!r}]; del _i"


class Kernels:
    """Hands out started kernels; :meth:`prepare` starts the next one in the background.
    Use as a context manager, so that a spare kernel never outlives the run."""

    def __init__(self, kernel_name: str, cwd: str) -> None:
        self.kernel_name, self.cwd = kernel_name, cwd
        self.arguments = _arguments(kernel_name)
        self.spare = None

    def __enter__(self) -> Kernels:
        return self

    def __exit__(self, *exc) -> None:
        if self.spare is not None:
            self.stop(self.spare)
            self.spare = None

    def take(self):
        """A started kernel manager for the next notebook (the spare, or a new one)."""
        km, self.spare = self.spare or self._start(), None
        return km

    def prepare(self) -> None:
        """Start the kernel of the notebook after this one, now."""
        if self.spare is None:
            self.spare = self._start()

    def stop(self, km) -> None:
        """Shut ``km``'s kernel down (the caller owns the kernels it took); one that died
        already needs nothing more."""
        if km.has_kernel:
            try:
                asyncio.run(km.shutdown_kernel(now=True))
            except Exception as exc:  # noqa: BLE001 - a kernel that is gone is what we want
                logger.debug("kernel shut-down: %s", exc)

    def _start(self):
        from jupyter_client.manager import AsyncKernelManager

        km = AsyncKernelManager(kernel_name=self.kernel_name)
        asyncio.run(km.start_kernel(cwd=self.cwd, extra_arguments=self.arguments))
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

"""Kernels started ahead of the notebooks that need them."""

from __future__ import annotations

import asyncio

from cxlab.kernels import Kernels


def test_a_kernel_started_ahead_that_died_is_replaced(tmp_path):
    with Kernels("python3", str(tmp_path), tmp_path, total=2, ahead=1) as kernels:
        dead = kernels.spares[0]
        asyncio.run(dead.shutdown_kernel(now=True))  # as a kernel that lost its port race
        km, progress = kernels.take()
        assert km is not dead and asyncio.run(km.is_alive())
        assert progress.parent == tmp_path
    assert not asyncio.run(km.is_alive())  # the run's end shuts every kernel down

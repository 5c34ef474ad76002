"""Progress of long steps, for the person waiting on ``cxlab run``.

Library code calls :func:`report` as it passes a milestone (loading a table, fitting a model,
a bootstrap round). The message goes to the ``cxlab.progress`` logger, which the CLI prints
to stderr and a notebook leaves out of its page; inside a run's kernels it is also appended
to the file named by ``CXLAB_PROGRESS_FILE`` (one per kernel, see :mod:`cxlab.kernels`),
which :func:`watch` in the runner relays to the CLI. ``watch`` also says "still running"
whenever nothing was said for ten seconds, so that a long run is never silent.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ENV = "CXLAB_PROGRESS_FILE"
SILENCE = 10.0  # seconds; the longest a run stays quiet on the CLI

logger = logging.getLogger("cxlab.progress")


def report(message: str) -> None:
    """Say what a long step is doing now (one short line)."""
    logger.info(message)
    path = os.environ.get(ENV)
    if path:
        try:
            with open(path, "a", encoding="utf-8") as stream:
                stream.write(message.replace("\n", " ") + "\n")
        except OSError:  # progress is a courtesy: it never stops the work
            pass


@contextmanager
def watch(label: str, relay: Path | None = None, *, every: float = SILENCE):
    """While the block runs: relay new lines of ``relay`` (the file a kernel was started to
    write with ``CXLAB_PROGRESS_FILE``) to the log, and log "LABEL still running" after
    ``every`` seconds without a line."""
    if relay is not None:
        relay.touch()
    offset = relay.stat().st_size if relay is not None else 0  # what was said before is not news
    done = threading.Event()
    thread = threading.Thread(target=_relay, args=(label, relay, offset, every, done), daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _relay(label: str, relay: Path | None, offset: int, every: float, done: threading.Event) -> None:
    start = last = time.monotonic()
    while not done.wait(0.5):
        if relay is not None and relay.exists():
            with relay.open(encoding="utf-8", errors="replace") as stream:
                stream.seek(offset)
                lines = stream.readlines()
                offset = stream.tell()
            for line in lines:
                logger.info("%s: %s", label, line.rstrip("\n"))
                last = time.monotonic()
        if time.monotonic() - last >= every:
            logger.info("%s still running (%.0f s)", label, time.monotonic() - start)
            last = time.monotonic()

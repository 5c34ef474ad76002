"""Where a run lands: one run at a time per folder, built aside, moved into place when done.

* :func:`run_lock`: a lock file beside the run folder (``.NAME.lock``, holding the process
  id) stops a second run into the same place; a lock whose process is gone is removed.
* :func:`clean_leftovers`: partial folders of runs whose process was killed outright
  (SIGKILL leaves them behind) are removed by the next run into the same parent, and reported.
* :func:`reserve_space`: a run holds 1 MiB of disk from its start, released just before its
  manifest is written, so that a run that fills the disk can still say it failed.
* :func:`place`: the finished run is renamed into place. With ``overwrite``, the previous
  run stays until the new one has succeeded and is then replaced; a failed new run goes to
  ``NAME.failed`` beside it and the previous run is kept.

Examples
--------
>>> from pathlib import Path
>>> out = Path(getfixture("tmp_path")) / "weekly"
>>> with run_lock(out):
...     (out.parent / ".weekly.lock").is_file()
True
>>> (out.parent / ".weekly.lock").exists()
False
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cxlab.exceptions import DataContractError

logger = logging.getLogger(__name__)


@contextmanager
def run_lock(out: Path) -> Iterator[None]:
    """Hold ``.NAME.lock`` beside run folder ``out`` while the block runs."""
    lock = out.parent / f".{out.name}.lock"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        probe = out.parent / f".{out.name}.probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise DataContractError(f"Cannot write a run into {out.parent}: {exc.strerror}.") from None
    if lock.exists():
        owner = _pid(lock)
        if owner is not None and _alive(owner):
            raise DataContractError(
                f"Another cxlab run into {out} is in progress (process {owner}, lock file {lock}); "
                "wait for it to finish or choose another --out."
            )
        logger.warning("Removed the lock %s of a run (process %s) that is no longer running", lock, owner)
        lock.unlink(missing_ok=True)
    try:
        handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:  # another run took it between the check and now
        raise DataContractError(
            f"Another cxlab run into {out} has just started (lock file {lock})."
        ) from None
    os.write(handle, str(os.getpid()).encode())
    os.close(handle)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def clean_leftovers(parent: Path) -> list[Path]:
    """Remove the partial run folders in ``parent`` whose process is gone; return them."""
    removed = []
    for path in sorted(parent.glob(".*.partial-*")):
        pid = path.name.rsplit("-", 1)[-1]
        if path.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    for path in removed:
        logger.warning("Removed %s, left behind by a run that was killed", path)
    return removed


RESERVE = ".space-reserve"
RESERVE_BYTES = 1 << 20  # a manifest of a run with hundreds of inputs is well under 100 KiB


def reserve_space(folder: Path) -> None:
    """Hold :data:`RESERVE_BYTES` of disk in ``folder`` (see :func:`release_space`)."""
    handle = os.open(folder / RESERVE, os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        os.posix_fallocate(handle, 0, RESERVE_BYTES)
    finally:
        os.close(handle)


def release_space(folder: Path) -> None:
    """Give back the disk :func:`reserve_space` held, for the manifest to be written in."""
    (folder / RESERVE).unlink(missing_ok=True)


def place(partial: Path, out: Path, *, succeeded: bool) -> Path:
    """Rename the finished run ``partial`` to ``out`` and return where it went (see module docs)."""
    if out.exists() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        partial.rename(out)
        return out
    if not succeeded:  # keep the previous run; the failed one beside it
        failed = out.parent / f"{out.name}.failed"
        shutil.rmtree(failed, ignore_errors=True)
        partial.rename(failed)
        return failed
    previous = out.parent / f".{out.name}.replaced-{os.getpid()}"
    out.rename(previous)
    partial.rename(out)
    shutil.rmtree(previous, ignore_errors=True)
    return out


def _pid(lock: Path) -> int | None:
    try:
        text = lock.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True

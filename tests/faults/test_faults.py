"""Fault injection: kill the runner and its kernel at several points, fill a small disk, run
twice at once, corrupt a sibling manifest; after each, the run-lifecycle rules of the data
contract (§5) must hold: a manifest that says what happened, no hidden folder or lock left
behind (or, after SIGKILL, cleaned and reported by the next run), no orphan kernel, no
traceback of cxlab's, and the exit status of the contract."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from tests.cli.test_cli import CXLAB, _notebook, cxlab

pytestmark = [pytest.mark.fault, pytest.mark.notebook]


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory) -> Path:
    """Two small notebooks: the second marks that it started, can fill the disk, then sleeps."""
    folder = tmp_path_factory.mktemp("notebooks")
    _notebook(
        folder / "01_first.ipynb",
        'run_dir: str = "."',
        "import pathlib; pathlib.Path('tables/first.done').touch()",
    )
    _notebook(
        folder / "02_second.ipynb",
        'run_dir: str = "."\nsleep_seconds: float = 0\nfill_megabytes: int = 0',
        "import pathlib, time\npathlib.Path('tables/second.started').touch()\n"
        "pathlib.Path('tables/fill.bin').write_bytes(b'x' * fill_megabytes * 2**20)\n"
        "time.sleep(sleep_seconds)",
    )
    return folder


def start(tiny: Path, out: Path, notebooks: Path, *params: str) -> subprocess.Popen:
    args = [CXLAB, "run", "--data", str(tiny), "--out", str(out), "--notebooks", str(notebooks)]
    for param in params:
        args += ["--param", param]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(pattern: str, parent: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not list(parent.glob(pattern)):
        assert time.monotonic() < deadline, f"{pattern} never appeared in {parent}"
        time.sleep(0.2)


def assert_no_orphans(children: list[psutil.Process]) -> None:
    """Every process the runner started (its kernels) ends within 15 s of the runner."""
    _, alive = psutil.wait_procs(children, timeout=15)
    assert not alive, [p.cmdline() for p in alive]


def assert_no_cxlab_traceback(stderr: str) -> None:
    assert not re.search(r'File ".*/cxlab/', stderr), stderr  # the kernel may log its own


def hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def manifest(run: Path) -> dict:
    return json.loads((run / "manifest.json").read_text())


@pytest.mark.parametrize("point", ["dataset", "tables/first.done", "tables/second.started"])
def test_sigkill_of_the_runner_leaves_leftovers_the_next_run_cleans_and_reports(
    tiny, tmp_path, notebooks, point
):
    runs = tmp_path / "runs"
    process = start(tiny, runs / "weekly", notebooks, "sleep_seconds=60")
    wait_for(f".weekly.partial-*/{point}", runs)
    children = psutil.Process(process.pid).children(recursive=True)
    process.kill()
    process.communicate(timeout=30)
    assert_no_orphans(children)  # the kernel notices its parent is gone
    assert hidden(runs) == [".weekly.lock", f".weekly.partial-{process.pid}"]  # what SIGKILL leaves
    again = cxlab("run", "--data", tiny, "--out", runs / "weekly", "--notebooks", notebooks)
    assert again.returncode == 0, again.stderr
    assert "no longer running" in again.stderr and "left behind by a run that was killed" in again.stderr
    assert hidden(runs) == [] and manifest(runs / "weekly")["status"] == "succeeded"


@pytest.fixture(scope="module")
def side_by_side(notebooks, tmp_path_factory) -> Path:
    """The same two notebooks, declared independent: they run at the same time."""
    folder = tmp_path_factory.mktemp("side_by_side")
    for path in notebooks.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        nb.metadata["cxlab"] = {"needs": []}
        nbformat.write(nb, folder / path.name)
    return folder


@pytest.mark.parametrize(
    ("sig", "together"), [(signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGTERM, True)]
)
def test_sigterm_or_ctrl_c_ends_the_run_as_failed_with_what_succeeded(
    tiny, tmp_path, notebooks, side_by_side, sig, together
):
    runs = tmp_path / "runs"
    process = start(tiny, runs / "r", side_by_side if together else notebooks, "sleep_seconds=60")
    wait_for(".r.partial-*/tables/second.started", runs)
    if together:
        wait_for(".r.partial-*/html/01_first.html", runs)  # the first one has finished
    children = psutil.Process(process.pid).children(recursive=True)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1 and "its manifest says failed" in stderr
    assert_no_cxlab_traceback(stderr)
    assert_no_orphans(children)
    written = manifest(runs / "r")
    assert written["status"] == "failed"
    assert [n["status"] for n in written["notebooks"]][0] == "succeeded"
    assert hidden(runs) == []


def mounted_disk(path: Path, size: str) -> Path:
    """A tmpfs of ``size`` at ``path`` (root only: skipped elsewhere, with the reason)."""
    path.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if done.returncode:
        pytest.skip(f"cannot mount a small disk to fill: {done.stderr.decode().strip()}")
    return path


@pytest.mark.parametrize(
    ("size", "packaged", "failed_at"),
    [
        ("600k", False, None),  # too small for the run's reserve: fails before any notebook
        ("2m", False, "02_second.ipynb"),  # the notebook fills the disk itself
        ("2m", True, None),  # the real notebooks outgrow it (which one first depends on timing)
    ],
)
def test_a_full_disk_ends_the_run_as_failed_in_one_line(tiny, tmp_path, notebooks, size, packaged, failed_at):
    disk = mounted_disk(tmp_path / "disk", size)
    try:
        args = ["run", "--data", tiny, "--out", disk / "r"]
        args += [] if packaged else ["--notebooks", notebooks, "--param", "fill_megabytes=4"]
        result = cxlab(*args)
        assert result.returncode == 1, result.stderr
        assert "No space left on device" in result.stderr.splitlines()[-1]
        assert_no_cxlab_traceback(result.stderr)
        written = manifest(disk / "r")
        assert written["status"] == "failed" and "No space left on device" in written["error"]
        statuses = {n["name"]: n["status"] for n in written["notebooks"]}
        if failed_at:
            assert statuses[failed_at] == "failed"
            assert written["notebooks"][0]["status"] == "succeeded"  # the first one did succeed
        assert hidden(disk) == [] and not (disk / "r" / ".space-reserve").exists()
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_two_runs_into_one_place_at_once_one_is_refused_the_other_succeeds(tiny, tmp_path, notebooks):
    runs = tmp_path / "runs"
    first = start(tiny, runs / "r", notebooks, "sleep_seconds=8")
    wait_for(".r.lock", runs)
    second = cxlab("run", "--data", tiny, "--out", runs / "r", "--notebooks", notebooks)
    assert second.returncode == 2 and "Another cxlab run into" in second.stderr
    _, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert manifest(runs / "r")["status"] == "succeeded" and hidden(runs) == []


def test_a_corrupt_sibling_manifest_is_skipped_with_a_warning(tiny, tmp_path, notebooks):
    runs = tmp_path / "runs"
    (runs / "older").mkdir(parents=True)
    (runs / "older" / "manifest.json").write_text('{"status": "succ')
    result = cxlab("run", "--data", tiny, "--out", runs / "r", "--notebooks", notebooks)
    assert result.returncode == 0, result.stderr
    assert "older" in (runs / "index.html").read_text() and "unreadable" in (runs / "index.html").read_text()
    assert_no_cxlab_traceback(result.stderr)


@pytest.mark.parametrize("where", ["a file", "a read-only folder"])
def test_an_out_that_cannot_hold_a_run_is_one_line_and_creates_nothing(tiny, tmp_path, notebooks, where):
    if where == "a file":
        out = tmp_path / "taken"
        out.write_text("not a folder")
    else:
        out = mounted_disk(tmp_path / "ro", "1m")
        subprocess.run(["mount", "-o", "remount,ro", str(out)], check=True)
        out = out / "r"
    try:
        result = cxlab("run", "--data", tiny, "--out", out, "--notebooks", notebooks)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [out.name if where == "a file" else "ro", "tiny"]
        )
    finally:
        if where != "a file":
            subprocess.run(["umount", str(out.parent)], check=False)

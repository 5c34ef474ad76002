"""Progress of long steps reaches the CLI's log, from the runner and from a kernel's file."""

from __future__ import annotations

import logging
import time

from cxlab import progress


def test_watch_relays_a_kernels_lines_and_breaks_long_silences(tmp_path, caplog, monkeypatch):
    relay = tmp_path / "progress.log"
    relay.write_text("what the kernel said before the notebook started\n")
    with caplog.at_level(logging.INFO, logger="cxlab.progress"):
        with progress.watch("[2/6] 02_journey_map", relay, every=0.6):
            monkeypatch.setenv(progress.ENV, str(relay))  # as the kernel was started
            progress.report("features of 1,000 customers")  # as the kernel would write it
            time.sleep(1.0)
            time.sleep(1.0)  # nothing said for more than `every`
    messages = [r.getMessage() for r in caplog.records]
    assert "[2/6] 02_journey_map: features of 1,000 customers" in messages
    assert any(m.startswith("[2/6] 02_journey_map still running (") for m in messages)
    assert not any("before the notebook" in m for m in messages)


def test_report_without_a_relay_only_logs(tmp_path, caplog, monkeypatch):
    monkeypatch.delenv(progress.ENV, raising=False)
    with caplog.at_level(logging.INFO, logger="cxlab.progress"):
        progress.report("validating 10 rows")
    assert [r.getMessage() for r in caplog.records] == ["validating 10 rows"]
    assert list(tmp_path.iterdir()) == []

"""Progress of long steps reaches the CLI's log, from the runner and from a kernel's file."""

from __future__ import annotations

import logging
import os
import time

from cxlab import progress


def test_watch_relays_a_kernels_lines_and_breaks_long_silences(tmp_path, caplog):
    relay = tmp_path / "progress.log"
    relay.write_text("what an earlier notebook said\n")
    with caplog.at_level(logging.INFO, logger="cxlab.progress"):
        with progress.watch("[2/6] 02_journey_map", relay, every=0.6):
            assert os.environ[progress.ENV] == str(relay)  # what a kernel started now inherits
            progress.report("features of 1,000 customers")  # as the kernel would write it
            time.sleep(1.0)
            time.sleep(1.0)  # nothing said for more than `every`
    messages = [r.getMessage() for r in caplog.records]
    assert "[2/6] 02_journey_map: features of 1,000 customers" in messages
    assert any(m.startswith("[2/6] 02_journey_map still running (") for m in messages)
    assert not any("earlier notebook" in m for m in messages)
    assert progress.ENV not in os.environ  # restored after the notebook


def test_report_without_a_relay_only_logs(tmp_path, caplog, monkeypatch):
    monkeypatch.delenv(progress.ENV, raising=False)
    with caplog.at_level(logging.INFO, logger="cxlab.progress"):
        progress.report("validating 10 rows")
    assert [r.getMessage() for r in caplog.records] == ["validating 10 rows"]
    assert list(tmp_path.iterdir()) == []

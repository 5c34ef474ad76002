"""The reports index lists every run, and a broken sibling run does not break it."""

from __future__ import annotations

import json

from cxlab.run_index import write_index


def test_an_unreadable_manifest_is_listed_not_fatal(tmp_path):
    good, broken = tmp_path / "good", tmp_path / "broken"
    good.mkdir()
    broken.mkdir()
    (good / "manifest.json").write_text(json.dumps({"status": "succeeded", "started_at": "2026-01-01"}))
    (broken / "manifest.json").write_text("{not json")
    page = write_index(tmp_path).read_text()
    assert "2 runs" in page
    assert "unreadable" in page and "manifest.json cannot be read" in page

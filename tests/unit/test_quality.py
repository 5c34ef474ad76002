"""The data-quality summary, worked out by hand on the tiny dataset."""

from __future__ import annotations

from cxlab import load_dataset
from cxlab.quality import summarize_quality
from tests.conftest import CUSTOMERS, write_dataset


def test_customers_without_events_are_counted(tmp_path):
    customers = CUSTOMERS + "c4,2025-04-01,,consumer\nc5,2025-04-02,,business\n"  # no events
    summary = summarize_quality(load_dataset(write_dataset(tmp_path, customers=customers)))
    assert (summary.n_customers, summary.customers_without_events) == (5, 2)
    assert summary.uncatalogued_touchpoints.is_empty()

"""Run comparison: two runs of one population with independent noise rarely report a change."""

from __future__ import annotations

import pytest

from cxlab.compare import compare_runs
from cxlab.synthetic import make_journeys
from tests.unit.test_compare import write_run


@pytest.mark.slow
def test_runs_of_the_same_population_rarely_report_a_change(tmp_path):
    pairs = 40
    flagged = 0
    for seed in range(pairs):
        a = write_run(tmp_path / f"a{seed}", make_journeys(3_000, random_state=1_000 + 2 * seed))
        b = write_run(tmp_path / f"b{seed}", make_journeys(3_000, random_state=1_001 + 2 * seed))
        flagged += bool(compare_runs(a, b).summary["changed"].any())
    # At least 95% of 40 pairs (at most 2) report nothing: Benjamini-Hochberg over a pair's
    # metrics keeps the chance of any false change at or below 5% when nothing changed; the
    # draws are independent here, the case where the intervals are exact, not conservative.
    assert flagged <= 2, f"{flagged} of {pairs} pairs of identical populations reported a change"

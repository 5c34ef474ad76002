"""Comparing two runs: differences with intervals and q-values, archetype matching, alert rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from cxlab import build_features, retention, survey
from cxlab.compare import AlertRule, compare_runs, match_archetypes, previous_run
from cxlab.exceptions import DataContractError
from cxlab.rundir import RunDir
from cxlab.synthetic import make_journeys


def write_run(path: Path, data, *, status: str = "succeeded", source: str = "series") -> Path:
    """A run folder with the tables the comparison reads, made by the analysis functions."""
    dataset = data.load()
    features = build_features(dataset)
    run = RunDir(path)
    run.write_table("customer_features.parquet", features)
    run.write_table("retention_overall.csv", retention.retention_curves(retention.landmark_data(features)))
    run.write_table("survey_scores.csv", survey.survey_scores(dataset))
    dataset.save(run.dataset)
    manifest = {"status": status, "data": source, "started_at": path.name, "inputs": []}
    run.manifest.write_text(json.dumps(manifest))
    return path


def lower_nps(data, points: float, seed: int = 0):
    """``data`` with ``points`` of NPS taken away: that share of all answers moves from promoter
    to passive (a score of 8)."""
    surveys = data.dataset.surveys
    nps = pl.col("metric") == "nps"
    answers = surveys.filter(nps)
    promoters = answers.filter(pl.col("score") >= 9).height
    chance = points / 100 * answers.height / promoters
    move = pl.Series(np.random.default_rng(seed).random(surveys.height) < chance)
    data.dataset.surveys = surveys.with_columns(
        pl.when(nps & (pl.col("score") >= 9) & move).then(8.0).otherwise(pl.col("score")).alias("score")
    )
    return data


@pytest.fixture(scope="module")
def before(tmp_path_factory) -> Path:
    return write_run(tmp_path_factory.mktemp("series") / "2026-11-22", make_journeys(8_000, random_state=3))


def test_the_same_run_twice_changes_nothing(before, tmp_path):
    same = tmp_path / "again"
    shutil.copytree(before, same)
    change = compare_runs(before, same)
    assert change.summary.height >= 8 and not change.summary["changed"].any()
    assert (change.summary["difference"] == 0).all()
    assert "0 of" in change.describe()


def test_a_planted_drop_of_8_nps_points_is_found_and_fires_the_alert(before, tmp_path):
    after = write_run(tmp_path / "2026-11-29", lower_nps(make_journeys(8_000, random_state=3), 8))
    change = compare_runs(before, after)
    nps = change.summary.filter(metric="NPS").row(0, named=True)
    # The same customers, 8 points moved: the estimate is within sampling noise of the answers
    # moved (about 1 point at 2,200 answers), and its interval excludes zero.
    assert nps["difference"] == pytest.approx(-8, abs=1.5)
    assert nps["changed"] and nps["ci_high"] < 0
    assert change.changed()["metric"].to_list() == ["NPS"]
    assert AlertRule.parse("nps_drop>5").check(change)["fired"]
    assert not AlertRule.parse("nps_drop>10").check(change)["fired"]
    assert not AlertRule.parse("nps_rise>5").check(change)["fired"]
    assert not AlertRule.parse("retention_drop>1").check(change)["fired"]


@pytest.mark.parametrize("rule", ["nps<5", "revenue_drop>5", "nps_drop>", "nps_drop>-1"])
def test_a_malformed_rule_is_refused_with_the_syntax(rule):
    with pytest.raises(DataContractError, match="METRIC_drop>N"):
        AlertRule.parse(rule)


def test_an_unfinished_or_missing_run_is_refused(before, tmp_path):
    failed = write_run(tmp_path / "failed", make_journeys(300, random_state=0), status="failed")
    with pytest.raises(DataContractError, match="did not succeed"):
        compare_runs(before, failed)
    with pytest.raises(DataContractError, match="not a readable run folder"):
        compare_runs(before, tmp_path)


def test_the_previous_run_is_the_latest_succeeded_one_of_the_same_data(tmp_path):
    for name, status, source in [
        ("2026-11-08", "succeeded", "series"),
        ("2026-11-15", "succeeded", "series"),
        ("2026-11-22", "failed", "series"),
        ("2026-11-23", "succeeded", "other"),
    ]:
        (tmp_path / name).mkdir()
        manifest = {"status": status, "data": source, "started_at": name}
        (tmp_path / name / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / ".2026-11-29.partial-1").mkdir()
    assert previous_run(tmp_path, "series").name == "2026-11-15"
    assert previous_run(tmp_path, "nobody") is None


def _archetype_run(path: Path, mixes: dict[str, list[float]], n: int = 50) -> RunDir:
    run = RunDir(path)
    rows = [
        {
            "customer_id": f"{name}{i}",
            "share_tp_web": mix[0],
            "share_tp_store": mix[1],
            "archetype_name": name,
        }
        for name, mix in mixes.items()
        for i in range(n)
    ]
    table = pl.DataFrame(rows)
    run.write_table(
        "archetypes.csv", table.select("customer_id", pl.lit(0).alias("archetype"), "archetype_name")
    )
    table.drop("archetype_name").write_parquet(run.table_path("customer_features.parquet"))
    return run


def test_archetypes_are_matched_by_mix_and_a_poor_match_is_flagged(tmp_path):
    a = _archetype_run(tmp_path / "a", {"web": [0.9, 0.1], "store": [0.1, 0.9]})
    renamed = _archetype_run(tmp_path / "b", {"online": [0.85, 0.15], "shop": [0.15, 0.85]})
    matching, poor = match_archetypes(a, renamed)
    assert dict(zip(matching["archetype_before"], matching["archetype_after"], strict=True)) == {
        "store": "shop",
        "web": "online",
    }
    assert not poor
    merged = _archetype_run(tmp_path / "c", {"both": [0.5, 0.5], "store": [0.1, 0.9]})
    assert match_archetypes(a, merged)[1]
    three = _archetype_run(tmp_path / "d", {"web": [0.9, 0.1], "store": [0.1, 0.9], "mixed": [0.5, 0.5]})
    assert match_archetypes(a, three)[1]

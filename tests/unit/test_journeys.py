"""Journey features on hand-built data, every value worked out by hand (see comments)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

import polars as pl
import pytest

from cxlab import build_features, load_dataset
from cxlab.journeys import FEATURE_COLUMNS
from cxlab.schema import column_name
from tests.conftest import CUSTOMERS, INTERACTIONS, SURVEYS, write_dataset

# c4 signs up without any event; c1 gets two more support contacts (3 and 20 days later).
EXTRA_CUSTOMER = "c4,2025-04-01,,consumer\n"
EXTRA_EVENTS = "c1,2025-02-04 08:30:00,live_chat,\nc1,2025-02-24 08:30:00,support_team,\n"


@pytest.fixture
def features(tmp_path):
    write_dataset(tmp_path, customers=CUSTOMERS + EXTRA_CUSTOMER, interactions=INTERACTIONS + EXTRA_EVENTS)
    frame = build_features(load_dataset(tmp_path), exposure_window_days=30)
    return {row["customer_id"]: row for row in frame.iter_rows(named=True)}


def test_contract_columns_come_first(tiny):
    frame = build_features(load_dataset(tiny))
    assert frame.columns[:5] == ["customer_id", "signup_at", "is_churned", "churned_at", "observed_days"]
    assert frame.height == 3 and frame.schema["is_churned"] == pl.Boolean


def test_journey_summary_of_one_customer(features):
    c1 = features["c1"]  # search 01-01 09:00, checkout 01-10 12:00, support 02-01, chat 02-04, support 02-24
    assert c1["n_events"] == 5 and c1["n_distinct_touchpoints"] == 4
    assert (c1["first_touchpoint"], c1["last_touchpoint"]) == ("search", "support_team")
    assert c1["first_event_at"] == datetime(2025, 1, 1, 9)
    assert c1["days_to_first_purchase"] == pytest.approx(9 + 3 / 24)  # 01-01 09:00 -> 01-10 12:00


def test_channel_switches_count_changes_between_consecutive_events(features):
    # c1: web, web, phone, chat, phone -> changes at events 3, 4, 5 = 3
    assert features["c1"]["n_channel_switches"] == 3
    # c2: social, store, email -> 2
    assert features["c2"]["n_channel_switches"] == 2


def test_purchases_and_support_contacts(features):
    c1 = features["c1"]
    assert (c1["n_purchases"], c1["purchase_value"]) == (1, pytest.approx(49.9))
    # support 02-01, chat 02-04 (3 days later: repeat), support 02-24 (20 days later: not)
    assert (c1["n_support_contacts"], c1["n_repeat_contacts_7d"]) == (3, 1)


def test_churn_status_tenure_and_recency(features):
    # End of observation 2025-05-01 (c2's churn date, the latest timestamp).
    assert not features["c1"]["is_churned"] and features["c1"]["observed_days"] == pytest.approx(111)
    assert features["c2"]["is_churned"] and features["c2"]["observed_days"] == pytest.approx(89)
    assert features["c1"]["recency_days"] == pytest.approx(65 + 15.5 / 24)  # 02-24 08:30 -> 05-01
    assert features["c2"]["churned_at"] == datetime(2025, 5, 1)


def test_exposure_flags_cover_the_window_after_signup_only(features):
    c1 = features["c1"]  # window 2025-01-10 .. 2025-02-09: checkout, support, chat; search is before
    assert c1["exposed_checkout_payment"] and c1["exposed_support_team"] and c1["exposed_live_chat"]
    assert "exposed_search" not in features["c1"] or not c1["exposed_search"]
    c2 = features["c2"]  # window 2025-02-01 .. 2025-03-03: store, billing
    assert c2["exposed_store"] and c2["exposed_billing"] and not c2["exposed_support_team"]
    assert features["c4"]["window_complete"]  # 04-01 + 30 days <= 05-01


def test_mixes_count_and_share_per_touchpoint_channel_stage_kind(features):
    c2 = features["c2"]  # social_media (awareness, social, digital), store (purchase, store, physical),
    # billing (post_purchase, email, digital)
    assert (c2["n_tp_store"], c2["share_tp_store"]) == (1, pytest.approx(1 / 3))
    assert (c2["n_channel_email"], c2["n_stage_awareness"], c2["n_stage_consideration"]) == (1, 1, 0)
    assert (c2["n_kind_digital"], c2["n_kind_human"]) == (2, 0)
    assert c2["share_kind_digital"] == pytest.approx(2 / 3)


@pytest.mark.parametrize("own_channel", [False, True], ids=["from the catalog", "the export's own"])
def test_mixes_match_a_group_by_count(generated, own_channel):
    # Channel, stage and kind follow from the touchpoint when the catalog fills them in, and are
    # then added up from the touchpoint counts; an export may give a touchpoint two channels.
    dataset = load_dataset(generated)
    if own_channel:
        odd = pl.int_range(pl.len()) % 7 == 0
        events = dataset.interactions.with_columns(
            pl.when(odd).then(pl.lit("kiosk")).otherwise("channel").alias("channel")
        )
        dataset = replace(dataset, interactions=events)
    features = build_features(dataset)
    for column, prefix in [
        ("touchpoint", "tp"),
        ("channel", "channel"),
        ("stage", "stage"),
        ("kind", "kind"),
    ]:
        counts = dataset.interactions.group_by("customer_id", column).len()
        for value in counts[column].unique():
            expected = features.select("customer_id").join(
                counts.filter(pl.col(column) == value), on="customer_id", how="left", maintain_order="left"
            )
            got = features[f"n_{prefix}_{column_name(value)}"]
            assert got.to_list() == expected["len"].fill_null(0).to_list(), (column, value)
    assert ("n_channel_kiosk" in features.columns) == own_channel


def test_survey_summaries(features):
    assert (features["c1"]["latest_nps"], features["c1"]["mean_csat"]) == (9, 4)
    assert features["c1"]["n_survey_responses"] == 1
    assert features["c3"]["mean_ces"] == 2 and features["c3"]["latest_nps"] is None


def test_latest_nps_is_the_latest_answer_and_ties_go_by_file_order(tmp_path):
    # c1 answers NPS three times: the latest (3 March) twice, 5 then 7; the earlier 9 comes last.
    answers = "c1,2025-03-03,r5,nps,5,,\nc1,2025-03-03,r6,nps,7,,\nc1,2025-02-10,r4,nps,9,,\n"
    write_dataset(tmp_path, surveys=SURVEYS + answers)
    for _ in range(3):  # the same on every run
        frame = build_features(load_dataset(tmp_path))
        c1 = frame.filter(pl.col("customer_id") == "c1").row(0, named=True)
        assert (c1["latest_nps"], c1["n_survey_responses"]) == (7, 4)


def test_customer_without_events_has_zero_counts_and_no_exposure(features):
    c4 = features["c4"]
    assert c4["n_events"] == 0 and c4["share_tp_store"] == 0 and c4["n_survey_responses"] == 0
    assert c4["first_touchpoint"] is None and c4["recency_days"] is None
    assert not any(v for k, v in c4.items() if k.startswith("exposed_"))
    assert c4["attr_segment"] == "consumer"


def test_earlier_observation_end_ignores_later_events_and_churn(tiny):
    frame = build_features(load_dataset(tiny), observation_end=datetime(2025, 3, 10))
    rows = {r["customer_id"]: r for r in frame.iter_rows(named=True)}
    assert set(rows) == {"c1", "c2"}  # c3 signs up on 03-15, after the end
    assert not rows["c2"]["is_churned"] and rows["c2"]["n_events"] == 3


def test_every_column_is_documented(generated):
    frame = build_features(load_dataset(generated))
    pattern = r"\\{\w+\\}"  # a placeholder such as {touchpoint}, escaped
    patterns = [re.compile("^" + re.sub(pattern, "[0-9a-z_]+", re.escape(p)) + "$") for p in FEATURE_COLUMNS]
    undocumented = [c for c in frame.columns if not any(p.match(c) for p in patterns)]
    assert not undocumented


def test_window_parameter_is_checked(tiny):
    message = "'exposure_window_days' parameter of build_features must be an int >= 1"
    with pytest.raises(ValueError, match=message):
        build_features(load_dataset(tiny), exposure_window_days=0)


def test_journey_events_are_kept_until_the_dataset_changes(tiny):
    from cxlab.journeys import journey_events

    dataset = load_dataset(tiny)
    first = journey_events(dataset)
    assert journey_events(dataset) is first  # kept: the journey tables share one
    earlier = journey_events(dataset, datetime(2025, 2, 1))
    assert earlier.height < first.height
    dataset.interactions = dataset.interactions.filter(pl.col("customer_id") != "c1")
    assert "c1" not in journey_events(dataset)["customer_id"].to_list()  # not the stale events
    dataset.customers = dataset.customers.with_columns(pl.lit(None, pl.Datetime("us")).alias("churned_at"))
    assert not journey_events(dataset)["is_churned"].any()


def test_landmark_features_count_only_events_before_the_landmark(tiny):
    from cxlab.journeys import feature_vocabulary, landmark_features

    dataset = load_dataset(tiny)
    signup = dataset.customers.select("customer_id", landmark=pl.col("signup_at") + pl.duration(days=14))
    early = dataset.interactions.join(signup, on="customer_id").filter(
        pl.col("timestamp") < pl.col("landmark")
    )
    by_hand = replace(dataset, interactions=early.drop("landmark"))
    vocabulary = feature_vocabulary(dataset, exposure_window_days=14)
    expected = build_features(by_hand, exposure_window_days=14, vocabulary=vocabulary)
    assert 0 < early.height < dataset.interactions.height
    assert landmark_features(dataset, exposure_window_days=14).equals(expected)
    assert "journey_events" not in dataset.derived  # no churn status kept on the dataset for it

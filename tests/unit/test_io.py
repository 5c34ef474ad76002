"""Every rule of data contract §1-2, one small inline fixture each."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cxlab import DataContractError, load_dataset
from tests.conftest import CUSTOMERS, INTERACTIONS, SURVEYS, write_dataset


def assert_accounted(ds):
    for t in ds.report.tables.values():
        assert t.rows_read == t.rows_loaded + t.rows_rejected


def test_valid_dataset_loads_every_row_with_contract_types(tiny):
    ds = load_dataset(tiny)
    assert (ds.customers.height, ds.interactions.height, ds.surveys.height) == (3, 8, 4)
    assert ds.report.summary()["rows_rejected"].sum() == 0
    assert ds.interactions.schema["timestamp"] == pl.Datetime("us")
    assert ds.surveys.schema["score"] == pl.Float64
    # Default end of observation: the latest timestamp anywhere (c2's churned_at).
    assert ds.observation_end == datetime(2025, 5, 1)


def test_iso_timestamps_are_parsed_to_naive_utc(tiny):
    ts = load_dataset(tiny).interactions.filter(pl.col("customer_id") == "c3")["timestamp"]
    assert ts.to_list() == [datetime(2025, 3, 15, 8), datetime(2025, 3, 15, 11)]  # +02:00 -> UTC


def test_stage_channel_kind_come_from_the_catalog(tiny):
    row = load_dataset(tiny).interactions.filter(pl.col("touchpoint") == "store").row(0, named=True)
    assert (row["stage"], row["channel"], row["kind"]) == ("purchase", "store", "physical")


def test_missing_interactions_table_names_the_files(tmp_path):
    write_dataset(tmp_path, interactions=None)
    with pytest.raises(DataContractError, match=r"interactions table is missing; expected interactions\.csv"):
        load_dataset(tmp_path)


def test_missing_customers_table_suggests_deriving(tmp_path):
    write_dataset(tmp_path, customers=None)
    with pytest.raises(DataContractError, match="derive: true"):
        load_dataset(tmp_path)


def test_missing_required_column_names_file_and_column(tmp_path):
    write_dataset(tmp_path, interactions=INTERACTIONS.replace("timestamp", "event_time"))
    with pytest.raises(DataContractError, match=r"interactions\.csv: required column 'timestamp'"):
        load_dataset(tmp_path)


def test_unparseable_timestamp_is_rejected_with_original_values(tmp_path):
    write_dataset(tmp_path, interactions=INTERACTIONS.replace("2025-03-01 10:00:00", "01/03/2025 nope"))
    ds = load_dataset(tmp_path, max_rejected_share=0.5)
    rejected = ds.report.tables["interactions"].rejected
    assert rejected.height == 1
    row = rejected.row(0, named=True)
    assert row["timestamp"] == "01/03/2025 nope" and row["touchpoint"] == "billing"
    assert row["reason"] == "unparseable timestamp in timestamp"
    assert row["source_row"] == 6
    assert_accounted(ds)


def test_unparseable_number_is_rejected(tmp_path):
    write_dataset(tmp_path, interactions=INTERACTIONS.replace("49.90", "forty"))
    ds = load_dataset(tmp_path, max_rejected_share=0.5)
    assert ds.report.tables["interactions"].rejected["reason"].to_list() == ["unparseable number in value"]


def test_empty_id_is_rejected(tmp_path):
    write_dataset(tmp_path, interactions=INTERACTIONS.replace("c2,2025-03-01", "  ,2025-03-01"))
    ds = load_dataset(tmp_path, max_rejected_share=0.5)
    assert ds.report.tables["interactions"].rejected["reason"].to_list() == ["empty customer_id"]


def test_duplicate_customer_keeps_first_row_and_rejects_the_repeat(tmp_path):
    write_dataset(tmp_path, customers=CUSTOMERS + "c1,2025-01-11,,business\n")
    ds = load_dataset(tmp_path, max_rejected_share=0.5)
    assert ds.customers.filter(pl.col("customer_id") == "c1")["segment"].to_list() == ["consumer"]
    rejected = ds.report.tables["customers"].rejected
    assert rejected["reason"].to_list() == ["duplicate customer_id (first row kept)"]
    assert rejected["segment"].to_list() == ["business"]


def test_unknown_customer_is_rejected_in_interactions_and_surveys(tmp_path):
    write_dataset(
        tmp_path,
        interactions=INTERACTIONS + "c9,2025-03-01,website,\n",
        surveys=SURVEYS + "c9,2025-03-02,r9,nps,5,,\n",
    )
    ds = load_dataset(tmp_path, max_rejected_share=0.5)
    for table in ("interactions", "surveys"):
        reasons = ds.report.tables[table].rejected["reason"].to_list()
        assert len(reasons) == 1 and reasons[0].startswith("unknown customer_id")


@pytest.mark.parametrize(
    ("metric", "score", "scale"), [("nps", "11", "0-10"), ("csat", "0", "1-5"), ("ces", "8", "1-7")]
)
def test_score_off_its_scale_is_rejected(tmp_path, metric, score, scale):
    write_dataset(tmp_path, surveys=SURVEYS + f"c3,2025-04-02,r4,{metric},{score},,\n")
    ds = load_dataset(tmp_path, max_rejected_share=0.5)
    assert ds.report.tables["surveys"].rejected["reason"].to_list() == [
        f"score off the {metric} scale ({scale})"
    ]


def test_mapping_declares_scales_of_other_metrics(tmp_path):
    write_dataset(tmp_path, surveys=SURVEYS + "c3,2025-04-02,r4,satisfied,2,,\nc3,2025-04-02,r5,Other,99,,\n")
    ds = load_dataset(tmp_path, mapping={"scales": {"satisfied": [0, 1]}}, max_rejected_share=0.5)
    assert ds.report.tables["surveys"].rejected["reason"].to_list() == ["score off the satisfied scale (0-1)"]
    assert "other" in ds.surveys["metric"].to_list()  # unknown metric: any numeric scale, name lowercased


def test_events_outside_the_allowed_time_range_are_rejected(tmp_path):
    extra = (
        "c1,2024-10-01,advertising,\n"  # 101 days before signup: too early
        "c1,2025-06-01,billing,\n"
    )  # after the given end of observation
    write_dataset(tmp_path, interactions=INTERACTIONS + extra)
    ds = load_dataset(tmp_path, observation_end="2025-05-15", max_rejected_share=0.5)
    reasons = ds.report.tables["interactions"].rejected["reason"].to_list()
    assert reasons == [
        "timestamp more than 90 days before signup_at",
        "timestamp after the end of observation",
    ]


def test_future_timestamps_are_rejected_and_do_not_move_the_end_of_observation(tmp_path):
    write_dataset(tmp_path, interactions=INTERACTIONS + "c1,2999-01-01,billing,\n")
    ds = load_dataset(tmp_path, max_rejected_share=0.5)
    assert ds.report.tables["interactions"].rejected["reason"].to_list() == [
        "timestamp in the future; timestamp after the end of observation"
    ]
    assert ds.observation_end == datetime(2025, 5, 1)


def test_churn_after_a_given_end_of_observation_counts_as_not_churned(tiny):
    ds = load_dataset(tiny, observation_end="2025-04-15")
    assert ds.customers.filter(pl.col("customer_id") == "c2")["churned_at"].to_list() == [None]
    assert any("count as not churned" in w for w in ds.report.warnings)


def test_semicolon_csv_with_decimal_commas_is_read(tmp_path):
    semi = INTERACTIONS.replace(",", ";").replace("49.90", "49,90")
    write_dataset(tmp_path, interactions=semi)
    ds = load_dataset(tmp_path)
    assert ds.interactions.height == 8
    assert ds.interactions["value"].drop_nulls().sort().to_list() == [15.5, 49.9, 120.0]


def test_bom_prefixed_csv_is_read(tmp_path):
    write_dataset(tmp_path, customers="\ufeff" + CUSTOMERS)
    assert load_dataset(tmp_path).customers.columns[0] == "customer_id"


def test_empty_file_is_a_clear_error(tmp_path):
    write_dataset(tmp_path, interactions="")
    with pytest.raises(DataContractError, match=r"interactions\.csv is empty"):
        load_dataset(tmp_path)


def test_malformed_csv_is_a_clear_error(tmp_path):
    write_dataset(tmp_path, interactions=INTERACTIONS + 'c1,"2025-01-01,search,,extra,fields\n')
    with pytest.raises(DataContractError, match=r"interactions\.csv cannot be read as csv"):
        load_dataset(tmp_path)


def test_rejected_share_above_threshold_stops_with_counts(tmp_path):
    write_dataset(tmp_path, interactions=INTERACTIONS.replace("2025-03-01 10:00:00", "garbage"))
    with pytest.raises(DataContractError, match=r"1 of 8 rows of the interactions table \(12\.5%\)") as info:
        load_dataset(tmp_path)
    assert info.value.report.tables["interactions"].rows_rejected == 1  # still available to write


def test_rejected_rows_are_written_with_a_reason_column(tmp_path):
    write_dataset(tmp_path / "d", interactions=INTERACTIONS.replace("49.90", "x"))
    ds = load_dataset(tmp_path / "d", max_rejected_share=0.5)
    (path,) = ds.report.write_rejected(tmp_path / "rejected")
    written = pl.read_csv(path, infer_schema=False)
    assert written.columns == ["source_row", "customer_id", "timestamp", "touchpoint", "value", "reason"]
    assert written["value"].to_list() == ["x"]


def test_parquet_with_timezone_aware_timestamps(tmp_path):
    write_dataset(tmp_path)
    frame = pl.read_csv(tmp_path / "interactions.csv").with_columns(
        pl.lit(datetime(2025, 3, 1, 12)).dt.replace_time_zone("Europe/Berlin").alias("timestamp")
    )
    (tmp_path / "interactions.csv").unlink()
    frame.write_parquet(tmp_path / "interactions.parquet")
    ds = load_dataset(tmp_path)
    assert set(ds.interactions["timestamp"].to_list()) == {datetime(2025, 3, 1, 11)}


def test_both_csv_and_parquet_is_ambiguous(tiny):
    pl.read_csv(tiny / "surveys.csv").write_parquet(tiny / "surveys.parquet")
    with pytest.raises(DataContractError, match="both surveys.csv and surveys.parquet"):
        load_dataset(tiny)


def test_absent_surveys_give_an_empty_typed_table(tmp_path):
    write_dataset(tmp_path, surveys=None)
    ds = load_dataset(tmp_path)
    assert ds.surveys.height == 0 and ds.surveys.schema["score"] == pl.Float64


def test_uncatalogued_touchpoints_are_unknown_with_a_warning(tmp_path):
    write_dataset(tmp_path, interactions=INTERACTIONS + "c1,2025-02-02,Kiosk,\n")
    ds = load_dataset(tmp_path)
    assert ds.interactions.filter(pl.col("touchpoint") == "Kiosk")["stage"].to_list() == ["unknown"]
    assert any("Kiosk (1)" in w for w in ds.report.warnings)


def test_dataset_catalog_overrides_the_default_and_bad_rows_are_rejected(tmp_path):
    catalog = (
        "touchpoint,stage,channel,kind\nstore,consideration,showroom,physical\n"
        "kiosk,purchase,store,digital\nbad,nowhere,web,digital\n"
    )
    write_dataset(tmp_path, touchpoints=catalog, interactions=INTERACTIONS + "c1,2025-02-02,kiosk,\n")
    ds = load_dataset(tmp_path, max_rejected_share=0.5)
    store = ds.interactions.filter(pl.col("touchpoint") == "store").row(0, named=True)
    assert (store["stage"], store["channel"]) == ("consideration", "showroom")
    assert ds.interactions.filter(pl.col("touchpoint") == "kiosk")["stage"].to_list() == ["purchase"]
    assert ds.report.tables["touchpoints"].rejected["reason"].to_list()[0].startswith("stage not one of")


def test_saved_dataset_round_trips_with_its_report(tmp_path):
    write_dataset(tmp_path / "raw", interactions=INTERACTIONS.replace("49.90", "x"))
    ds = load_dataset(tmp_path / "raw", max_rejected_share=0.5)
    again = load_dataset(ds.save(tmp_path / "saved"))
    assert again.interactions.equals(ds.interactions)
    assert again.report.summary().equals(ds.report.summary())
    assert again.observation_end == ds.observation_end
    with pytest.raises(DataContractError, match="already validated"):
        load_dataset(tmp_path / "saved", observation_end="2025-01-01")


def test_a_saved_dataset_loads_with_one_chunk_per_column(tiny, tmp_path):
    # as a validated load does: the journey tables add one-chunk columns to the events, and
    # polars copies a whole frame of differently chunked columns on every eager filter
    saved = load_dataset(tiny).save(tmp_path / "saved")
    pl.read_parquet(saved / "interactions.parquet").write_parquet(
        saved / "interactions.parquet", row_group_size=2
    )
    assert pl.read_parquet(saved / "interactions.parquet")["timestamp"].n_chunks() > 1
    assert {s.n_chunks() for s in load_dataset(saved).interactions} == {1}


def test_names_are_categorical_in_every_table_loaded_saved_or_put_in_by_hand(tiny, tmp_path):
    from cxlab.journey_map import friction_points, transitions

    labels = {"touchpoint", "channel", "stage", "kind"}

    def categorical(dataset):
        tables = {t: getattr(dataset, t).schema for t in ("interactions", "surveys", "touchpoints")}
        return {(t, c) for t, schema in tables.items() for c, d in schema.items() if d == pl.Categorical}

    loaded = load_dataset(tiny)
    expected = {("interactions", c) for c in labels} | {("touchpoints", c) for c in labels}
    assert categorical(loaded) == expected | {("surveys", "touchpoint")}
    assert categorical(load_dataset(loaded.save(tmp_path / "saved"))) == categorical(loaded)
    loaded.surveys = loaded.surveys.with_columns(pl.col("touchpoint").cast(pl.String))  # a table by hand
    assert loaded.surveys.schema["touchpoint"] == pl.Categorical
    steps = transitions(loaded).summary  # results hold text, with the data's names
    assert (
        steps.schema["from_touchpoint"] == friction_points(loaded).summary.schema["touchpoint"] == pl.String
    )
    assert set(steps["to_touchpoint"]) - {"(end)"} <= set(loaded.interactions["touchpoint"].cast(pl.String))


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
@pytest.mark.parametrize(
    "replace",
    [{"search": "Search"}, {"search": " search", "website": "", "store": "store "}],
    ids=["clean labels", "labels to strip"],
)
def test_touchpoints_read_as_categorical_load_exactly_as_text(tmp_path, monkeypatch, file_format, replace):
    from cxlab import io, validation

    interactions = INTERACTIONS
    for label, spelling in replace.items():
        interactions = interactions.replace(f",{label},", f",{spelling},")
    text = write_dataset(tmp_path / "csv", interactions=interactions)
    data = text
    if file_format == "parquet":
        data = tmp_path / "parquet"
        data.mkdir()
        for path in text.glob("*.csv"):
            pl.read_csv(path, infer_schema=False).write_parquet(data / f"{path.stem}.parquet")
    raw = io._read_file(data / f"interactions.{file_format}", labels=("touchpoint",))
    assert raw.schema["touchpoint"] == pl.Categorical

    def loaded():
        ds = load_dataset(data, max_rejected_share=0.5)
        rejected = [r.rejected.cast(pl.String) for r in ds.report.tables.values()]  # as written out
        return [ds.interactions, ds.customers, ds.surveys, *rejected], ds.report.warnings

    tables, warnings = loaded()
    monkeypatch.setattr(validation, "READ_AS_LABELS", {})  # every column read as text
    tables_from_text, warnings_from_text = loaded()
    for table, from_text in zip(tables, tables_from_text, strict=True):
        assert_frame_equal(table, from_text)
    assert warnings == warnings_from_text
    rejected_events = tables[4]  # after the three tables, the rejected rows of customers, then these
    assert rejected_events["reason"].to_list() == (["empty touchpoint"] if "website" in replace else [])


def test_observation_end_parameter_must_be_a_date(tiny):
    with pytest.raises(DataContractError, match="'observation_end' parameter must be an ISO 8601"):
        load_dataset(tiny, observation_end="last tuesday")


@pytest.mark.parametrize("column", ["customer_id", "timestamp", "touchpoint"])
def test_empty_required_value_is_rejected(tmp_path, column):
    rows = INTERACTIONS.splitlines()
    cells = dict(zip(rows[0].split(","), rows[3].split(","), strict=True))
    cells[column] = ""
    rows[3] = ",".join(cells.values())
    write_dataset(tmp_path, interactions="\n".join(rows) + "\n")
    ds = load_dataset(tmp_path, max_rejected_share=0.5)
    assert ds.report.tables["interactions"].rejected["reason"].to_list() == [f"empty {column}"]


@pytest.mark.parametrize("quoted_break", [False, True])
def test_rows_with_more_or_fewer_fields_than_the_header_are_rejected(tmp_path, quoted_break):
    note = '"first\nline"' if quoted_break else '"a, b"'  # a quoted line break takes the slow, exact path
    surveys = (
        "customer_id,responded_at,response_id,metric,score,touchpoint,comment\n"
        f"c1,2025-02-10,r1,nps,9,,{note}\n"
        "c1,2025-02-10,r1,csat,4,delivery\n"  # short by one: which value is missing cannot be known
        "c2,2025-03-02,r2,csat,3\n"  # short by two: its touchpoint would load as empty
        "c2,2025-03-02,r3,nps,3,,slow,extra\n"  # long: a value would be lost
    )
    dataset = load_dataset(write_dataset(tmp_path / "d", surveys=surveys), max_rejected_share=1.0)
    report = dataset.report.tables["surveys"]
    assert dataset.surveys["response_id"].to_list() == ["r1"]
    assert report.rejected.select("source_row", "reason").rows() == [
        (2, "6 fields where the header has 7"),
        (3, "5 fields where the header has 7"),
        (4, "8 fields where the header has 7"),
    ]
    assert report.rows_read == report.rows_loaded + report.rows_rejected == 4


@pytest.mark.parametrize("kind", ["folder", "dangling link", "link loop"])
def test_an_optional_table_that_cannot_be_read_is_an_error_not_absent(tmp_path, kind):
    folder = write_dataset(tmp_path / "d", surveys=None)
    target = folder / "surveys.csv"
    if kind == "folder":
        target.mkdir()
    elif kind == "dangling link":
        target.symlink_to(folder / "nowhere.csv")
    else:
        target.symlink_to(folder / "surveys.csv")
    with pytest.raises(
        DataContractError, match=r"surveys\.csv is there but cannot be read as the surveys table"
    ):
        load_dataset(folder)


def test_a_header_wider_than_the_limit_is_a_clear_error_before_the_rows_are_read(tmp_path):
    from cxlab.io import MAX_COLUMNS

    wide = ",".join(f"c{i}" for i in range(MAX_COLUMNS + 1)) + "\n" + "x\n" * 3
    with pytest.raises(
        DataContractError, match=r"surveys\.csv: the header row has 1,001 columns; .*at most 1,000"
    ):
        load_dataset(write_dataset(tmp_path / "d", surveys=wide))


def test_a_header_row_with_no_end_is_a_clear_error(tmp_path):
    from cxlab.io import MAX_HEADER_BYTES

    folder = write_dataset(tmp_path / "d")
    (folder / "surveys.csv").write_bytes(b"a" * (MAX_HEADER_BYTES + 10))
    with pytest.raises(
        DataContractError, match=r"surveys\.csv: the header row has more than 1,048,576 bytes"
    ):
        load_dataset(folder)


@pytest.mark.parametrize(
    ("too_long", "just_right", "row"),
    [(",great", ",slow", 1), (",delivery,", ",checkout_payment,", 2)],  # text; a touchpoint (Categorical)
)
def test_a_value_longer_than_a_spreadsheet_cell_rejects_its_row(tmp_path, too_long, just_right, row):
    from cxlab.io import MAX_FIELD_CHARS

    long = "x" * (MAX_FIELD_CHARS + 1)
    limit = "y" + "é" * (MAX_FIELD_CHARS - 1)
    surveys = SURVEYS.replace(too_long, too_long.replace(too_long.strip(","), long))
    surveys = surveys.replace(just_right, just_right.replace(just_right.strip(","), limit))
    dataset = load_dataset(write_dataset(tmp_path / "d", surveys=surveys), max_rejected_share=1.0)
    report = dataset.report.tables["surveys"]
    assert report.rejected.select("source_row", "reason").rows() == [
        (row, "a value longer than 32,767 characters (an unclosed quote?)")
    ]
    assert dataset.surveys.height == 3  # the value of exactly 32,767 characters (multi-byte) loads
    assert report.rows_read == report.rows_loaded + report.rows_rejected


def test_touchpoints_differing_only_in_case_load_as_one_label_with_a_warning(tmp_path):
    from cxlab.journeys import build_features

    interactions = INTERACTIONS.replace(",search,", ",SEARCH ,").replace(",billing,", ",Billing,")
    interactions += "c3,2025-03-16 10:00:00,billing,\nc3,2025-03-17 10:00:00,Help Center,\n"
    dataset = load_dataset(write_dataset(tmp_path / "d", interactions=interactions))
    labels = dataset.interactions["touchpoint"].value_counts().sort("touchpoint")
    assert labels.filter(pl.col("touchpoint").is_in(["billing", "help_center", "search"])).rows() == [
        ("billing", 2),
        ("help_center", 1),
        ("search", 1),
    ]  # the catalog's spelling wins
    assert not labels["touchpoint"].cast(pl.String).str.contains("[A-Z ]").any()
    assert "differ from another only in case or punctuation" in " ".join(dataset.report.warnings)
    assert build_features(dataset).height == 3  # one feature column per touchpoint, no clash

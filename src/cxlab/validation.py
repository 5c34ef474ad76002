"""The contract's row rules: parse, check, derive, and split loaded from rejected rows.

:func:`validate` takes the tables as read by :mod:`cxlab.io` and returns a
:class:`~cxlab.io.Dataset`. Each rule adds a reason to the rows it fails; a row with any
reason is rejected with all its original values.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from difflib import get_close_matches
from typing import TYPE_CHECKING

import polars as pl

from cxlab.catalog import default_catalog, merge_catalogs
from cxlab.customers import apply_churn_rule, derive_customers
from cxlab.dataset import Dataset, LoadReport, TableReport
from cxlab.exceptions import DataContractError
from cxlab.schema import (
    KINDS,
    LABELS,
    METRIC_SCALES,
    REASON,
    ROW,
    STAGES,
    TABLES,
    UNKNOWN,
    Table,
    column_name,
)

if TYPE_CHECKING:
    from cxlab.dataset import RawTable
    from cxlab.mapping import Mapping

_DTYPES = {"string": pl.String, "timestamp": pl.Datetime("us"), "number": pl.Float64}
_TZ_FORMATS = ("%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M%:z")
_NAIVE_FORMATS = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def timestamp_expr(text: pl.Expr, formats: tuple[str, ...] = ()) -> pl.Expr:
    """Parse timestamps to naive UTC datetimes; anything else becomes null.

    ``formats`` (strftime, from the mapping) are tried first; then ISO 8601: ``2025-03-04``,
    ``2025-03-04 10:15[:00[.123]]``, a ``T`` separator, and a ``Z`` or ``+02:00`` suffix
    (converted to UTC).

    Examples
    --------
    >>> pl.select(timestamp_expr(pl.lit("04/03/2025"), ("%d/%m/%Y",))).item()
    datetime.datetime(2025, 3, 4, 0, 0)
    """
    given = [text.str.strip_chars().str.to_datetime(f, strict=False, time_unit="us") for f in formats]
    s = (
        text.str.strip_chars()
        .str.replace("T", " ", literal=True)
        .str.replace(r"(?i)z$", "+00:00")
        .str.replace(r"([+-]\d\d)(\d\d)$", "$1:$2")
    )
    aware = [
        s.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC").dt.replace_time_zone(None)
        for f in _TZ_FORMATS
    ]
    naive = [s.str.to_datetime(f, strict=False, time_unit="us") for f in _NAIVE_FORMATS]
    return pl.coalesce(given + aware + naive)


def _parse(name: str, dtype: str, source: pl.DataType, formats: tuple[str, ...] = ()) -> pl.Expr:
    col = pl.col(name)
    if dtype == "string":  # stripped; parse_table makes the empty ones null
        return col if source == pl.Categorical else col.cast(pl.String).str.strip_chars()
    if dtype == "number":
        if source.is_numeric():
            return col.cast(pl.Float64)
        text = col.cast(pl.String).str.strip_chars()
        # A semicolon export often writes decimal commas: "3,5".
        return text.cast(pl.Float64, strict=False).fill_null(
            text.str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
        )
    if isinstance(source, pl.Datetime):
        if source.time_zone:
            col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return col.cast(pl.Datetime("us"))
    if source == pl.Date:
        return col.cast(pl.Datetime("us"))
    return timestamp_expr(col.cast(pl.String), formats)


def _given(name: str, source: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if source == pl.String:
        return (col.str.strip_chars().str.len_bytes() > 0).fill_null(False)
    return col.is_not_null()


def add_reasons(frame: pl.DataFrame, checks: dict[str, pl.Expr]) -> pl.DataFrame:
    """Append each reason whose condition holds to the row's ``reason`` (``; ``-separated).

    The conditions are evaluated once as flags; reason texts are built for the failing rows
    only (usually none), since text for every row of 10M events costs more than the checks."""
    if REASON not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.String).alias(REASON))
    if not checks:
        return frame
    conditions = [cond.fill_null(False) for cond in checks.values()]
    failing = frame.select(pl.any_horizontal(conditions)).to_series().arg_true()
    if failing.is_empty():
        return frame
    reasons = [pl.when(c).then(pl.lit(text)) for text, c in zip(checks, conditions, strict=True)]
    parts = [pl.col(REASON), *reasons]
    joined = frame[failing].select(pl.concat_str(parts, separator="; ", ignore_nulls=True)).to_series()
    return frame.with_columns(frame[REASON].scatter(failing, joined))


def parse_table(frame: pl.DataFrame, table: Table, formats: tuple[str, ...] = ()) -> pl.DataFrame:
    """Cast the contract's columns to their types and flag empty or unparseable values
    (timestamps are tried in ``formats`` first, then as ISO 8601)."""
    present = [c for c in table.columns if c.name in frame.columns]
    frame = _labels_as_text_unless_clean(frame, table)
    parsed = frame.with_columns(
        _parse(c.name, c.dtype, frame.schema[c.name], formats).alias(f"__{c.name}") for c in present
    )
    parsed = _text(parsed, [c.name for c in present if c.dtype == "string"])
    checks = {}
    for c in present:
        # a text column's parsed value is null exactly when it was empty: no second strip
        given = (
            pl.col(f"__{c.name}").is_not_null()
            if c.dtype == "string"
            else _given(c.name, frame.schema[c.name])
        )
        if c.required:
            checks[f"empty {c.name}"] = ~given
        if c.dtype != "string":
            checks[f"unparseable {c.dtype} in {c.name}"] = given & pl.col(f"__{c.name}").is_null()
    parsed = add_reasons(parsed, checks)
    return parsed.with_columns(pl.col(f"__{c.name}").alias(c.name) for c in present).drop(
        f"__{c.name}" for c in present
    )


READ_AS_LABELS = {"interactions": ("touchpoint",), "surveys": ("touchpoint",)}
"""Columns the file readers make Categorical: a few dozen labels repeated on every event, the
largest column as text (10M events: 46 MB of codes instead of 0.3 GB of text, never made)."""


def _labels_as_text_unless_clean(frame: pl.DataFrame, table: Table) -> pl.DataFrame:
    """``frame`` with its Categorical text columns as text, to be stripped and checked as text
    is, except those of :data:`READ_AS_LABELS` whose labels are clean already."""
    labels = READ_AS_LABELS.get(table.name, ())
    to_text = [
        c.name
        for c in table.columns
        if c.dtype == "string"
        and frame.schema.get(c.name) == pl.Categorical
        and not (c.name in labels and _clean(frame[c.name]))
    ]
    return frame.with_columns(pl.col(to_text).cast(pl.String))


def _clean(labels: pl.Series) -> bool:
    """Whether no label of Categorical ``labels`` has blanks around it or is empty (checked on
    the few distinct labels, not on every row)."""
    names = labels.unique().drop_nulls().cast(pl.String)
    stripped = names.str.strip_chars()
    return not ((stripped != names) | (stripped == "")).any()


def _text(parsed: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """``parsed`` with its stripped text columns ``__name`` final: a column the strip left
    unchanged is the source's own (shared, not a second copy: 0.4 GB at 10M events), and
    empty text is null, rebuilding only the columns that have any (usually none; rebuilding
    every text column of 10M events costs more than checking them)."""
    text = [n for n in names if parsed.schema[n] == pl.String]
    size = [pl.col(n).str.len_bytes().sum() == pl.col(f"__{n}").str.len_bytes().sum() for n in text]
    unchanged = parsed.select(size).row(0) if text else ()  # a strip only removes bytes
    shared = [pl.col(n).alias(f"__{n}") for n, same in zip(text, unchanged, strict=True) if same]
    parsed = parsed.with_columns(shared)
    columns = [f"__{n}" for n in names if parsed.schema[f"__{n}"] == pl.String]  # Categorical: checked clean
    blank = parsed.select(pl.col(columns).str.len_bytes().eq(0).any()).row(0) if columns else ()
    return parsed.with_columns(
        pl.when(pl.col(c).str.len_bytes() > 0).then(pl.col(c)).alias(c)
        for c, has_blank in zip(columns, blank, strict=True)
        if has_blank
    )


def empty_table(name: str) -> pl.DataFrame:
    """A table with no rows and the contract's columns and types."""
    return pl.DataFrame(schema={c.name: _DTYPES[c.dtype] for c in TABLES[name].columns})


def validate(
    raw: dict[str, RawTable | None], *, mapping: Mapping, observation_end: datetime | None
) -> Dataset:
    """Apply every row rule of the contract and return the validated :class:`Dataset`."""
    frames = {
        n: parse_table(r.frame, TABLES[n], mapping.table(n).timestamp_formats)
        for n, r in raw.items()
        if r is not None
    }
    warnings: list[str] = [
        hint for n, r in raw.items() if r is not None for hint in _parse_hints(frames[n], r, n)
    ]
    now = datetime.now(UTC).replace(tzinfo=None)
    frames = {n: reject_future(f, n, now) for n, f in frames.items()}
    end = observation_end or latest_timestamp(frames) or now
    label_map = mapping.touchpoints
    catalog, frames["touchpoints"] = _catalog(frames.get("touchpoints"), mapping.stages)
    _check_touchpoint_targets(mapping, catalog)

    interactions = _check_interactions(frames["interactions"], end, label_map, mapping.stages)
    frames["interactions"], frames["surveys"] = _one_spelling(
        interactions, frames.get("surveys"), catalog, warnings
    )
    interactions = frames["interactions"]
    if "customers" in frames:
        customers = _check_customers(frames["customers"], end, warnings)
        derived = None
    else:
        customers, derived = derive_customers(interactions, mapping)
    interactions = _check_journey_times(interactions, customers, mapping.pre_purchase_days)
    customers = apply_churn_rule(customers, interactions, end, mapping, warnings)
    surveys = _check_surveys(frames.get("surveys"), customers, end, mapping)
    frames.update(customers=customers, interactions=interactions, surveys=surveys)

    tables, loaded = {}, {}
    for name in TABLES:
        loaded[name], tables[name] = _split(name, frames.get(name), raw.get(name))
    if derived:
        tables["customers"].derived = derived
    loaded["interactions"] = _fill_from_catalog(loaded["interactions"], catalog, warnings)
    loaded["customers"] = _numeric_attributes(loaded["customers"])
    if raw.get("touchpoints") is None:
        tables["touchpoints"].derived = "built-in catalog"
    loaded["touchpoints"] = catalog
    return Dataset(**loaded, report=LoadReport(tables, end, warnings, mapping.stages, mapping.lexicon))


def reject_future(frame: pl.DataFrame, name: str, now: datetime) -> pl.DataFrame:
    """``frame`` with a reason added to rows whose timestamps lie after ``now``."""
    times = [c.name for c in TABLES[name].columns if c.dtype == "timestamp" and c.name in frame.columns]
    return add_reasons(frame, {f"{c} in the future": pl.col(c) > now for c in times})


def latest_timestamp(frames: dict[str, pl.DataFrame]) -> datetime | None:
    """The latest timestamp of any row not (yet) rejected: the default end of observation.
    None when no row has one."""
    latest = []
    for name, frame in frames.items():
        for c in TABLES[name].columns:
            if c.dtype == "timestamp" and c.name in frame.columns:
                latest.append(frame.select(pl.col(c.name).filter(pl.col(REASON).is_null()).max()).item())
    return max((t for t in latest if t is not None), default=None)


def _check_customers(frame: pl.DataFrame, end: datetime, warnings: list[str]) -> pl.DataFrame:
    frame = add_reasons(frame, {"signup_at after the end of observation": pl.col("signup_at") > end})
    if "churned_at" in frame.columns:
        frame = add_reasons(
            frame, {"churned_at before signup_at": pl.col("churned_at") < pl.col("signup_at")}
        )
        later = frame.filter(pl.col("churned_at") > end).height
        if later:
            warnings.append(
                f"customers: {later} churned_at dates fall after the end of observation "
                f"({end:%Y-%m-%d}); those customers count as not churned."
            )
            frame = frame.with_columns(
                pl.when(pl.col("churned_at") <= end).then("churned_at").alias("churned_at")
            )
    valid = frame.filter(pl.col(REASON).is_null())
    ids = pl.col("customer_id")
    if valid.select((ids > ids.shift()).slice(1).all()).item():  # sorted, so no repeats (cheap)
        return frame
    repeats = valid.filter(~ids.is_first_distinct())[ROW]
    return add_reasons(
        frame, {"duplicate customer_id (first row kept)": pl.col(ROW).is_in(repeats.implode())}
    )


def _check_interactions(
    frame: pl.DataFrame, end: datetime, labels: dict[str, str], stages: tuple[str, ...]
) -> pl.DataFrame:
    if labels:
        frame = frame.with_columns(pl.col("touchpoint").replace(labels))
    checks = {"timestamp after the end of observation": pl.col("timestamp") > end}
    if "stage" in frame.columns:
        frame = frame.with_columns(pl.col("stage").str.to_lowercase())
        checks[f"stage not one of {', '.join(stages)}"] = ~pl.col("stage").is_in(stages)
    return add_reasons(frame, checks)


def _check_touchpoint_targets(mapping: Mapping, catalog: pl.DataFrame) -> None:
    """Every label the mapping maps must land on a catalog touchpoint."""
    known = catalog["touchpoint"].to_list()
    for label, target in mapping.touchpoints.items():
        if target not in known:
            close = get_close_matches(target, known, n=1, cutoff=0.6)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise DataContractError(
                f"{mapping.source}: 'touchpoints' maps '{label}' onto '{target}', which is not in the "
                f"catalog.{hint} Map it onto a catalog touchpoint, or add '{target}' to a touchpoints file."
            )


def _parse_hints(frame: pl.DataFrame, raw: RawTable, name: str) -> list[str]:
    """For each timestamp or number column with unreadable values: how many, up to three of
    them as written, and the mapping key that would read them."""
    hints = []
    if frame[REASON].null_count() == frame.height:
        return hints
    for c in TABLES[name].columns:
        reason = f"unparseable {c.dtype} in {c.name}"
        if c.dtype == "string" or c.name not in frame.columns:
            continue
        bad = frame.filter(pl.col(REASON).str.contains(reason, literal=True))
        if bad.is_empty():
            continue
        examples = raw.frame.filter(pl.col(ROW).is_in(bad[ROW].head(3).implode()))[c.name].to_list()
        shown = ", ".join(repr(v) for v in examples)
        fix = (
            f"if they are day-first dates set 'tables.{name}.day_first: true' in the mapping, or give "
            f"their format as 'tables.{name}.timestamp_format' (for example '%m/%d/%Y %H:%M')"
            if c.dtype == "timestamp"
            else f"fix the export, or map another column onto {c.name} under 'tables.{name}.columns'"
        )
        values = f"{bad.height:,} values of {c.name} are" if bad.height != 1 else f"1 value of {c.name} is"
        what = f"{values} not a {c.dtype}"
        hints.append(f"{raw.source}: {what}, for example {shown}; {fix}.")
    return hints


def _check_journey_times(interactions: pl.DataFrame, customers: pl.DataFrame, pre_days: int) -> pl.DataFrame:
    """Reject events of unknown customers or from too long before signup, and put the events in
    the order every analysis reads them: by customer, then time, ties in file order."""
    known = (
        customers.filter(pl.col(REASON).is_null())
        .select("customer_id", "signup_at")
        .sort("customer_id")
        .with_row_index("_customer")  # orders like the id, and sorts as a number
    )
    frame = interactions.with_columns(_look_up(interactions, known, "customer_id"))
    earliest = pl.col("signup_at") - timedelta(days=pre_days)
    frame = add_reasons(
        frame,
        {
            "unknown customer_id (not in customers, or no signup event)": pl.col("customer_id").is_not_null()
            & pl.col("signup_at").is_null(),
            f"timestamp more than {pre_days} days before signup_at": pl.col("timestamp") < earliest,
        },
    )
    return _by_customer_and_time(frame).drop("signup_at", "_customer")


def _look_up(frame: pl.DataFrame, table: pl.DataFrame, key: str) -> list[pl.Series]:
    """``table``'s other columns for each row of ``frame`` (null where ``key`` is not in it).
    Each run of equal keys is looked up once (an export sorted by customer has one run per
    customer, a tenth of its events), by a join on the key alone: no other column is copied."""
    runs = frame[key].rle().struct.field("value").alias(key).to_frame()
    found = runs.join(table, on=key, how="left", maintain_order="left")
    run = frame[key].rle_id()
    return [column.gather(run) for column in found.drop(key).get_columns()]


def _by_customer_and_time(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` sorted by ``_customer``, ``timestamp`` and row number (nulls last). Exports
    usually come sorted by customer (left as they are) or by time (one stable sort by
    customer is then enough); a 10M-event export in any other order takes a few seconds."""
    if _sorted_by(frame, ["_customer", "timestamp", ROW]):
        return frame
    if _sorted_by(frame, ["timestamp", ROW]):
        return frame.sort("_customer", maintain_order=True, nulls_last=True)
    return frame.sort(["_customer", "timestamp", ROW], nulls_last=True)


def _sorted_by(frame: pl.DataFrame, columns: list[str]) -> bool:
    """Whether each row comes after the one before it in the order of ``columns`` (no nulls)."""
    after = pl.col(columns[-1]) >= pl.col(columns[-1]).shift()
    for c in reversed(columns[:-1]):
        after = (pl.col(c) > pl.col(c).shift()) | ((pl.col(c) == pl.col(c).shift()) & after)
    return frame.select(after.slice(1).fill_null(False).all()).item()


def _one_spelling(
    interactions: pl.DataFrame, surveys: pl.DataFrame | None, catalog: pl.DataFrame, warnings: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Touchpoint labels that differ only in case or punctuation (``Search``, ``search``,
    ``SEARCH``) would be one feature column: load them as one label, the catalog's spelling
    or else the most used one, and say so."""
    labelled = surveys is not None and "touchpoint" in surveys.columns
    both = [interactions, surveys] if labelled else [interactions]
    as_counted = {"touchpoint": pl.String, "count": pl.Int64}
    used = [f.group_by("touchpoint").len("count").drop_nulls().cast(as_counted) for f in both]
    known = catalog.select("touchpoint", pl.lit(0, pl.Int64).alias("count"), known=pl.lit(True))
    counts = (
        pl.concat([*(u.with_columns(known=pl.lit(False)) for u in used), known])
        .group_by("touchpoint")
        .agg(pl.col("count").sum(), pl.col("known").any())
    )
    counts = counts.with_columns(
        key=pl.Series([column_name(t) for t in counts["touchpoint"]], dtype=pl.String)
    ).sort(["known", "count", "touchpoint"], descending=[True, True, False])
    merged = counts.with_columns(to=pl.col("touchpoint").first().over("key")).filter(
        (pl.col("touchpoint") != pl.col("to")) & (pl.col("count") > 0)
    )
    if merged.is_empty():
        return interactions, surveys
    rows = merged.select("touchpoint", "to", "count").rows()
    shown = ", ".join(f"'{a}' as '{b}' ({n:,})" for a, b, n in rows[:10])
    shown += f" and {len(rows) - 10} more" if len(rows) > 10 else ""
    warnings.append(
        f"touchpoints: {merged.height} labels differ from another only in case or punctuation and "
        f"were loaded as one: {shown}. If they are different touchpoints, give them distinct names "
        "under 'touchpoints' in the mapping."
    )
    relabel = pl.col("touchpoint").replace(dict(zip(merged["touchpoint"], merged["to"], strict=True)))
    return interactions.with_columns(relabel), surveys.with_columns(relabel) if labelled else surveys


def _check_surveys(
    frame: pl.DataFrame | None, customers: pl.DataFrame, end: datetime, mapping: Mapping
) -> pl.DataFrame | None:
    if frame is None:
        return None
    scales = {**METRIC_SCALES, **mapping.scales}
    frame = frame.with_columns(pl.col("metric").str.to_lowercase())
    if "touchpoint" in frame.columns and mapping.touchpoints:
        frame = frame.with_columns(pl.col("touchpoint").replace(mapping.touchpoints))
    checks = {
        "unknown customer_id (not in customers)": pl.col("customer_id").is_not_null()
        & ~pl.col("customer_id").is_in(customers.filter(pl.col(REASON).is_null())["customer_id"].implode()),
        "responded_at after the end of observation": pl.col("responded_at") > end,
    }
    for metric, (low, high) in scales.items():
        off = (pl.col("metric") == metric) & ~pl.col("score").is_between(low, high)
        checks[f"score off the {metric} scale ({low:g}-{high:g})"] = off
    frame = add_reasons(frame, checks)
    if "response_id" in frame.columns and not frame["response_id"].has_nulls():
        return frame
    default_id = pl.concat_str(
        [pl.col("customer_id"), pl.col("responded_at").dt.to_string("%Y-%m-%dT%H:%M:%S")], separator="@"
    )
    given = [pl.col("response_id")] if "response_id" in frame.columns else []
    return frame.with_columns(pl.coalesce(*given, default_id).alias("response_id"))


def _catalog(own: pl.DataFrame | None, stages: tuple[str, ...]) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Check the dataset's own catalog rows; return the catalog in force and the checked rows.
    With stages of its own, the built-in catalog (whose stages are the default four) is left out."""
    base = default_catalog() if tuple(stages) == STAGES else default_catalog().clear()
    if own is None:
        return base, None
    own = own.with_columns(pl.col("stage").str.to_lowercase())
    checks = {f"stage not one of {', '.join(stages)}": ~pl.col("stage").is_in(stages)}
    if "kind" in own.columns:
        own = own.with_columns(pl.col("kind").str.to_lowercase())
        checks[f"kind not one of {', '.join(KINDS)}"] = ~pl.col("kind").is_in(KINDS)
    own = add_reasons(own, checks)
    repeats = own.filter(pl.col(REASON).is_null() & ~pl.col("touchpoint").is_first_distinct())[ROW]
    own = add_reasons(own, {"duplicate touchpoint (first row kept)": pl.col(ROW).is_in(repeats.implode())})
    good = own.filter(pl.col(REASON).is_null()).drop(ROW, REASON)
    return merge_catalogs(base, good), own


def _split(name: str, frame: pl.DataFrame | None, raw: RawTable | None):
    """Loaded rows (contract types, helpers dropped) and the table's report."""
    if frame is None:
        report = TableReport(name, None, None, 0, pl.DataFrame(schema={ROW: pl.UInt32, REASON: pl.String}))
        return empty_table(name), report
    any_rejected = frame[REASON].null_count() < frame.height
    loaded = frame.filter(pl.col(REASON).is_null()) if any_rejected else frame
    loaded = _with_contract_columns(loaded.drop(REASON), name)
    if raw is None:  # derived from another table: nothing was read, nothing rejected
        empty = pl.DataFrame(schema={ROW: pl.UInt32, REASON: pl.String})
        return loaded, TableReport(name, None, None, loaded.height, empty)
    bad = frame.filter(pl.col(REASON).is_not_null()).select(ROW, REASON)
    rejected = raw.original.join(bad, on=ROW, how="inner", maintain_order="left")
    return loaded.drop(ROW), TableReport(
        name,
        raw.source,
        raw.sha256,
        raw.original.height,
        rejected,
        query=raw.query,
        id_columns=raw.id_columns,
        text_columns=raw.text_columns,
    )


def _with_contract_columns(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """Add the optional contract columns a file lacks, as typed nulls."""
    return frame.with_columns(
        pl.lit(None, _DTYPES[c.dtype]).alias(c.name)
        for c in TABLES[name].columns
        if c.name not in frame.columns
    )


def _fill_from_catalog(
    interactions: pl.DataFrame, catalog: pl.DataFrame, warnings: list[str]
) -> pl.DataFrame:
    # Categorical, as the dataset holds them: the join and the catalog's columns cost less so
    # than casting the filled text (11.6M events: 0.2 s against 0.6 s)
    cat = catalog.select(
        "touchpoint",
        pl.col("stage").alias("_stage"),
        pl.col("channel").alias("_channel"),
        pl.col("kind").alias("_kind"),
    ).cast(pl.Categorical)
    own = [c for c in LABELS if c in interactions.columns]
    out = interactions.with_columns(pl.col(own).cast(pl.Categorical))
    out = out.join(cat, on="touchpoint", how="left", maintain_order="left")
    unknown = out.filter(pl.col("_stage").is_null())["touchpoint"].value_counts(sort=True)
    if unknown.height:
        names = ", ".join(f"{t} ({n})" for t, n in unknown.head(10).iter_rows())
        more = f" and {unknown.height - 10} more" if unknown.height > 10 else ""
        warnings.append(
            f"interactions: {unknown.height} touchpoints are not in the catalog, so "
            f"their stage and channel are 'unknown': {names}{more}. Map them onto "
            "catalog names under 'touchpoints' in the mapping, or add a touchpoints file."
        )
    fills = {
        c: pl.coalesce([c, f"_{c}"]) if c in interactions.columns else pl.col(f"_{c}")
        for c in ("channel", "stage")
    }
    out = out.with_columns(
        **{c: e.fill_null(UNKNOWN) for c, e in fills.items()}, kind=pl.col("_kind").fill_null(UNKNOWN)
    )
    if "value" not in out.columns:
        out = out.with_columns(pl.lit(None, pl.Float64).alias("value"))
    first = ["customer_id", "timestamp", "touchpoint", "channel", "stage", "kind", "value"]
    return out.drop("_stage", "_channel", "_kind").select(*first, pl.exclude(first))


def _numeric_attributes(customers: pl.DataFrame) -> pl.DataFrame:
    """Customer attributes read as text become numbers where every value is one."""
    contract = {c.name for c in TABLES["customers"].columns}
    casts = []
    for name, dtype in customers.schema.items():
        if name in contract or dtype != pl.String:
            continue
        values = customers[name].drop_nulls()
        if values.len() and values.cast(pl.Float64, strict=False).null_count() == 0:
            casts.append(pl.col(name).cast(pl.Float64))
    first = [c.name for c in TABLES["customers"].columns]
    return customers.with_columns(casts).select(*first, pl.exclude(first))

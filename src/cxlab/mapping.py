"""The column-mapping file: how an analyst's export maps onto the data contract.

Examples
--------
>>> from cxlab.mapping import Mapping
>>> m = Mapping.from_dict({"tables": {"interactions": {"columns": {"timestamp": "event_time"}}},
...                        "churn": {"inactivity_days": 180}})
>>> m.table("interactions").columns, m.inactivity_days
({'timestamp': 'event_time'}, 180)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Any

import yaml

from cxlab.config import MAX_REJECTED_SHARE, PRE_PURCHASE_DAYS
from cxlab.exceptions import DataContractError
from cxlab.schema import STAGES, TABLES

_TOP_KEYS = {"tables", "touchpoints", "churn", "scales", "validation", "stages", "comments"}
_TABLE_KEYS = {
    "file", "table", "query", "columns", "derive", "signup_touchpoint",
    "timestamp_format", "day_first", "encoding", "metric", "questions",
}  # fmt: skip
_QUESTION_KEYS = {"metric", "touchpoint"}
_VALIDATION_KEYS = {"pre_purchase_days", "max_rejected_share"}


@dataclass(frozen=True)
class TableMapping:
    """Where one contract table comes from, and how its columns are named there."""

    file: str | None = None  # in a dataset folder
    table: str | None = None  # in a database: a table or view name, as written in SQL
    query: str | None = None  # in a database: a SELECT whose result is the table
    columns: dict[str, str] = field(default_factory=dict)
    derive: bool = False
    signup_touchpoint: str | None = None
    timestamp_format: str | None = None  # strftime format of the table's timestamps
    day_first: bool = False  # 04/03/2025 is the 4th of March
    encoding: str = "utf-8"  # of a CSV file
    metric: str | None = None  # surveys: the metric of every row, for a file without a metric column
    questions: dict[str, dict[str, str]] = field(default_factory=dict)  # surveys: wide export

    @property
    def timestamp_formats(self) -> tuple[str, ...]:
        """The formats tried before ISO 8601: the explicit one, else day-first ones."""
        if self.timestamp_format:
            return (self.timestamp_format,)
        if self.day_first:
            return tuple(f"%d{sep}%m{sep}%Y{time}" for sep in "/.-" for time in (" %H:%M:%S", " %H:%M", ""))
        return ()


@dataclass(frozen=True)
class Mapping:
    """A parsed, checked column-mapping file (all keys optional)."""

    tables: dict[str, TableMapping] = field(default_factory=dict)
    touchpoints: dict[str, str] = field(default_factory=dict)
    inactivity_days: int | None = None
    scales: dict[str, tuple[float, float]] = field(default_factory=dict)
    pre_purchase_days: int = PRE_PURCHASE_DAYS
    max_rejected_share: float = MAX_REJECTED_SHARE
    stages: tuple[str, ...] = STAGES  # the journey stages, in order
    lexicon: dict[str, float] = field(default_factory=dict)  # comments.lexicon: sentiment words
    source: str = "the mapping"

    def table(self, name: str) -> TableMapping:
        return self.tables.get(name, TableMapping())

    @classmethod
    def from_dict(cls, raw: Any, *, source: str = "the mapping") -> Mapping:
        """Check a mapping given as a dictionary (as read from YAML)."""
        raw = {} if raw is None else raw
        _expect(isinstance(raw, dict), source, "the file", "a mapping of keys to values", raw)
        _no_unknown_keys(raw, _TOP_KEYS, source, "the top level")
        tables = {}
        for name, spec in _section(raw, "tables", source).items():
            if name not in TABLES:
                raise DataContractError(
                    f"{source}: unknown table '{name}' under 'tables'; expected one of {', '.join(TABLES)}."
                )
            tables[name] = _table_mapping(name, spec or {}, source)
        churn = _section(raw, "churn", source)
        _no_unknown_keys(churn, {"inactivity_days"}, source, "'churn'")
        inactivity = churn.get("inactivity_days")
        if inactivity is not None:
            _expect(
                _is_int(inactivity) and inactivity > 0,
                source,
                "churn.inactivity_days",
                "a whole number of days > 0",
                inactivity,
            )
        validation = _section(raw, "validation", source)
        _no_unknown_keys(validation, _VALIDATION_KEYS, source, "'validation'")
        pre = validation.get("pre_purchase_days", PRE_PURCHASE_DAYS)
        _expect(
            _is_int(pre) and pre >= 0,
            source,
            "validation.pre_purchase_days",
            "a whole number of days >= 0",
            pre,
        )
        share = validation.get("max_rejected_share", MAX_REJECTED_SHARE)
        _expect(
            isinstance(share, int | float) and 0 <= share <= 1,
            source,
            "validation.max_rejected_share",
            "a number between 0 and 1",
            share,
        )
        stages = raw.get("stages", list(STAGES))
        _expect(
            isinstance(stages, list) and stages and all(isinstance(x, str) and x.strip() for x in stages)
            and len({x.strip().lower() for x in stages}) == len(stages),
            source, "stages", "a list of distinct stage names, in journey order", stages,
        )  # fmt: skip
        comments = _section(raw, "comments", source)
        _no_unknown_keys(comments, {"lexicon"}, source, "'comments'")
        return cls(
            tables=tables,
            stages=tuple(x.strip().lower() for x in stages),
            lexicon=_lexicon(comments.get("lexicon") or {}, source),
            touchpoints=_string_dict(_section(raw, "touchpoints", source), source, "touchpoints"),
            inactivity_days=inactivity,
            scales=_scales(_section(raw, "scales", source), source),
            pre_purchase_days=pre,
            max_rejected_share=float(share),
            source=source,
        )


def read_mapping(path: str | Path) -> Mapping:
    """Read and check a column-mapping YAML file.

    Raises
    ------
    DataContractError
        If the file is missing, is not YAML, or has a key or value cxlab does not know;
        the message names the file and the key.
    """
    path = Path(path)
    if not path.is_file():
        raise DataContractError(f"Mapping file {path} does not exist.")
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataContractError(f"Mapping file {path} is not valid YAML: {bounded(exc)}") from None
    return Mapping.from_dict(raw, source=f"Mapping file {path}")


class _NoAliases(yaml.SafeLoader):
    """Safe YAML without aliases: a cxlab file never needs them, and a few lines of aliases can
    expand into billions of values ("billion laughs")."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.events.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.YAMLError(
                f"line {mark.line + 1}: YAML aliases (*name) are not allowed; write the values out"
            )
        return super().compose_node(parent, index)


def load_yaml(text: str) -> Any:
    r"""Parse ``text`` as safe YAML, refusing aliases.

    Examples
    --------
    >>> load_yaml("a: &x [1, 2]\nb: *x")
    Traceback (most recent call last):
    ...
    yaml.error.YAMLError: line 2: YAML aliases (*name) are not allowed; write the values out
    """
    return yaml.load(text, Loader=_NoAliases)  # noqa: S506 - a SafeLoader subclass


def bounded(error: object, limit: int = 300) -> str:
    """An error's text cut to ``limit`` characters, so a hostile file cannot flood the terminal or log."""
    text = str(error)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit:,} more characters)"


def _section(raw: dict, key: str, source: str, where: str = "") -> dict:
    value = raw.get(key) or {}
    _expect(isinstance(value, dict), source, where + key, "a mapping of keys to values", value)
    return value


def _table_mapping(name: str, spec: Any, source: str) -> TableMapping:
    where = f"tables.{name}"
    _expect(isinstance(spec, dict), source, where, "a mapping of keys to values", spec)
    _no_unknown_keys(spec, _TABLE_KEYS, source, f"'{where}'")
    derive = spec.get("derive", False)
    _expect(isinstance(derive, bool), source, f"{where}.derive", "true or false", derive)
    if derive and name != "customers":
        raise DataContractError(f"{source}: only the customers table can be derived, not '{name}'.")
    given = [key for key in ("file", "table", "query") if spec.get(key) is not None]
    if len(given) > 1 or (given and derive):
        both = " and ".join(given + (["derive"] if derive else []))
        raise DataContractError(f"{source}: '{where}' has {both}; give only one of them.")
    for key, expected in (("file", "a file name"), ("table", "a table name"), ("query", "a SQL query")):
        value = spec.get(key)
        if value is not None:
            _expect(isinstance(value, str) and value.strip(), source, f"{where}.{key}", expected, value)
    signup = spec.get("signup_touchpoint")
    if signup is not None:
        _expect(
            isinstance(signup, str) and signup,
            source,
            f"{where}.signup_touchpoint",
            "a touchpoint name",
            signup,
        )
    columns = _string_dict(_section(spec, "columns", source, f"{where}."), source, f"{where}.columns")
    _contract_columns(name, columns, source)
    for key, check, expected in (
        (
            "timestamp_format",
            lambda v: isinstance(v, str) and "%" in v,
            "a strftime format such as '%d/%m/%Y'",
        ),
        ("day_first", lambda v: isinstance(v, bool), "true or false"),
        ("encoding", _is_encoding, "a text encoding Python knows, such as utf-8, latin-1 or cp1252"),
        ("metric", lambda v: isinstance(v, str) and v.strip(), "a metric name such as nps"),
    ):
        if key in spec:
            _expect(check(spec[key]), source, f"{where}.{key}", expected, spec[key])
    if (spec.get("metric") or spec.get("questions")) and name != "surveys":
        raise DataContractError(
            f"{source}: 'metric' and 'questions' apply to the surveys table, not '{name}'."
        )
    return TableMapping(
        file=spec.get("file"),
        table=spec.get("table"),
        query=spec.get("query"),
        columns=columns,
        derive=derive,
        signup_touchpoint=signup,
        timestamp_format=spec.get("timestamp_format"),
        day_first=spec.get("day_first", False),
        encoding=spec.get("encoding", "utf-8"),
        metric=spec.get("metric", "").strip().lower() or None,
        questions=_questions(spec.get("questions") or {}, source, f"{where}.questions"),
    )


def _contract_columns(name: str, columns: dict[str, str], source: str) -> None:
    """Keys of ``columns`` must be contract columns; for customers, other keys name attributes
    unless they look like a misspelt contract column."""
    known = [c.name for c in TABLES[name].columns]
    for key in columns:
        close = get_close_matches(key, known, n=1, cutoff=0.6)
        if key not in known and (name != "customers" or close):
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise DataContractError(
                f"{source}: 'tables.{name}.columns.{key}' is not a column of the {name} table "
                f"({', '.join(known)}).{hint}"
            )


def _questions(raw: Any, source: str, where: str) -> dict[str, dict[str, str]]:
    """``export column: {metric: ..., touchpoint: ...}`` of a wide survey export."""
    _expect(isinstance(raw, dict), source, where, "export column: {metric: ..., touchpoint: ...}", raw)
    out = {}
    for column, spec in raw.items():
        _no_unknown_keys(spec, _QUESTION_KEYS, source, f"'{where}.{column}'")
        metric = spec.get("metric")
        _expect(
            isinstance(metric, str) and metric.strip(), source, f"{where}.{column}.metric", "a metric", metric
        )
        touchpoint = spec.get("touchpoint")
        _expect(touchpoint is None or isinstance(touchpoint, str), source, f"{where}.{column}.touchpoint",
                "a touchpoint name", touchpoint)  # fmt: skip
        out[str(column)] = {"metric": metric.strip().lower(), "touchpoint": touchpoint}
    return out


def _is_encoding(value: Any) -> bool:
    import codecs

    try:
        return isinstance(value, str) and bool(codecs.lookup(value))
    except LookupError:
        return False


def _scales(raw: Any, source: str) -> dict[str, tuple[float, float]]:
    _expect(isinstance(raw, dict), source, "scales", "metric: [min, max] entries", raw)
    scales = {}
    for metric, bounds in raw.items():
        ok = (
            isinstance(bounds, list)
            and len(bounds) == 2
            and all(isinstance(b, int | float) for b in bounds)
            and bounds[0] < bounds[1]
        )
        _expect(ok, source, f"scales.{metric}", "[min, max] with min < max", bounds)
        scales[str(metric).strip().lower()] = (float(bounds[0]), float(bounds[1]))
    return scales


def _lexicon(raw: Any, source: str) -> dict[str, float]:
    """``comments.lexicon``: words or phrases and their sentiment, from -4 to +4 (VADER's scale)."""
    _expect(isinstance(raw, dict), source, "comments.lexicon", "word: valence entries", raw)
    for word, value in raw.items():
        _expect(
            isinstance(value, int | float) and not isinstance(value, bool) and -4 <= value <= 4,
            source, f"comments.lexicon.{word}", "a number from -4 (negative) to 4 (positive)", value,
        )  # fmt: skip
    return {str(k).lower(): float(v) for k, v in raw.items()}


def _string_dict(raw: Any, source: str, where: str) -> dict[str, str]:
    _expect(isinstance(raw, dict), source, where, "name: name entries", raw)
    for key, value in raw.items():
        _expect(isinstance(value, str | int) and str(value) != "", source, f"{where}.{key}", "a name", value)
    return {str(k): str(v) for k, v in raw.items()}


def _no_unknown_keys(raw: Any, known: set[str], source: str, where: str) -> None:
    _expect(isinstance(raw, dict), source, where, "a mapping of keys to values", raw)
    unknown = sorted(set(raw) - known)
    if unknown:
        close = get_close_matches(str(unknown[0]), known, n=1, cutoff=0.6)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise DataContractError(
            f"{source}: unknown key {', '.join(repr(k) for k in unknown)} in {where}; "
            f"expected {', '.join(sorted(known))}.{hint}"
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _expect(ok: bool, source: str, key: str, expected: str, got: Any) -> None:
    if not ok:
        raise DataContractError(f"{source}: '{key}' must be {expected}. Got {got!r} instead.")

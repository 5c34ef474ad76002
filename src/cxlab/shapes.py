"""The shape zoo: small, deterministic datasets shaped like real exports, not like our generator.

Every analysis must run on each of them (or say in one sentence which data it would need).
Most are reshaped from :func:`cxlab.synthetic.make_journeys`; each comes with the mapping
file an analyst would write for it.

======================  ==============================================================
shape                   what it is
======================  ==============================================================
``crm_export``          a CRM dump: own column names, day-first dates, own activity
                        labels, a wide NPS survey (a column per question)
``no_surveys``          interactions and customers only (the surveys table is optional)
``nps_only``            surveys with an NPS question and nothing else
``ratings_only``        CSAT and CES ratings, no NPS
``survey_only``         a survey export: respondents, one or no interaction each
``no_churn``            no ``churned_at`` column and no inactivity rule
``all_churned``         everyone churns within the exposure window
``nobody_past_window``  every customer signed up less than 30 days before the end
``order_history``       one touchpoint (``order``), customers derived, churn by inactivity
``clickstream``         page events with its own catalog and five stages of its own
``b2b_funnel``          leads through five stages of its own; nine in ten never buy
``drivers_25``          a relationship survey rating 25 touchpoints
``long_tail``           300 distinct touchpoint labels, most of them rare
``tiny``                40 customers in all
``expanded_paths``      aggregated path counts expanded to customers (events on
                        consecutive days, every churn on the same day)
======================  ==============================================================

Examples
--------
>>> from cxlab.shapes import SHAPES, make_shape
>>> shape = make_shape("order_history")
>>> sorted(shape.tables), shape.mapping["churn"]
(['interactions'], {'inactivity_days': 120})
>>> len(SHAPES)
15
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from cxlab.catalog import default_catalog
from cxlab.synthetic import make_journeys

N_CUSTOMERS = 600
"""Customers per shape: enough for every model to have something to fit, small enough to be fast."""


@dataclass
class Shape:
    """A dataset as an analyst would bring it: tables by contract name, and the mapping file."""

    name: str
    tables: dict[str, pl.DataFrame]
    mapping: dict = field(default_factory=dict)

    def write(self, directory: str | Path) -> Path:
        """Write one CSV per table and, when there is one, ``mapping.yaml`` beside them."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for table, frame in self.tables.items():
            frame.write_csv(directory / f"{table}.csv", datetime_format="%Y-%m-%d %H:%M:%S")
        if self.mapping:
            (directory / "mapping.yaml").write_text(yaml.safe_dump(self.mapping, sort_keys=False))
        return directory

    @property
    def mapping_file(self) -> str | None:
        """The mapping file's name, as ``cxlab run --mapping`` wants it (None without one)."""
        return "mapping.yaml" if self.mapping else None


def make_shape(name: str, *, random_state: int = 0) -> Shape:
    """The shape ``name`` (see the module's table), the same for the same ``random_state``.

    Parameters
    ----------
    name : str
        One of :data:`SHAPES`.
    random_state : int
        Seed.

    Returns
    -------
    Shape
    """
    if name not in SHAPES:
        raise ValueError(f"Unknown shape {name!r}; the shapes are {', '.join(SHAPES)}.")
    return Shape(name, *SHAPES[name](np.random.default_rng(random_state)))


def _base(rng: np.random.Generator, n: int = N_CUSTOMERS) -> dict[str, pl.DataFrame]:
    tables = make_journeys(n, random_state=int(rng.integers(1 << 31))).dataset
    return {"customers": tables.customers, "interactions": tables.interactions, "surveys": tables.surveys}


def _no_surveys(rng):
    tables = _base(rng)
    del tables["surveys"]
    return tables, {}


def _nps_only(rng):
    tables = _base(rng)
    tables["surveys"] = tables["surveys"].filter(metric="nps").drop("touchpoint")
    return tables, {}


def _ratings_only(rng):
    tables = _base(rng)
    ratings = tables["surveys"].filter(pl.col("metric") == "csat")
    ces = ratings.head(ratings.height // 3).with_columns(
        pl.lit("ces").alias("metric"), (pl.col("score") + 2).alias("score"), pl.col("response_id") + "-ces"
    )
    tables["surveys"] = pl.concat([ratings.tail(ratings.height - ces.height), ces])
    return tables, {}


def _survey_only(rng):
    tables = _base(rng)
    respondents = tables["surveys"]["customer_id"].unique().sort()
    customers = tables["customers"].filter(pl.col("customer_id").is_in(respondents.implode()))
    first = (
        tables["interactions"]
        .filter(pl.col("customer_id").is_in(respondents.implode()))
        .group_by("customer_id")
        .first()
        .sort("customer_id")
    )
    half = first.filter(pl.Series(rng.random(first.height) < 0.5))
    surveys = tables["surveys"].filter(pl.col("customer_id").is_in(respondents.implode()))
    return {"customers": customers.drop("churned_at"), "interactions": half, "surveys": surveys}, {}


def _no_churn(rng):
    tables = _base(rng)
    tables["customers"] = tables["customers"].drop("churned_at")
    return tables, {}


def _all_churned(rng):
    tables = _base(rng)
    churn = pl.col("signup_at") + pl.duration(days=pl.lit(rng.uniform(1, 28, tables["customers"].height)))
    customers = tables["customers"].with_columns(churn.alias("churned_at"))
    ends = customers.select("customer_id", "churned_at")
    events = (
        tables["interactions"]
        .join(ends, on="customer_id")
        .filter(pl.col("timestamp") <= pl.col("churned_at"))
    )
    surveys = (
        tables["surveys"].join(ends, on="customer_id").filter(pl.col("responded_at") <= pl.col("churned_at"))
    )
    return {"customers": customers, "interactions": events.drop("churned_at"),
            "surveys": surveys.drop("churned_at")}, {}  # fmt: skip


def _nobody_past_window(rng):
    tables = _base(rng)
    end = tables["interactions"]["timestamp"].max()
    n = tables["customers"].height
    new_signup = pl.lit(end) - pl.duration(days=pl.lit(rng.uniform(2, 25, n)))
    shift = tables["customers"].select("customer_id", (new_signup - pl.col("signup_at")).alias("_shift"))
    moved = {
        name: frame.join(shift, on="customer_id")
        .with_columns((pl.col(c) + pl.col("_shift")).alias(c) for c in cols)
        .drop("_shift")
        for name, frame, cols in (
            ("customers", tables["customers"], ["signup_at", "churned_at"]),
            ("interactions", tables["interactions"], ["timestamp"]),
            ("surveys", tables["surveys"], ["responded_at"]),
        )
    }
    moved["interactions"] = moved["interactions"].filter(pl.col("timestamp") <= end)
    moved["surveys"] = moved["surveys"].filter(pl.col("responded_at") <= end)
    moved["customers"] = moved["customers"].with_columns(
        pl.when(pl.col("churned_at") <= end).then("churned_at").alias("churned_at")
    )
    return moved, {}


def _order_history(rng):
    events = _base(rng)["interactions"]
    stages = dict(default_catalog().select("touchpoint", "stage").iter_rows())
    buying = [t for t, s in stages.items() if s in ("purchase", "post_purchase")]
    orders = events.filter(pl.col("touchpoint").is_in(buying)).select(
        pl.col("customer_id").alias("client"),
        pl.col("timestamp").alias("order_date"),
        pl.lit("order").alias("touchpoint"),
        pl.col("value").fill_null(pl.lit(40.0)).alias("amount"),
    )
    mapping = {
        "tables": {
            "interactions": {
                "columns": {"customer_id": "client", "timestamp": "order_date", "value": "amount"}
            },
            "customers": {"derive": True},
        },
        "churn": {"inactivity_days": 120},
    }
    return {"interactions": orders}, mapping


CLICKSTREAM_STAGES = ["land", "browse", "cart", "buy", "return"]


def _clickstream(rng):
    tables = _base(rng)
    to_stage = {"awareness": "land", "consideration": "browse", "purchase": "buy", "post_purchase": "return"}
    catalog = default_catalog().select(
        ("page_" + pl.col("touchpoint")).alias("touchpoint"),
        pl.col("stage").replace_strict(to_stage),
        pl.lit("web").alias("channel"),
    )
    cart = pl.DataFrame({"touchpoint": ["page_cart"], "stage": ["cart"], "channel": ["web"]})
    events = tables["interactions"].with_columns(("page_" + pl.col("touchpoint")).alias("touchpoint"))
    carts = events.filter(pl.col("touchpoint") == "page_checkout_payment").with_columns(
        pl.lit("page_cart").alias("touchpoint"), pl.col("timestamp") - pl.duration(minutes=5)
    )
    events = pl.concat([events, carts]).sort("customer_id", "timestamp")
    tables.update(interactions=events, touchpoints=pl.concat([catalog, cart]))
    del tables["surveys"]
    return tables, {"stages": CLICKSTREAM_STAGES}


B2B_STAGES = ["lead", "mql", "sql", "opportunity", "won"]


def _b2b_funnel(rng, n: int = 2_000):
    # Leads advance stage by stage with these chances, so about one in ten is won.
    advance = [0.6, 0.55, 0.5, 0.6]
    start = datetime(2025, 1, 1)
    created = rng.uniform(0, 300, n)
    rows, furthest = [], np.zeros(n, int)
    for i in range(n):
        day = created[i]
        rows.append((i, day, "web_form"))
        for step, p in enumerate(advance, start=1):
            if rng.random() > p:
                break
            day += rng.uniform(3, 20)
            rows.append((i, day, ["nurture_email", "sales_call", "demo", "contract"][step - 1]))
            furthest[i] = step
    frame = pl.DataFrame(rows, schema=["i", "day", "touchpoint"], orient="row")
    ids = pl.format("L{}", pl.col("i").cast(pl.String).str.zfill(5))
    when = pl.lit(start) + pl.duration(seconds=(pl.col("day") * 86_400).cast(pl.Int64))
    events = frame.select(ids.alias("customer_id"), when.alias("timestamp"), "touchpoint")
    catalog = pl.DataFrame(
        {"touchpoint": ["web_form", "nurture_email", "sales_call", "demo", "contract"],
         "stage": B2B_STAGES, "channel": ["web", "email", "phone", "video", "sales"]}
    )  # fmt: skip
    customers = pl.DataFrame(
        {"i": np.arange(n), "day": created, "size": rng.choice(["smb", "mid", "ent"], n)}
    )
    customers = customers.select(ids.alias("customer_id"), when.alias("signup_at"), "size")
    mapping = {"stages": B2B_STAGES, "churn": {"inactivity_days": 90}}
    return {"customers": customers, "interactions": events, "touchpoints": catalog}, mapping


def _drivers_25(rng):
    tables = _base(rng)
    names = default_catalog()["touchpoint"].head(25).to_list()
    nps = tables["surveys"].filter(metric="nps")
    weights = rng.uniform(0, 1, len(names)) * (rng.random(len(names)) < 0.3)
    ratings = rng.integers(1, 6, (nps.height, len(names)))
    score = np.clip(np.round(nps["score"].to_numpy() * 0.5 + ratings @ weights * 0.4), 0, 10)
    parts = [nps.with_columns(pl.Series("score", score, pl.Float64))]
    for j, name in enumerate(names):
        answered = rng.random(nps.height) < 0.9
        parts.append(
            nps.filter(pl.Series(answered)).with_columns(
                pl.lit("csat").alias("metric"),
                pl.lit(name).alias("touchpoint"),
                pl.Series("score", ratings[answered, j], pl.Float64),
                pl.lit(None, pl.String).alias("comment"),
            )  # fmt: skip
        )
    tables["surveys"] = pl.concat(parts)
    return tables, {}


def _long_tail(rng):
    tables = _base(rng)
    n = tables["interactions"].height
    drawn = rng.zipf(1.3, n)  # 300 labels, a few common and most rare (beyond 300: spread over the tail)
    rank = np.where(drawn > 300, rng.integers(50, 301, n), drawn) - 1
    rank[:300] = np.arange(300)  # every label occurs at least once
    labels = pl.Series("touchpoint", [f"page_{r:03d}" for r in rank])
    tables["interactions"] = tables["interactions"].with_columns(labels)
    return tables, {}


def _tiny(rng):
    return _base(rng, 40), {}


EXPANDED_PATHS = {
    ("search", "website", "checkout_payment"): 220,
    ("social_media", "mobile_app", "checkout_payment", "support_team"): 140,
    ("advertising", "store", "point_of_sale"): 90,
    ("word_of_mouth", "website", "checkout_payment", "delivery", "billing"): 60,
}


def _expanded_paths(rng):
    start, churn_day = datetime(2025, 1, 1), datetime(2025, 6, 1)
    customers, events, k = [], [], 0
    for path, count in EXPANDED_PATHS.items():
        for _ in range(count):
            cid = f"P{k:05d}"
            signup = start + timedelta(days=int(rng.integers(0, 90)))
            customers.append((cid, signup + timedelta(days=2), churn_day if rng.random() < 0.4 else None))
            events += [(cid, signup + timedelta(days=d), tp) for d, tp in enumerate(path)]
            k += 1
    schema = {"customer_id": pl.String, "signup_at": pl.Datetime("us"), "churned_at": pl.Datetime("us")}
    customers = pl.DataFrame(customers, schema=schema, orient="row")
    events = pl.DataFrame(events, schema=["customer_id", "timestamp", "touchpoint"], orient="row")
    return {"customers": customers, "interactions": events}, {}


CRM_LABELS = {"Web visit": "website", "Sales call": "staff_sales", "Order": "checkout_payment",
              "Delivery": "delivery", "Invoice": "billing", "Support ticket": "support_team",
              "Newsletter": "marketing_email"}  # fmt: skip


def _crm_export(rng):
    """A CRM dump: its own column names, day-first dates, activity labels of its own, and the
    NPS survey as one row per respondent with a column per question."""
    tables = _base(rng)
    day_first = "%d/%m/%Y %H:%M"
    accounts = tables["customers"].select(
        pl.col("customer_id").str.replace("C", "ACC-").alias("Account ID"),
        pl.col("signup_at").dt.strftime(day_first).alias("Created"),
        pl.col("churned_at").dt.strftime(day_first).alias("Closed"),
        pl.col("segment").alias("Plan"),
    )
    labels = {v: k for k, v in CRM_LABELS.items()}
    activities = (
        tables["interactions"]
        .filter(pl.col("touchpoint").is_in(list(labels)))
        .select(
            pl.col("customer_id").str.replace("C", "ACC-").alias("Account ID"),
            pl.col("timestamp").dt.strftime(day_first).alias("Date"),
            pl.col("touchpoint").replace_strict(labels).alias("Activity"),
        )
    )
    questions = {"nps": "Likelihood to recommend (0-10)", "delivery": "Delivery (1-5)",
                 "support_team": "Support (1-5)", "billing": "Billing (1-5)"}  # fmt: skip
    asked = (
        tables["surveys"]
        .filter(pl.col("response_id").str.starts_with("R"))
        .with_columns(
            pl.coalesce("touchpoint", "metric").replace_strict(questions, default=None).alias("question")
        )
    )
    wide = asked.drop_nulls("question").pivot(
        on="question", index=["customer_id", "responded_at"], values="score", aggregate_function="first"
    )
    survey = wide.select(
        pl.col("customer_id").str.replace("C", "ACC-").alias("Account ID"),
        pl.col("responded_at").dt.strftime(day_first).alias("Submitted"),
        *questions.values(),
    )
    mapping = {
        "tables": {
            "customers": {
                "file": "accounts.csv", "day_first": True,
                "columns": {"customer_id": "Account ID", "signup_at": "Created", "churned_at": "Closed"},
            },
            "interactions": {
                "file": "activities.csv", "day_first": True,
                "columns": {"customer_id": "Account ID", "timestamp": "Date", "touchpoint": "Activity"},
            },
            "surveys": {"file": "nps_survey.csv", "day_first": True,
                        "columns": {"customer_id": "Account ID", "responded_at": "Submitted"},
                        "questions": {"Likelihood to recommend (0-10)": {"metric": "nps"},
                                      "Delivery (1-5)": {"metric": "csat", "touchpoint": "delivery"},
                                      "Support (1-5)": {"metric": "csat", "touchpoint": "support_team"},
                                      "Billing (1-5)": {"metric": "csat", "touchpoint": "billing"}}},
        },
        "touchpoints": CRM_LABELS,
    }  # fmt: skip
    return {"accounts": accounts, "activities": activities, "nps_survey": survey}, mapping


SHAPES: dict[str, Callable] = {
    "crm_export": _crm_export,
    "no_surveys": _no_surveys,
    "nps_only": _nps_only,
    "ratings_only": _ratings_only,
    "survey_only": _survey_only,
    "no_churn": _no_churn,
    "all_churned": _all_churned,
    "nobody_past_window": _nobody_past_window,
    "order_history": _order_history,
    "clickstream": _clickstream,
    "b2b_funnel": _b2b_funnel,
    "drivers_25": _drivers_25,
    "long_tail": _long_tail,
    "tiny": _tiny,
    "expanded_paths": _expanded_paths,
}
"""Every shape of the zoo, by name."""

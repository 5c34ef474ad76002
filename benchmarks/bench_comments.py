"""Benchmark: what 200,000 survey comments say (redaction, sentiment, topics, the topic table).

Writes a dataset of N customers with one NPS answer and comment each (comments from the planted
topics of ``cxlab.synthetic.make_comments``), then times, each in its own process:

* ``comment_topics``: :func:`cxlab.comments.comment_topics` end to end (redaction, sentiment,
  choosing the number of topics, the topic model on every comment, NPS and churn by topic);
* ``sentiment_unique``: sentiment of N comments that are all different (the generated ones
  repeat; sentiment scores each distinct comment once, so this is its worst case).

    python benchmarks/bench_comments.py [--customers 200000] [--out /tmp/cxlab-bench-comments]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from _harness import arguments, print_step, record, run_step, timed

STEPS = ("comment_topics", "sentiment_unique")


def _write(out: Path, n: int) -> None:
    from cxlab.synthetic import make_comments

    rng = np.random.default_rng(0)
    ids = pl.Series([f"C{i:07d}" for i in range(n)])
    signup = pl.datetime_range(pl.datetime(2024, 1, 1), pl.datetime(2024, 12, 31), "1h", eager=True)
    days = pl.Series(rng.integers(60, 400, n))
    churn = days.zip_with(pl.Series(rng.random(n) < 0.3), pl.Series([None] * n, dtype=pl.Int64))
    customers = pl.DataFrame(
        {"customer_id": ids, "signup_at": signup.sample(n, with_replacement=True, seed=0)}
    )
    customers = customers.with_columns(churned_at=pl.col("signup_at") + pl.duration(days=churn))
    comments = make_comments(n, random_state=0)
    out.mkdir(parents=True, exist_ok=True)
    customers.write_parquet(out / "customers.parquet")
    customers.select(
        "customer_id", pl.col("signup_at").alias("timestamp"), touchpoint=pl.lit("website")
    ).write_parquet(out / "interactions.parquet")
    customers.select(
        "customer_id",
        (pl.col("signup_at") + pl.duration(days=30)).alias("responded_at"),
        pl.format("R{}", pl.int_range(n)).alias("response_id"),
        metric=pl.lit("nps"),
        score=pl.Series(
            np.where(comments["polarity"] == "negative", rng.integers(0, 7, n), rng.integers(9, 11, n))
        ),
        comment=comments["comment"],
    ).write_parquet(out / "surveys.parquet")


def _step(name: str, customers: int, out: Path) -> dict:
    import cxlab
    from cxlab import comments

    if name == "write":
        _write(out, customers)
        return {"step": name}
    dataset = cxlab.load_dataset(out, observation_end="2026-06-30")
    texts = dataset.surveys["comment"]
    if name == "sentiment_unique":
        texts = texts + pl.Series(
            [f" {chr(97 + i % 26)}{chr(97 + i // 26 % 26)}{i}x" for i in range(len(texts))]
        )
    with timed(name, events=len(texts), distinct=texts.n_unique()) as r:
        if name == "comment_topics":
            r["topics"] = comments.comment_topics(dataset).counts["topics"]
        else:
            comments.score_sentiment(texts)
    return r


def main() -> None:
    args = arguments(__doc__, _step)
    if args is None:
        return
    n, out = args.customers if args.customers != 1_000_000 else 200_000, args.out / "comments"
    if not (out / "surveys.parquet").exists():
        run_step(__file__, "write", "--customers", str(n), "--out", str(out))
    results = {step: run_step(__file__, step, "--out", str(out)) for step in STEPS}
    for r in results.values():
        print_step(r)
    topics, unique = results["comment_topics"], results["sentiment_unique"]
    rate = topics["events"] / topics["seconds"]
    record(
        args.out, "comments", {f"{k}_{f}": v[f] for k, v in results.items() for f in ("seconds", "peak_mb")}
    )
    print(
        f"\n{topics['events']:,} comments ({topics['distinct']:,} distinct), {topics['topics']} topics: "
        f"{topics['seconds']:.1f} s end to end (target under 60 s; {rate:,.0f} comments/s); sentiment "
        f"of {unique['events']:,} all-different comments {unique['seconds']:.1f} s"
    )


if __name__ == "__main__":
    main()

"""Are two runs' result tables the same? ``python scripts/same_tables.py RUN_A RUN_B``

Compares every ``tables/*.csv`` the two run folders share, on the columns both have (a later
cxlab may add columns; the contract never removes them), sorted by those columns, numbers to a
relative tolerance of 1e-6. Prints one line per table and exits 1 when any differs. Used to
show that a refactoring left a run's results unchanged.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal


def compare(a: Path, b: Path) -> list[str]:
    """One line per table of ``a/tables`` and ``b/tables``: same, different (why) or missing."""
    lines = []
    names = sorted(
        {p.name for p in (a / "tables").glob("*.csv")} | {p.name for p in (b / "tables").glob("*.csv")}
    )
    for name in names:
        paths = [run / "tables" / name for run in (a, b)]
        if not all(p.exists() for p in paths):
            lines.append(f"MISSING  {name}: only in {[str(p.parents[1]) for p in paths if p.exists()][0]}")
            continue
        left, right = (pl.read_csv(p, infer_schema_length=None) for p in paths)
        common = [c for c in left.columns if c in right.columns]
        try:
            assert_frame_equal(
                left.select(common).sort(common, nulls_last=True),
                right.select(common).sort(common, nulls_last=True),
                check_dtypes=False, rel_tol=1e-6,
            )  # fmt: skip
            added = sorted(set(right.columns) - set(left.columns))
            lines.append(
                f"same     {name} ({left.height} rows){'; added ' + ', '.join(added) if added else ''}"
            )
        except AssertionError as error:
            lines.append(f"DIFFERS  {name}: {str(error).splitlines()[0]}")
    return lines


if __name__ == "__main__":
    report = compare(Path(sys.argv[1]), Path(sys.argv[2]))
    print("\n".join(report))
    sys.exit(any(not line.startswith("same") for line in report))

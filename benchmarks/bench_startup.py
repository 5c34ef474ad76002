"""Start-up time: `import cxlab`, `cxlab --help`, and a `cxlab run` refused for a bad argument.

Each command runs in a fresh process, five times; the median wall time is reported, with
the ratio to a bare `python -c pass` (the interpreter's own start-up, the floor).

    python benchmarks/bench_startup.py [--out /tmp/cxlab-bench]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _harness import record

BIN = Path(sys.executable).parent
COMMANDS = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "import cxlab": [sys.executable, "-c", "import cxlab"],
    "cxlab --help": [str(BIN / "cxlab"), "--help"],
    "cxlab run (refused: no --data)": [str(BIN / "cxlab"), "run", "--out", "/tmp/cxlab-bench-never"],
}


def median_seconds(command: list[str], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("/tmp/cxlab-bench"))
    out = parser.parse_args().out
    results = {name: median_seconds(command) for name, command in COMMANDS.items()}
    record(out, "startup", {name: round(seconds, 3) for name, seconds in results.items()})
    floor = results["python -c pass (floor)"]
    print(f"{'command':<34} {'median s':>9} {'x floor':>8}")
    for name, seconds in results.items():
        print(f"{name:<34} {seconds:>9.3f} {seconds / floor:>8.1f}")


if __name__ == "__main__":
    main()

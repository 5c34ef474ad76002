"""Start-up time: `import cxlab`, `cxlab --help`, a `cxlab run` refused for a bad argument, and
a run of one notebook that does nothing (on 100 generated customers): a run's fixed cost.

Each command runs in a fresh process, five times; the median wall time is reported, with
the ratio to a bare `python -c pass` (the interpreter's own start-up, the floor).

    python benchmarks/bench_startup.py [--out /tmp/cxlab-bench]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from _harness import record

BIN = Path(sys.executable).parent
COMMANDS = {  # name: (command, the exit code it should end with)
    "python -c pass (floor)": ([sys.executable, "-c", "pass"], 0),
    "import cxlab": ([sys.executable, "-c", "import cxlab"], 0),
    "cxlab --help": ([str(BIN / "cxlab"), "--help"], 0),
    "cxlab run (refused: no --data)": ([str(BIN / "cxlab"), "run", "--out", "/tmp/cxlab-bench-never"], 2),
}


def one_notebook_run(folder: Path) -> list[str]:
    """The command of a run of one empty notebook on 100 generated customers (``--overwrite``:
    every repeat writes the same folder)."""
    data, notebooks = folder / "data", folder / "notebooks"
    generate = [str(BIN / "cxlab"), "generate", "--customers", "100", "--seed", "0", "--out", str(data)]
    subprocess.run(generate, capture_output=True, check=True)
    parameters = nbformat.v4.new_code_cell('run_dir: str = "."', metadata={"tags": ["parameters"]})
    notebooks.mkdir()
    kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    notebook = nbformat.v4.new_notebook(cells=[parameters], metadata=kernel)
    nbformat.write(notebook, notebooks / "01_empty.ipynb")
    run = ["run", "--data", str(data), "--notebooks", str(notebooks), "--out", str(folder / "run")]
    return [str(BIN / "cxlab"), *run, "--overwrite"]


def median_seconds(command: list[str], expected: int, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
    if done.returncode != expected:  # else the figure would time an error
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("/tmp/cxlab-bench"))
    out = parser.parse_args().out
    with tempfile.TemporaryDirectory() as folder:
        commands = {**COMMANDS, "cxlab run (one empty notebook)": (one_notebook_run(Path(folder)), 0)}
        results = {name: median_seconds(*command) for name, command in commands.items()}
    record(out, "startup", {name: round(seconds, 3) for name, seconds in results.items()})
    floor = results["python -c pass (floor)"]
    print(f"{'command':<34} {'median s':>9} {'x floor':>8}")
    for name, seconds in results.items():
        print(f"{name:<34} {seconds:>9.3f} {seconds / floor:>8.1f}")


if __name__ == "__main__":
    main()

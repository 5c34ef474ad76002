"""The project keeps its promises: dependencies in step, two-command quick start, clean
notebooks with a parameters cell, docs that restate the schema."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from cxlab.schema import contract_markdown

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _requirement(spec: str) -> tuple[str, str]:
    name, version = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec).groups()
    return name.lower().replace("_", "-"), version.replace(" ", "")


def test_environment_yml_lists_the_same_runtime_packages_as_pyproject():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = dict(_requirement(d) for d in pyproject["project"]["dependencies"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(_requirement(d) for d in env["dependencies"] if isinstance(d, str))
    conda.pop("pip")
    assert conda.pop("python") == ">=" + pyproject["project"]["requires-python"].lstrip(">=")
    assert conda == declared
    assert env["channels"] == ["conda-forge"]
    assert {"pip": ["-e ."]} in env["dependencies"]


def _quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```(?:bash|sh|console)?\n(.*?)```", section, re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip()]


def test_readme_quick_start_is_exactly_two_commands_and_ci_runs_the_second():
    commands = _quick_start_commands()
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_is_clean_and_parameterized(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code), "strip outputs"
    tagged = [c for c in code if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is code[0], "first code cell must be tagged 'parameters'"
    source = "".join(tagged[0]["source"])
    for line in filter(None, source.splitlines()):
        assert re.match(r"^\w+: (str|int|float|bool) = .+  # .+$", line), f"untyped or uncommented: {line}"
    for c in code:  # thin: logic lives in the package
        assert not re.search(r"^\s*(def|class) ", "".join(c["source"]), re.M)


def test_docs_restate_the_schema_tables():
    docs = (ROOT / "docs" / "data-contract.md").read_text()
    assert contract_markdown() in docs, "paste the output of `cxlab contract` into the docs"

"""The structure keeps its promises: one home per default, no import cycles, no private
names across modules, notebooks without control flow, result tables described as data."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from cxlab import config
from cxlab.rundir import OUTPUT_TABLES, RunDir, results_markdown

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "cxlab"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _code_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_parameter_literals_equal_the_package_defaults(path):
    parameters = _code_cells(path)[0]
    for name, literal in re.findall(r"^(\w+): \w+ = (.+?)  #", parameters, re.M):
        if name in config.DEFAULTS:
            assert ast.literal_eval(literal) == config.DEFAULTS[name], f"{path.name}: {name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_hold_no_control_flow(path):
    # The result objects carry "nothing to show" themselves; a notebook is calls and displays.
    for source in _code_cells(path)[1:]:
        tree = ast.parse(source)
        flow = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.If | ast.For | ast.While | ast.IfExp | ast.comprehension)
        ]
        assert not flow, f"{path.name}: control flow in {source.splitlines()[0]!r}"


def _imports(path: Path) -> tuple[set[str], set[tuple[str, str]]]:
    """Modules of cxlab that ``path`` imports (anywhere in it), and private names it imports from them."""
    modules, private = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cxlab"):
            names = [a.name for a in node.names]
            if node.module == "cxlab":
                modules |= {f"cxlab.{n}" for n in names if (PACKAGE / f"{n}.py").exists()}
            else:
                modules.add(node.module)
            private |= {(node.module, n) for n in names if n.startswith("_") and not n.startswith("__")}
        elif isinstance(node, ast.Import):
            modules |= {a.name for a in node.names if a.name.startswith("cxlab.")}
    return modules, private


def test_the_package_has_no_import_cycles_and_no_private_imports():
    graph, private = {}, []
    for path in PACKAGE.glob("*.py"):
        module = "cxlab" if path.stem == "__init__" else f"cxlab.{path.stem}"
        graph[module], names = _imports(path)
        private += [(module, *n) for n in names]
    assert not private, f"private names imported across modules: {private}"

    def visit(module, trail):
        for dependency in sorted(graph.get(module, ())):
            assert dependency not in trail, f"import cycle: {' -> '.join([*trail, dependency])}"
            visit(dependency, [*trail, dependency])

    for module in graph:
        if module != "cxlab":  # the package's lazy __getattr__ imports every module on use
            visit(module, [module])


def test_no_module_uses_another_modules_private_names():
    pattern = re.compile(r"\b(?:io|validation|report|journeys|retention|survey|archetypes)\._[a-z]\w*\(")
    offenders = [p.name for p in PACKAGE.glob("*.py") if pattern.search(p.read_text())]
    assert not offenders


def test_import_cxlab_loads_no_heavy_library():
    heavy = "('sklearn', 'lifelines', 'matplotlib', 'papermill')"
    code = f"import sys, cxlab; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_docs_results_section_is_generated_from_the_table_descriptions():
    assert results_markdown() in (ROOT / "docs" / "data-contract.md").read_text()


@pytest.mark.parametrize("name", [n for n in OUTPUT_TABLES if n.endswith(".csv")])
def test_an_empty_result_table_keeps_its_columns_and_types(name, tmp_path):
    run = RunDir(tmp_path)
    run.write_table(name, pl.DataFrame())
    back = run.read_table(name)
    assert back.height == 0 and back.schema == pl.Schema(OUTPUT_TABLES[name].columns)


def test_a_result_table_missing_a_column_is_refused(tmp_path):
    from cxlab.exceptions import DataContractError

    with pytest.raises(DataContractError, match="paths.csv lacks column"):
        RunDir(tmp_path).write_table("paths.csv", pl.DataFrame({"path": ["a"]}))


def test_a_landmark_at_another_window_than_the_features_is_refused(tiny):
    import cxlab
    from cxlab import retention
    from cxlab.exceptions import DataContractError

    features = cxlab.build_features(cxlab.load_dataset(tiny), exposure_window_days=30)
    assert retention.landmark_data(features).exposure_window_days == 30
    with pytest.raises(DataContractError, match="built with an exposure window of \\[30\\] days"):
        retention.landmark_data(features, exposure_window_days=90)


def test_a_table_written_by_an_older_cxlab_reads_with_the_added_columns_empty(tmp_path):
    # The run index reads every run in reports/, including runs from before a column was added.
    run = RunDir(tmp_path)
    run.tables.mkdir()
    pl.DataFrame({"group": ["all"], "days": [180], "n_at_start": [9], "retention": [0.8], "ci_low": [0.7],
                  "ci_high": [0.9]}).write_csv(run.table_path("retention_overall.csv"))  # fmt: skip
    back = run.read_table("retention_overall.csv")
    assert back["retention"].to_list() == [0.8] and back["exposure_window_days"].to_list() == [None]


def test_a_column_a_table_does_not_declare_is_typed_from_every_row(tmp_path):
    # archetype_profiles.csv ends with the features that describe each archetype: a feature
    # empty in the first rows is still a number, not text
    run = RunDir(tmp_path)
    run.tables.mkdir()
    profiles = pl.DataFrame({"archetype": range(300), "archetype_name": "a", "n_customers": 1, "share": 0.1})
    share = pl.when(pl.col("archetype") >= 250).then(pl.col("archetype") / 1000)
    profiles.with_columns(share.alias("share_tp_web")).write_csv(run.table_path("archetype_profiles.csv"))
    back = run.read_table("archetype_profiles.csv")
    assert back.schema["share_tp_web"] == pl.Float64 and back["share_tp_web"][299] == 0.299
    assert back.schema["archetype"] == OUTPUT_TABLES["archetype_profiles.csv"].columns["archetype"]


ENTRY_POINTS = {
    "journey_map": ["journey_paths", "stage_funnel", "transitions", "friction_points", "stage_flows",
                    "last_steps_before_churn"],
    "retention": ["landmark_data", "retention_curves", "touchpoint_hazard_ratios", "retention_difference",
                  "effects_by_archetype"],
    "survey": ["survey_scores", "key_drivers"],
    "voice": ["nps_followup", "detractor_hazard_ratio", "responder_comparison", "ratings_after_exposure"],
    "comments": ["score_sentiment", "comment_topics", "CommentTopics"],
    "quality": ["summarize_quality", "events_by_month", "touchpoint_mix", "channel_mix", "survey_counts"],
    "profiles": ["profile_archetypes", "profile_assignment"],
    "attribution": ["attribution"],
    "prediction": ["predict_retention"],
    "journeys": ["build_features"],
    "session": ["open_run"],
    "io": ["load_dataset"],
    "churn_journeys": ["churned_vs_retained", "paths_into_churn", "anchored_flow"],
    "cohorts": ["cohort_retention", "lifecycle"],
    "compare": ["compare_runs"],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(ENTRY_POINTS))
def test_entry_points_document_parameters_and_examples(module):
    """Every analysis entry point has numpydoc Parameters and Examples (the examples run as doctests)."""
    mod = importlib.import_module(f"cxlab.{module}")
    missing = [
        f"{name}: {section}"
        for name in ENTRY_POINTS[module]
        for section in ("Parameters\n", "Examples\n")
        if section not in inspect.getdoc(getattr(mod, name))
    ]
    assert not missing, missing

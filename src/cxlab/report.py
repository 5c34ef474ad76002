"""Run the analysis notebooks with papermill into a run folder, with a manifest.

A run is written to a hidden temporary folder next to ``out`` and renamed into place once
its manifest is final, so a reader never sees half a run that looks finished. The parts
live elsewhere: notebooks and parameters in :mod:`cxlab.parameters`, the data source in
:mod:`cxlab.sources`, the folder in :mod:`cxlab.rundir`, the manifest in
:mod:`cxlab.manifest`, pseudonymized ids in :mod:`cxlab.privacy`.

Examples
--------
>>> from cxlab.report import run_analysis
>>> result = run_analysis("data/sample", "reports/my-run")      # doctest: +SKIP
>>> result.status, result.exit_code                              # doctest: +SKIP
('succeeded', 0)
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from cxlab import progress
from cxlab.config import EXPOSURE_WINDOW_DAYS
from cxlab.dataset import Dataset
from cxlab.exceptions import DataContractError
from cxlab.kernels import Kernels
from cxlab.manifest import Manifest, NotebookRun
from cxlab.parameters import (
    NOT_FROM_FEATURES,
    list_notebooks,
    notebook_parameters,
    packaged_notebooks,
    page_label,
    resolve_parameters,
)
from cxlab.placement import clean_leftovers, place, release_space, reserve_space, run_lock
from cxlab.privacy import pseudonymize, pseudonymize_tables, redact_comments
from cxlab.rundir import RunDir
from cxlab.scheduler import dependencies, execute_all, start_order
from cxlab.sources import Source, results_destination, start_from, write_results

logger = logging.getLogger(__name__)


@dataclass
class RunResult:
    """The outcome of :func:`run_analysis`."""

    run_dir: Path
    status: str
    exit_code: int
    message: str
    notebooks: list[NotebookRun] = field(default_factory=list)


def run_analysis(
    data: str | Path,
    out: str | Path,
    *,
    mapping: str | Path | None = None,
    parameters: dict[str, Any] | None = None,
    notebooks_dir: str | Path | None = None,
    kernel_name: str = "python3",
    timeout: int | None = None,
    results_to: str | None = None,
    results_schema: str = "cxlab",
    from_features: bool = False,
    alert_if: tuple[str, ...] = (),
    overwrite: bool = False,
    jobs: int | None = None,
) -> RunResult:
    """Validate ``data``, execute every notebook with papermill, and write the run folder.

    Parameters
    ----------
    data : str or Path
        A dataset folder or a database URI (see :mod:`cxlab.database`); with
        ``from_features``, a folder of per-customer tables computed elsewhere (see
        :mod:`cxlab.precomputed`), and the notebooks of
        :data:`cxlab.parameters.NOT_FROM_FEATURES` are skipped with their reason.
    out : str or Path
        The run folder to create; it must not exist or be empty.
    mapping : str or Path, optional
        A column-mapping YAML file for raw exports.
    parameters : dict, optional
        Run parameters, checked against the notebooks' ``parameters`` cells.
    notebooks_dir : str or Path, optional
        Notebooks to run instead of those installed with cxlab (``cxlab notebooks DIR``
        copies them for adapting).
    kernel_name : str
        The Jupyter kernel that executes the notebooks.
    timeout : int, optional
        Seconds each cell may take.
    results_to, results_schema : str, optional
        A database URI (and schema) that also receives the result tables once every
        notebook succeeded (see :meth:`cxlab.database.Database.write_tables`).
    from_features : bool
        ``data`` holds per-customer tables.
    alert_if : tuple of str
        Rules such as ``"nps_drop>5"`` (:class:`cxlab.compare.AlertRule`), checked against the
        previous succeeded run of the same data source in ``out``'s folder.
    overwrite : bool
        Replace an existing run in ``out`` once the new one has succeeded; a failed new run
        goes to ``out.failed`` and the previous one is kept (:mod:`cxlab.placement`).
    jobs : int, optional
        Notebooks executed at once, each once the notebooks it reads from have succeeded
        (:mod:`cxlab.scheduler`). By default one per core, at most two, for data of up to
        :data:`PARALLEL_BYTES` in memory (tables and features), else one.

    Returns
    -------
    RunResult
        Its ``exit_code`` follows the contract: 0 succeeded, 2 bad input or parameters
        (nothing analysed), 1 a notebook failed or the results could not be written to the
        database, 3 succeeded but an ``alert_if`` rule fired.

    Notes
    -----
    Before the leadership summary runs, the run is compared with the previous succeeded run
    of the same data source in the same folder (:func:`cxlab.compare.compare_runs`); the
    comparison is saved as ``comparison.csv`` and the summary shows it.

    Examples
    --------
    >>> run_analysis("data/sample", "reports/weekly").exit_code   # doctest: +SKIP
    0
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DataContractError(f"--out {out} is a file; give a folder for the run.")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise DataContractError(
            f"Run folder {out} already exists and is not empty; choose a new --out, or give "
            "--overwrite to replace it once the new run has succeeded."
        )
    directory = Path(notebooks_dir) if notebooks_dir else packaged_notebooks()
    notebooks = list_notebooks(directory)
    if not notebooks:
        raise DataContractError(f"No notebooks (NN_name.ipynb) in {directory}.")
    declared = notebook_parameters(notebooks)
    params = resolve_parameters(parameters or {}, declared)
    rules = [_alert_rule(rule) for rule in alert_if]
    source = Source(data, mapping, from_features)
    destination = results_destination(results_to)
    with run_lock(out):
        clean_leftovers(out.parent)
        how = Execution(kernel_name, timeout, jobs, declared)
        return _run_locked(out, source, destination, params, rules, notebooks, how, results_schema)


def _alert_rule(text: str):
    """:meth:`cxlab.compare.AlertRule.parse`, imported when a rule is given (scipy: 0.7 s)."""
    from cxlab.compare import AlertRule

    return AlertRule.parse(text)


@dataclass
class Execution:
    """How the notebooks are executed (see :func:`run_analysis`)."""

    kernel_name: str
    timeout: int | None
    jobs: int | None
    declared: dict[str, dict]  # each notebook's parameters, by file name

    @property
    def reads_features(self) -> bool:
        """Whether the notebooks read the features (they declare an exposure window)."""
        return any("exposure_window_days" in p for p in self.declared.values())


def _run_locked(out, source, destination, params, rules, notebooks, how: Execution, results_schema):
    """The run itself, while its lock is held: built aside, then moved into place."""
    run = RunDir(out.parent / f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(run.path, ignore_errors=True)
    run.path.mkdir(parents=True)
    manifest = Manifest.start(
        data=source.shown,
        parameters=params,
        notebooks=[nb.name for nb in notebooks],
        started_from=source.started_from,
        mapping=str(source.mapping) if source.mapping else None,
    )
    try:
        reserve_space(run.path)
        result = _run_in(run, source, params, notebooks, manifest, how, out.parent)
        if result.exit_code == 0 and rules:
            result = _alerts(rules, run, manifest, result)
        if result.exit_code == 0 and destination:
            manifest.results_to, error = write_results(
                destination, results_schema, run, out.name, manifest.started_at
            )
            if error:
                manifest.fail(error)
                result = RunResult(run.path, "failed", 1, error, result.notebooks)
    except DataContractError:  # bad input with no rows to keep: nothing is created
        shutil.rmtree(run.path, ignore_errors=True)
        raise
    except BaseException as exc:  # interrupted or crashed: still leave a failed manifest
        manifest.fail(f"{type(exc).__name__}: {exc}")
        _finish(run, out, manifest)
        raise
    result.run_dir = _finish(run, out, manifest)
    _write_index(out.parent)
    return result


def _write_index(reports_dir: Path) -> None:
    """Refresh ``reports_dir/index.html``; a failure is a warning, never the run's status."""
    from cxlab.run_index import write_index

    try:
        write_index(reports_dir)
    except (OSError, ValueError) as exc:
        logger.warning("The run finished, but %s/index.html could not be refreshed: %s", reports_dir, exc)


def _run_in(run: RunDir, source: Source, params, notebooks, manifest: Manifest, how: Execution, parent):
    runs = manifest.notebooks
    logger.info("Validating %s", source.shown)
    try:
        with progress.watch("Validating"):
            dataset, precomputed = source.load(params)
    except DataContractError as exc:
        if exc.report is None or not any(t.rows_rejected for t in exc.report.tables.values()):
            raise  # nothing to keep: the run leaves nothing behind
        exc.report.write_rejected(run.rejected)  # kept in a failed run: no row is lost
        manifest.inputs = _inputs(exc.report)
        manifest.fail(str(exc))
        return RunResult(run.path, "failed", 2, str(exc), runs)
    threading.Thread(target=_warm_pages, daemon=True).start()
    manifest.inputs = _inputs(dataset.report)
    manifest.observation_end = dataset.observation_end.isoformat()
    if precomputed:  # the window the features were built with, for the notebooks and the manifest
        params["exposure_window_days"] = precomputed.exposure_window_days
    dataset = redact_comments(dataset)  # names, e-mails and numbers never reach a run's files
    if params.get("pseudonymize_ids"):
        salt = os.environ.get("CXLAB_ID_SALT") or os.urandom(16).hex()
        dataset, precomputed = pseudonymize(dataset, salt=salt), pseudonymize_tables(precomputed, salt=salt)
    dataset.report.write_rejected(run.rejected)
    dataset.save(run.dataset)
    run.tables.mkdir()
    run.logs.mkdir(exist_ok=True)
    if precomputed:
        start_from(precomputed, run)
    todo = [nb for nb in notebooks if not (precomputed and nb.name in NOT_FROM_FEATURES)]
    how = replace(how, jobs=_jobs(how.jobs, dataset, precomputed))
    values = _runner_values(dataset, params)
    threads = max(1, (os.cpu_count() or 1) // how.jobs) if how.jobs > 1 else None
    # The first kernels start (and import cxlab) while the runner builds the features.
    needs = dependencies(todo)
    ahead = start_order(needs)  # each kernel warmed for the notebook that will take it
    with Kernels(how.kernel_name, str(run.path), run.logs, ahead, how.jobs, threads) as kernels:
        if how.reads_features and not precomputed:  # built once, read by every notebook
            _write_features(run, dataset, params.get("exposure_window_days", EXPOSURE_WINDOW_DAYS))
        del dataset, precomputed  # the notebooks read the saved copy; free the runner's (GBs at 1M)
        _execute_all(run, notebooks, needs, values, manifest, how, parent, kernels)
    failed = next((r for r in runs if r.status == "failed"), None)
    if failed:
        where = f" at cell [{failed.failed_cell}] ({failed.failed_source})" if failed.failed_cell else ""
        message = f"{failed.name} failed{where}: {failed.error}"
        manifest.fail(message)
        return RunResult(run.path, "failed", 1, message, runs)
    manifest.status = "succeeded"
    return RunResult(run.path, "succeeded", 0, "all notebooks succeeded", runs)


def _execute_all(run: RunDir, notebooks, needs, values, manifest: Manifest, how: Execution, parent, kernels):
    """Execute the notebooks of ``needs`` (each with those it waits for), ``how.jobs`` at a time
    where they do not wait for one another (:mod:`cxlab.scheduler`); the others are skipped,
    saying why."""
    todo = list(needs)
    status_of = dict(zip(notebooks, manifest.notebooks, strict=True))
    labels = {nb: f"[{i}/{len(notebooks)}] {nb.name}" for i, nb in enumerate(notebooks, start=1)}
    for nb in notebooks:
        if nb not in todo:
            status_of[nb].status, status_of[nb].reason = "skipped", NOT_FROM_FEATURES[nb.name]
            logger.info("%s skipped: %s", labels[nb], status_of[nb].reason)

    def execute(nb: Path) -> bool:
        if nb.name.startswith("00_"):
            _compare_with_previous(run, parent, manifest)
        logger.info("%s ...", labels[nb])
        wanted = {k: v for k, v in values.items() if k in how.declared[nb.name]}
        _execute(nb, run, wanted, status_of[nb], kernels, how.timeout, labels[nb], todo)
        logger.info("%s %s in %.1f s", labels[nb], status_of[nb].status, status_of[nb].seconds)
        return status_of[nb].status == "succeeded"

    for nb in execute_all(needs, how.jobs, execute, kernels.stop_all):
        status_of[nb].status = "skipped"


def _compare_with_previous(run: RunDir, parent: Path, manifest: Manifest) -> None:
    """Compare the run so far with the previous succeeded run of the same data; a comparison
    that cannot be made is a warning in the log, never the run's failure."""
    from cxlab.compare import compare_with, previous_run, write_comparison

    previous = previous_run(parent, manifest.data)
    if previous is None:
        logger.info("No earlier run of %s in %s to compare with", manifest.data, parent)
        return
    manifest.write(run.manifest)  # "running", with the inputs the comparison reads
    try:
        comparison = compare_with(RunDir(previous), run)  # previous_run finds succeeded runs only
    except (DataContractError, OSError, ValueError, pl.exceptions.PolarsError) as exc:
        logger.warning("Could not compare with %s: %s", previous.name, exc)
        return
    write_comparison(run.path, comparison)
    manifest.comparison = {
        "with": previous.name,
        "metrics": comparison.counts["metrics"],
        "changed": comparison.counts["changed"],
        "archetypes_changed": comparison.archetypes_changed,
    }
    manifest.write(run.manifest)  # the summary names the run it was compared with
    logger.info("Compared with %s: %s", previous.name, comparison.describe())


def _alerts(rules, run: RunDir, manifest: Manifest, result: RunResult) -> RunResult:
    """Check ``rules`` against the saved comparison; exit 3 when one fires."""
    from cxlab.compare import RunComparison

    table = run.read_table("comparison.csv")
    comparison = None if table is None else RunComparison(table)
    manifest.alerts = [rule.check(comparison) for rule in rules]
    fired = [a for a in manifest.alerts if a["fired"]]
    for alert in manifest.alerts:
        logger.info(
            "Alert %s: %s (%s)", alert["rule"], "FIRED" if alert["fired"] else "quiet", alert["detail"]
        )
    if not fired:
        return result
    message = "; ".join(f"{a['rule']} fired: {a['detail']}" for a in fired)
    return RunResult(run.path, "succeeded", 3, message, result.notebooks)


def _runner_values(dataset: Dataset, params: dict[str, Any]) -> dict[str, Any]:
    """What the runner passes to each notebook (paths relative to the run folder)."""
    return {
        **params,
        "data_dir": "dataset",
        "mapping_file": "",
        "run_dir": ".",
        "observation_end": dataset.observation_end.isoformat(),
    }


def _execute(nb: Path, run: RunDir, values, status: NotebookRun, kernels: Kernels, timeout, label, todo):
    """Execute ``nb`` with the parameters ``values`` into the run (its kernel's output in
    ``logs/``, its progress relayed to the log under ``label``) and write its page."""
    import papermill as pm

    target = run.notebooks / nb.name
    target.parent.mkdir(exist_ok=True)
    log = run.logs / f"{nb.stem}.log"  # the kernel's standard output and error
    start = time.perf_counter()
    km = None
    try:
        km, relay = kernels.take(nb.name)
        with log.open("w", encoding="utf-8") as stream, progress.watch(label, relay):
            pm.execute_notebook(
                str(nb),
                str(target),
                kernel_name=kernels.kernel_name,
                km=km,  # started in the run folder: papermill's cwd would change the runner's
                parameters=values,
                progress_bar=False,
                execution_timeout=timeout,
                stdout_file=stream,
                stderr_file=stream,
            )
        status.status = "succeeded"
    except pm.PapermillExecutionError as exc:
        status.status, status.failed_cell = "failed", exc.exec_count
        status.failed_source = (exc.source or "").strip().splitlines()[0] if exc.source else None
        status.error = f"{exc.ename}: {exc.evalue}"
    except Exception as exc:  # dead kernel, timeout, missing kernel: the run fails, never hangs
        status.status, status.error = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        if km is not None:
            kernels.stop(km)
            if relay.exists():  # named after the notebook it ran
                relay.replace(run.logs / f"{nb.stem}.progress.txt")
    _write_page(run, nb, todo, status)
    status.seconds = round(time.perf_counter() - start, 2)


def _write_features(run: RunDir, dataset: Dataset, window: int) -> None:
    """The per-customer features every analysis notebook reads (built once per run)."""
    from cxlab.journeys import build_features
    from cxlab.session import FEATURES

    with progress.watch("Features"):
        run.write_table(FEATURES, build_features(dataset, exposure_window_days=window))


# Data larger than this in memory (tables and features) run their notebooks one at a time:
# each running notebook holds its own copy with its results, about 4x the data at its peak
# (6 GB for the 1.5 GB of a million customers' tables and features, measured).
PARALLEL_BYTES = 300 * 2**20


def _jobs(asked: int | None, dataset: Dataset, precomputed) -> int:
    """How many notebooks run at once: as asked, else one per core (at most two) for data of
    up to PARALLEL_BYTES, else one. Features not built yet count as large as the tables (0.9x
    at a million customers and on the sample)."""
    if asked:
        return asked
    tables = sum(t.estimated_size() for t in (dataset.customers, dataset.interactions, dataset.surveys))
    size = tables + (precomputed.features.estimated_size() if precomputed else tables)
    return min(2, os.cpu_count() or 1) if size <= PARALLEL_BYTES else 1


def _write_page(run: RunDir, nb: Path, notebooks: list[Path], status: NotebookRun) -> None:
    """Write the executed notebook's page; one that cannot be written (a full disk, or a
    notebook it cut short) fails the notebook."""
    if not (run.notebooks / nb.name).exists():
        return
    try:
        _export_html(run.notebooks / nb.name, run.html / f"{nb.stem}.html", notebooks)
    except (OSError, ValueError) as exc:
        if status.status == "succeeded":
            status.status, status.error = "failed", f"its page could not be written: {exc}"


def _warm_pages() -> None:
    """Import nbconvert and compile the page templates (about 6 s, once per process), in a
    thread while the first notebook runs, so that its page is written at once. In memory:
    nothing is left to clean up if the run ends first."""
    try:
        import nbformat

        _page(nbformat.v4.new_notebook(), "00_warm.ipynb", "warm.html")
    except Exception as exc:  # noqa: BLE001 - a warm-up: the real export reports its own errors
        logger.debug("page warm-up: %s", exc)


def _navigation(notebooks: list[str]) -> dict[str, str]:
    """Label -> relative link of every page of the run, and the reports index above it."""
    pages = {page_label(stem): f"{stem}.html" for stem in sorted(notebooks)}
    return {"All runs": "../../index.html", **pages}


def _title(nb) -> str:
    """The notebook's first heading: the page title instead of "Notebook"."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            return cell.source.lstrip()[2:].splitlines()[0].strip()
    return "cxlab"


def _export_html(notebook: Path, target: Path, notebooks: list[Path] = ()) -> None:
    """Write ``notebook``'s page; ``notebooks``: the run's, for the links between pages."""
    import nbformat

    body = _page(nbformat.read(notebook, as_version=4), notebook.name, target.name, notebooks)
    target.parent.mkdir(exist_ok=True)
    target.write_text(body, encoding="utf-8")


def _page(nb, name: str, page: str, notebooks: list[Path] = ()) -> str:
    """The HTML of notebook ``name``: the leadership page without code, the others with their
    parameters, contents and interactive charts."""
    from nbconvert import HTMLExporter

    hide_code = name.startswith("00_")
    nb.metadata["title"] = _title(nb)
    if not hide_code:  # analyst pages: what the run was asked for, and where each section is
        _add_parameters_table(nb)
        _add_contents(nb)
        from cxlab.interactive import embed_in_html

        embed_in_html(nb)  # interactive charts, with plotly.js inline once: they work offline
    resources = {"cxlab_nav": _navigation([nb.stem for nb in notebooks]), "cxlab_current": page}
    exporter = HTMLExporter(
        template_name="offline",  # JupyterLab's look without scripts from the internet
        extra_template_basedirs=[str(Path(__file__).parent / "templates")],
        exclude_input=hide_code,
        exclude_input_prompt=hide_code,
        exclude_output_prompt=hide_code,
    )
    return exporter.from_notebook_node(nb, resources=resources)[0]


def _add_parameters_table(nb) -> None:
    """A small table of every parameter the page ran with (its default, or what the run set),
    above the cell papermill injected."""
    import nbformat

    tagged = {tag: i for i, cell in enumerate(nb.cells) for tag in cell.metadata.get("tags", [])}
    if "injected-parameters" not in tagged:
        return
    values = dict(_assignments(nb.cells[tagged["parameters"]].source)) if "parameters" in tagged else {}
    injected = dict(_assignments(nb.cells[tagged["injected-parameters"]].source))
    rows = "\n".join(
        f"| {name.replace('_', ' ')} | `{value!r}` | {'this run' if name in injected else 'default'} |"
        for name, value in (values | injected).items()
    )
    text = f"**Parameters of this run**\n\n| parameter | value | set by |\n|---|---|---|\n{rows}"
    nb.cells.insert(tagged["injected-parameters"], nbformat.v4.new_markdown_cell(text))


def _assignments(source: str) -> list[tuple[str, Any]]:
    """``name = literal`` (or ``name: type = literal``) lines of a parameters cell, in order."""
    import ast

    found = []
    for node in ast.parse(source).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and getattr(node, "value", None) is not None:
            try:
                found.append((target.id, ast.literal_eval(node.value)))
            except ValueError:
                continue
    return found


def _add_contents(nb) -> None:
    """Links to the page's sections (its ``##`` headings) under the title."""
    import nbformat

    headings = [
        line[3:].strip()
        for cell in nb.cells
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if line.startswith("## ")
    ]
    if len(headings) < 3:
        return
    links = " · ".join(f"[{h}](#{h.replace(' ', '-')})" for h in headings)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(f"**Contents:** {links}"))


def _inputs(report) -> list[dict[str, Any]]:
    return [t.to_dict() for t in report.tables.values()]


def _finish(run: RunDir, out: Path, manifest: Manifest) -> Path:
    """Write the manifest in the space the run held back, and move the run into place."""
    release_space(run.path)
    try:
        manifest.write(run.manifest)
    finally:  # a manifest that cannot be written still leaves no hidden folder behind
        placed = place(run.path, out, succeeded=manifest.status == "succeeded")
    return placed

"""Run the analysis notebooks with papermill into a run directory, with a manifest.

A run is written to a hidden temporary directory next to ``out`` and renamed into place
once its manifest is final, so a reader never sees half a run that looks finished.

Examples
--------
>>> from cxlab.report import run_analysis
>>> result = run_analysis("data/sample", "reports/my-run")      # doctest: +SKIP
>>> result.status, result.exit_code                              # doctest: +SKIP
('succeeded', 0)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import papermill as pm
import polars as pl
import yaml

from cxlab.database import Database, is_database, redact
from cxlab.exceptions import DataContractError
from cxlab.io import Dataset, load_dataset

logger = logging.getLogger(__name__)

RUNNER_PARAMETERS = {"data_dir", "mapping_file", "run_dir", "features_file"}
"""Set by the runner for every notebook that declares them; not settable with --param."""

LOAD_PARAMETERS = {"observation_end": str, "max_rejected_share": float, "pseudonymize_ids": bool}
"""Used by the runner to load the data, and passed on to notebooks that declare them.
``pseudonymize_ids`` replaces customer and response ids by salted hashes before any
notebook sees the data, so nothing the run writes holds a real id."""

_LIBRARIES = (
    "polars",
    "pandas",
    "pyarrow",
    "numpy",
    "scikit-learn",
    "lifelines",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbconvert",
)


def default_notebooks_dir() -> Path:
    """The ``notebooks/`` folder of the cxlab checkout this package runs from."""
    return Path(__file__).resolve().parents[2] / "notebooks"


def list_notebooks(directory: str | Path) -> list[Path]:
    """Analysis notebooks in run order: ``01_...`` upwards, ``00_...`` (the summary) last."""
    found = sorted(Path(directory).glob("[0-9][0-9]_*.ipynb"))
    return sorted(found, key=lambda p: (p.name.startswith("00_"), p.name))


def save_table(frame: pl.DataFrame, run_dir: str | Path, name: str) -> Path:
    """Write a result table to ``<run_dir>/tables/<name>`` (Parquet or CSV by its suffix)."""
    path = Path(run_dir) / "tables" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        frame.write_parquet(path)
    else:
        frame.write_csv(path)
    return path


def read_table(run_dir: str | Path, name: str) -> pl.DataFrame | None:
    """A result table an earlier notebook of the run wrote, or None if there is none."""
    path = Path(run_dir) / "tables" / name
    if not path.is_file():
        return None
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, schema_overrides={"customer_id": pl.String})


@dataclass
class NotebookRun:
    """How one notebook of a run went."""

    name: str
    status: str = "pending"  # pending, succeeded, failed, skipped
    seconds: float | None = None
    error: str | None = None
    reason: str | None = None  # why it was skipped, when not for an earlier failure
    failed_cell: int | None = None  # execution count, as shown in the saved notebook
    failed_source: str | None = None  # first line of the failing cell


@dataclass
class RunResult:
    """The outcome of :func:`run_analysis`."""

    run_dir: Path
    status: str
    exit_code: int
    message: str
    notebooks: list[NotebookRun] = field(default_factory=list)


def read_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML file of run parameters (``name: value``)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DataContractError(f"Config file {path} cannot be read: {exc}") from None
    if not isinstance(raw, dict):
        raise DataContractError(f"Config file {path} must hold 'name: value' lines. Got {raw!r}.")
    return raw


def notebook_parameters(notebooks: list[Path]) -> dict[str, dict[str, dict[str, Any]]]:
    """Each notebook's declared parameters (name, inferred type, default), via papermill."""
    return {nb.name: pm.inspect_notebook(str(nb)) for nb in notebooks}


def resolve_parameters(
    given: dict[str, Any], declared: dict[str, dict[str, dict[str, Any]]]
) -> dict[str, Any]:
    """Check names against the notebooks' parameters and convert values to declared types.

    Raises
    ------
    DataContractError
        For a reserved, unknown or mistyped parameter, listing the known parameters.
    """
    types = dict(LOAD_PARAMETERS)
    for params in declared.values():
        for name, spec in params.items():
            types.setdefault(name, _TYPES.get(spec.get("inferred_type_name"), str))
    resolved = {}
    for name, value in given.items():
        if name in RUNNER_PARAMETERS:
            raise DataContractError(
                f"The '{name}' parameter is set by cxlab run itself; use --data, --mapping or --out instead."
            )
        if name not in types:
            known = ", ".join(sorted(set(types) - RUNNER_PARAMETERS))
            raise DataContractError(f"Unknown parameter '{name}'. The notebooks take: {known}.")
        resolved[name] = _convert(name, value, types[name])
    return resolved


_TYPES = {"int": int, "float": float, "bool": bool, "str": str}


def _convert(name: str, value: Any, kind: type) -> Any:
    if isinstance(value, datetime | date):
        value = value.isoformat()
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "yes", "1", "false", "no", "0"}:
            return text in {"true", "yes", "1"}
    elif kind is str:
        return str(value)
    else:
        try:
            number = kind(value)
            if kind is int and isinstance(value, float) and value != number:
                raise ValueError
            return number
        except (TypeError, ValueError):
            pass
    article = "an" if kind is int else "a"
    raise DataContractError(
        f"The '{name}' parameter must be {article} {kind.__name__}. Got {value!r} instead."
    )


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
) -> RunResult:
    """Validate ``data``, execute every notebook with papermill, and write the run directory.

    ``data`` is a dataset folder or a database URI (see :mod:`cxlab.database`); with
    ``from_features`` it is a folder of per-customer tables computed elsewhere (see
    :mod:`cxlab.precomputed`), and the notebooks that need every touchpoint event (those whose
    metadata say ``cxlab.not_from_features``) are skipped with that reason. With
    ``results_to`` (a database URI) the run's result tables are also written to that
    database's ``results_schema`` once every notebook succeeded (see
    :meth:`cxlab.database.Database.write_tables`).

    Returns a :class:`RunResult` whose ``exit_code`` follows the contract: 0 succeeded,
    2 bad input or parameters (nothing analysed), 1 a notebook failed or the results could
    not be written to the database.
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise DataContractError(f"Run directory {out} already exists and is not empty; choose a new --out.")
    notebooks = list_notebooks(notebooks_dir or default_notebooks_dir())
    if not notebooks:
        raise DataContractError(
            f"No notebooks (NN_name.ipynb) in {notebooks_dir or default_notebooks_dir()}."
        )
    params = resolve_parameters(parameters or {}, notebook_parameters(notebooks))
    source = _Source(data, mapping, from_features)
    destination = _results_destination(results_to)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    manifest = _new_manifest(source, params, notebooks)
    try:
        result = _run_in(tmp, source, params, notebooks, manifest, kernel_name, timeout)
        if result.exit_code == 0 and destination:
            result = _write_results(destination, results_schema, tmp, out.name, manifest, result)
    except BaseException as exc:  # interrupted or crashed: still leave a failed manifest
        manifest.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        _finish(tmp, out, manifest)
        raise
    _finish(tmp, out, manifest)
    from cxlab.run_index import write_index  # reads result tables through cxlab.summary

    write_index(out.parent)
    result.run_dir = out
    return result


def _run_in(tmp: Path, source: _Source, params, notebooks, manifest, kernel_name, timeout) -> RunResult:
    runs = [NotebookRun(nb.name) for nb in notebooks]
    logger.info("Validating %s", source.shown)
    try:
        dataset, precomputed = source.load(params)
    except DataContractError as exc:
        if exc.report is not None:
            exc.report.write_rejected(tmp / "rejected")
            manifest["inputs"] = _inputs(exc.report)
        manifest.update(status="failed", error=str(exc))
        return RunResult(tmp, "failed", 2, str(exc), runs)
    manifest["inputs"] = _inputs(dataset.report)
    manifest["observation_end"] = dataset.observation_end.isoformat()
    if precomputed:  # the window the features were built with, for the notebooks and the manifest
        params["exposure_window_days"] = precomputed.exposure_window_days
    if params.get("pseudonymize_ids"):
        salt = os.environ.get("CXLAB_ID_SALT") or os.urandom(16).hex()
        dataset, precomputed = pseudonymize(dataset, salt=salt), _pseudonymized(precomputed, salt)
    dataset.report.write_rejected(tmp / "rejected")
    dataset.save(tmp / "dataset")
    (tmp / "tables").mkdir()
    if precomputed:
        _start_from(precomputed, tmp)
    for i, (nb, run) in enumerate(zip(notebooks, runs, strict=True), start=1):
        if precomputed and (reason := _needs_events(nb)):
            run.status, run.reason = "skipped", reason
            logger.info("[%d/%d] %s skipped: %s", i, len(notebooks), nb.name, reason)
            continue
        logger.info("[%d/%d] %s ...", i, len(notebooks), nb.name)
        _execute(nb, tmp, _runner_values(dataset, params, tmp), run, kernel_name, timeout)
        logger.info("[%d/%d] %s %s in %.1f s", i, len(notebooks), nb.name, run.status, run.seconds)
        if run.status == "failed":
            for later in runs[i:]:
                later.status = "skipped"
            break
    manifest["notebooks"] = [vars(r) for r in runs]
    failed = next((r for r in runs if r.status == "failed"), None)
    if failed:
        where = f" at cell [{failed.failed_cell}] ({failed.failed_source})" if failed.failed_cell else ""
        message = f"{failed.name} failed{where}: {failed.error}"
        manifest.update(status="failed", error=message)
        return RunResult(tmp, "failed", 1, message, runs)
    manifest["status"] = "succeeded"
    return RunResult(tmp, "succeeded", 0, "all notebooks succeeded", runs)


@dataclass(frozen=True)
class _Source:
    """Where a run's data come from: raw tables (a folder or database, with an optional
    column mapping), or per-customer tables computed elsewhere (``from_features``)."""

    data: str | Path
    mapping: str | Path | None
    from_features: bool

    def __post_init__(self) -> None:
        if self.from_features and self.mapping:
            raise DataContractError(
                "--mapping applies to raw exports; per-customer tables (--features) are already in the "
                "contract's names (cxlab.spark.validate applied the mapping)."
            )

    @property
    def shown(self) -> str:
        """The source as logs and the manifest show it: a database URI without its password."""
        return redact(self.data) if is_database(self.data) else str(self.data)

    def load(self, params: dict[str, Any]):
        """The validated dataset, and the per-customer tables when the run starts from them.

        Per-customer tables carry the exposure window and end of observation they were built
        with; a parameter that says otherwise is an error, not a silent override."""
        if not self.from_features:
            dataset = load_dataset(
                self.data,
                mapping=self.mapping,
                observation_end=params.get("observation_end"),
                max_rejected_share=params.get("max_rejected_share"),
            )
            return dataset, None
        from cxlab.io import parse_observation_end
        from cxlab.precomputed import load_precomputed

        tables = load_precomputed(self.data, max_rejected_share=params.get("max_rejected_share"))
        built = {
            "exposure_window_days": tables.exposure_window_days,
            "observation_end": tables.dataset.observation_end,
        }
        given = {**params, "observation_end": parse_observation_end(params.get("observation_end"))}
        for name, value in built.items():
            if given.get(name) not in (None, value):
                raise DataContractError(
                    f"The features in {self.data} were built with {name} = {value}, but the run was "
                    f"given {params[name]}. Drop the parameter, or build the features again with it."
                )
        return tables.dataset, tables


def _start_from(tables, tmp: Path) -> None:
    """Put the per-customer tables where the notebooks find a run's: features, archetypes and
    their profiles over every customer (the archetypes notebook's tables)."""
    from cxlab.profiles import profile_assignment

    save_table(tables.features, tmp, "customer_features.parquet")
    save_table(tables.archetypes, tmp, "archetypes.csv")
    save_table(profile_assignment(tables.features, tables.archetypes)[1], tmp, "archetype_profiles.csv")


def _needs_events(notebook: Path) -> str | None:
    """Why ``notebook`` cannot run from per-customer tables (its metadata say), or None."""
    metadata = json.loads(notebook.read_text(encoding="utf-8")).get("metadata", {})
    return metadata.get("cxlab", {}).get("not_from_features")


def _results_destination(uri: str | None) -> Database | None:
    """The database for ``--results-to``, checked before any analysis so a typo fails fast."""
    if uri is None:
        return None
    if not is_database(uri):
        raise DataContractError(f"--results-to must be a database URI (postgresql://...). Got {uri!r}.")
    destination = Database(uri, create=True)
    with destination.connect():
        pass
    return destination


def _write_results(
    db: Database, schema: str, tmp: Path, run_id: str, manifest: dict[str, Any], result: RunResult
) -> RunResult:
    files = sorted(p for p in (tmp / "tables").iterdir() if p.suffix in (".csv", ".parquet"))
    tables = {p.stem: read_table(tmp, p.name) for p in files}
    logger.info("Writing %d result tables to %s (schema %s)", len(tables), db.name, schema)
    record = {"uri": db.name, "schema": schema, "run_id": run_id, "tables": sorted(tables)}
    try:
        db.write_tables(
            tables, schema=schema, run_id=run_id, run_at=datetime.fromisoformat(manifest["started_at"])
        )
    except DataContractError as exc:
        manifest.update(status="failed", error=str(exc), results_to={**record, "written": False})
        return RunResult(tmp, "failed", 1, str(exc), result.notebooks)
    manifest["results_to"] = {**record, "written": True}
    return result


def pseudonymize(dataset: Dataset, *, salt: str) -> Dataset:
    """The dataset with ``customer_id`` and ``response_id`` replaced by salted SHA-256 hashes
    (16 hex digits), everywhere: tables and rejected rows. The same salt (environment variable
    ``CXLAB_ID_SALT``) gives the same hashes across runs; without it each run draws its own."""

    for table in dataset.report.tables.values():
        table.rejected = _hashed(table.rejected, salt)
    return Dataset(
        customers=_hashed(dataset.customers, salt),
        interactions=_hashed(dataset.interactions, salt),
        surveys=_hashed(dataset.surveys, salt),
        touchpoints=dataset.touchpoints,
        report=dataset.report,
    )


def _pseudonymized(tables, salt: str):
    if tables is None:
        return None
    features, archetypes = _hashed(tables.features, salt), _hashed(tables.archetypes, salt)
    return replace(tables, features=features, archetypes=archetypes)


def _hashed(frame: pl.DataFrame, salt: str) -> pl.DataFrame:
    for column in [c for c in ("customer_id", "response_id") if c in frame.columns]:
        ids = frame[column].drop_nulls().unique().cast(pl.String).to_list()
        digests = {v: hashlib.sha256(f"{salt}:{v}".encode()).hexdigest()[:16] for v in ids}
        frame = frame.with_columns(pl.col(column).cast(pl.String).replace_strict(digests, default=None))
    return frame


def _runner_values(dataset: Dataset, params: dict[str, Any], tmp: Path) -> dict[str, Any]:
    """What the runner passes to each notebook; the run's feature table once there is one,
    so that the notebooks after the journey map do not build it again."""
    features = Path("tables") / "customer_features.parquet"
    return {
        **params,
        "data_dir": "dataset",
        "mapping_file": "",
        "run_dir": ".",
        "observation_end": dataset.observation_end.isoformat(),
        "features_file": str(features) if (tmp / features).is_file() else "",
    }


def _execute(
    nb: Path, tmp: Path, values: dict[str, Any], run: NotebookRun, kernel_name: str, timeout: int | None
) -> None:
    declared = pm.inspect_notebook(str(nb))
    target = tmp / "notebooks" / nb.name
    target.parent.mkdir(exist_ok=True)
    log = tmp / "logs" / f"{nb.stem}.log"  # the kernel's standard output and error
    log.parent.mkdir(exist_ok=True)
    start = time.perf_counter()
    try:
        with log.open("w", encoding="utf-8") as stream:
            pm.execute_notebook(
                str(nb),
                str(target),
                cwd=str(tmp),
                kernel_name=kernel_name,
                parameters={k: v for k, v in values.items() if k in declared},
                progress_bar=False,
                execution_timeout=timeout,
                stdout_file=stream,
                stderr_file=stream,
            )
        run.status = "succeeded"
    except pm.PapermillExecutionError as exc:
        run.status, run.failed_cell = "failed", exc.exec_count
        run.failed_source = (exc.source or "").strip().splitlines()[0] if exc.source else None
        run.error = f"{exc.ename}: {exc.evalue}"
    except Exception as exc:  # dead kernel, timeout, missing kernel: the run fails, never hangs
        run.status, run.error = "failed", f"{type(exc).__name__}: {exc}"
    run.seconds = round(time.perf_counter() - start, 2)
    if target.exists():
        _export_html(target, tmp / "html" / f"{nb.stem}.html", hide_code=nb.name.startswith("00_"))


def _export_html(notebook: Path, target: Path, *, hide_code: bool) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="offline",  # JupyterLab's look without scripts from the internet
        extra_template_basedirs=[str(Path(__file__).parent / "templates")],
        exclude_input=hide_code,
        exclude_input_prompt=hide_code,
        exclude_output_prompt=hide_code,
    )
    body, _ = exporter.from_notebook_node(nbformat.read(notebook, as_version=4))
    target.parent.mkdir(exist_ok=True)
    target.write_text(body, encoding="utf-8")


def _inputs(report) -> list[dict[str, Any]]:
    return [t.to_dict() for t in report.tables.values()]


def _new_manifest(source: _Source, params, notebooks) -> dict[str, Any]:
    from cxlab import __version__

    return {
        "status": "running",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "finished_at": None,
        "data": source.shown,
        "started_from": "per-customer tables" if source.from_features else "raw tables",
        "mapping": str(source.mapping) if source.mapping else None,
        "parameters": params,
        "versions": {
            "cxlab": __version__,
            "python": platform.python_version(),
            **{lib: _version(lib) for lib in _LIBRARIES},
        },
        "inputs": [],
        "notebooks": [vars(NotebookRun(nb.name)) for nb in notebooks],
        "error": None,
    }


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _finish(tmp: Path, out: Path, manifest: dict[str, Any]) -> None:
    manifest["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    if out.exists():
        out.rmdir()  # empty, checked at the start
    tmp.rename(out)

"""The ``cxlab`` command: validate a dataset, generate sample data, run the analysis.

User mistakes (a missing column, a bad mapping, an unknown parameter) print one message
and exit with status 2, never a traceback.
"""

from __future__ import annotations

import functools
import logging
import signal
import sys
from pathlib import Path

import click

from cxlab.exceptions import DataContractError


def _user_errors(command):
    """Turn a DataContractError into its message and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except DataContractError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)

    return wrapper


def _terminated(signum, frame) -> None:
    raise KeyboardInterrupt("terminated by SIGTERM")


def _without_iri_grammar() -> None:
    """Keep jsonschema (imported by papermill through nbformat) from compiling the IRI grammar
    of ``rfc3987_syntax`` at import: 1.6-2.4 s of every run's start on this machine, for a
    format no notebook schema uses (python-jsonschema/jsonschema#1428). The runner process only."""
    sys.modules.setdefault("rfc3987_syntax", None)


def _show_progress() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("cxlab")
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False
    # A notebook thread's event loop can be left with nbclient's kernel poller pending when the
    # run ends; asyncio then prints "Task was destroyed but it is pending!": noise, not the outcome.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cxlab")
def main() -> None:
    """cxlab: customer-experience analytics from your own exports.

    \b
    Typical session:
      cxlab generate --customers 20000 --seed 0 --out data/sample
      cxlab validate data/sample
      cxlab run --data data/sample --out reports/first-run
    """


@main.command()
@click.argument("source")
@click.option("--mapping", type=click.Path(path_type=Path), help="Column-mapping YAML file.")
@click.option("--observation-end", help="End of observation (ISO date); default: latest timestamp.")
@click.option(
    "--rejected",
    type=click.Path(path_type=Path),
    help="Write rejected rows (with a reason column) into this folder.",
)
@_user_errors
def validate(source: str, mapping: Path | None, observation_end: str | None, rejected: Path | None) -> None:
    """Check SOURCE (a dataset folder or a database URI) against the data contract and
    print a data-quality summary.

    Exits 2 when the data cannot be analysed (missing table or column, too many bad rows).
    """
    from cxlab.io import load_dataset
    from cxlab.quality import summarize_quality

    try:
        dataset = load_dataset(source, mapping=mapping, observation_end=observation_end)
    except DataContractError as exc:
        if exc.report is not None and rejected:
            exc.report.write_rejected(rejected)
        raise
    for line in summarize_quality(dataset).lines():
        click.echo(line)
    if rejected:
        for path in dataset.report.write_rejected(rejected):
            click.echo(f"Wrote {path}")


@main.command()
def contract() -> None:
    """Print the input tables of the data contract: columns, types and rules."""
    from cxlab.schema import contract_markdown

    click.echo(contract_markdown())


@main.command()
@click.option(
    "--customers",
    "n_customers",
    type=click.IntRange(min=1),
    default=20_000,
    show_default=True,
    help="Number of customers (about ten events each).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder to write.")
@click.option(
    "--format", "file_format", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True
)
def generate(n_customers: int, seed: int, out: Path, file_format: str) -> None:
    """Write a synthetic dataset with planted truth (in OUT/truth) for trying cxlab out."""
    from cxlab.synthetic import make_journeys

    _show_progress()
    logging.getLogger("cxlab").info("Generating %s customers (seed %s) ...", f"{n_customers:,}", seed)
    data = make_journeys(n_customers, random_state=seed)
    data.write(out, file_format=file_format)
    tables = data.dataset
    click.echo(
        f"Wrote {out}: {tables.customers.height:,} customers, "
        f"{tables.interactions.height:,} interactions, {tables.surveys.height:,} survey answers."
    )


def _parse_params(values: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise DataContractError(f"--param must look like NAME=VALUE. Got {item!r} instead.")
        params[name.strip()] = value
    return params


@main.command()
@click.option("--data", help="Dataset folder, or database URI (postgresql://, duckdb:///, sqlite:///).")
@click.option(
    "--features",
    type=click.Path(path_type=Path),
    help="Instead of --data: a folder of per-customer tables computed elsewhere (cxlab.spark.write_for_run).",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Run folder to create.")
@click.option("--mapping", type=click.Path(path_type=Path), help="Column-mapping YAML file.")
@click.option("--config", type=click.Path(path_type=Path), help="YAML file of run parameters.")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A run parameter; repeat as needed; overrides --config.",
)
@click.option(
    "--notebooks",
    type=click.Path(path_type=Path),
    help="Run these notebooks (copies made with 'cxlab notebooks DIR') instead of the installed ones.",
)
@click.option("--kernel", default="python3", show_default=True, help="Jupyter kernel to execute with.")
@click.option("--timeout", type=click.IntRange(min=1), help="Seconds a notebook cell may take.")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    help="Notebooks executed at once [default: one per core, at most 2; 1 for data over 300 MB in memory].",
)
@click.option(
    "--results-to", metavar="URI", help="Also write the result tables into this database (one transaction)."
)
@click.option(
    "--results-schema", default="cxlab", show_default=True, help="Database schema for --results-to."
)
@click.option(
    "--alert-if",
    "alert_if",
    multiple=True,
    metavar="RULE",
    help="Exit 3 when RULE fires against the previous run of the same data, e.g. nps_drop>5 "
    "(METRIC_drop|rise|change>N; METRIC: nps, retention, churn_rate; only changes with q < 0.05 fire).",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace an existing run in --out once the new one has succeeded (a failed one goes to OUT.failed).",
)
@_user_errors
def run(
    data: str | None,
    features: Path | None,
    out: Path,
    mapping: Path | None,
    config: Path | None,
    params: tuple[str, ...],
    notebooks: Path | None,
    kernel: str,
    timeout: int | None,
    jobs: int | None,
    results_to: str | None,
    results_schema: str,
    alert_if: tuple[str, ...],
    overwrite: bool,
) -> None:
    """Validate the data and execute the analysis notebooks into a run folder.

    The run is compared with the previous succeeded run of the same data in the same parent
    folder (comparison.csv; the leadership summary shows what changed).

    Exit status: 0 succeeded, 2 bad input or parameters (nothing analysed), 1 an analysis
    failed (its notebook is saved up to the failing cell and the manifest names it), 3
    succeeded but an --alert-if rule fired.
    """
    if (data is None) == (features is None):
        raise DataContractError("Give either --data (the raw tables) or --features (per-customer tables).")
    _show_progress()
    _without_iri_grammar()
    from cxlab.parameters import read_config
    from cxlab.report import run_analysis

    parameters = {**(read_config(config) if config else {}), **_parse_params(params)}
    signal.signal(signal.SIGTERM, _terminated)  # like Ctrl-C: the run ends as failed, and says so
    replacing = overwrite and out.is_dir() and any(out.iterdir())
    try:
        result = run_analysis(
            data or features,
            out,
            mapping=mapping,
            parameters=parameters,
            notebooks_dir=notebooks,
            kernel_name=kernel,
            timeout=timeout,
            jobs=jobs,
            results_to=results_to,
            results_schema=results_schema,
            from_features=features is not None,
            alert_if=alert_if,
            overwrite=overwrite,
        )
    except KeyboardInterrupt as stop:
        kept = f" (in {out}.failed: the earlier run in {out} is kept)" if replacing else ""
        click.echo(f"Run stopped ({stop or 'interrupted'}); its manifest says failed{kept}.", err=True)
        sys.exit(1)
    except OSError as exc:  # a full disk, a folder removed under the run: the manifest says failed
        where = f"{out}.failed" if replacing else out
        at = f" at {exc.filename}" if exc.filename else ""
        click.echo(f"Run failed ({where}/manifest.json): {exc.strerror or exc}{at}.", err=True)
        sys.exit(1)
    if result.exit_code == 0:
        click.echo(f"Run succeeded: {result.run_dir}")
    elif result.exit_code == 3:
        click.echo(f"Run succeeded: {result.run_dir}; ALERT: {result.message}", err=True)
    else:
        click.echo(f"Run failed ({result.run_dir}/manifest.json): {result.message}", err=True)
    sys.exit(result.exit_code)


@main.command()
@click.argument("before", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.argument("after", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option(
    "--out", type=click.Path(path_type=Path), help="Write comparison.csv and comparison_quality.csv here."
)
@_user_errors
def compare(before: Path, after: Path, out: Path | None) -> None:
    """Compare run folder AFTER with the earlier run BEFORE of the same data: each metric with
    both values, the difference with its 95% interval and a q-value; data-quality changes."""
    from cxlab.compare import compare_runs
    from cxlab.rundir import neutralize_formulas

    comparison = compare_runs(before, after)
    click.echo(comparison.describe())
    for r in comparison.quality_changes().iter_rows(named=True):
        click.echo(f"  {r['item']}: {r['before'] or '-'} -> {r['after'] or '-'}")
    if out:
        out.mkdir(parents=True, exist_ok=True)
        neutralize_formulas(comparison.summary).write_csv(out / "comparison.csv")
        neutralize_formulas(comparison.quality).write_csv(out / "comparison_quality.csv")
        click.echo(f"Wrote {out / 'comparison.csv'} and {out / 'comparison_quality.csv'}")


@main.command("notebooks")
@click.argument("directory", type=click.Path(path_type=Path))
@_user_errors
def copy_notebooks(directory: Path) -> None:
    """Copy the analysis notebooks into DIRECTORY to adapt them; run the copies with
    'cxlab run --notebooks DIRECTORY'. Existing files are never overwritten."""
    import shutil

    from cxlab.parameters import list_notebooks, packaged_notebooks

    sources = list_notebooks(packaged_notebooks())
    clashes = [p.name for p in sources if (directory / p.name).exists()]
    if clashes:
        raise DataContractError(f"{directory} already holds {', '.join(clashes)}; choose an empty folder.")
    directory.mkdir(parents=True, exist_ok=True)
    for source in sources:
        shutil.copyfile(source, directory / source.name)
    click.echo(
        f"Copied {len(sources)} notebooks to {directory}; run them with cxlab run --notebooks {directory}"
    )


if __name__ == "__main__":  # pragma: no cover
    main()

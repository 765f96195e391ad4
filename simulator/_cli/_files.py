"""Commands about model files: ``validate``, ``export``, ``convert`` and ``curves``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from simulator._cli._common import EXIT_INPUT, CLIError, handle_errors, load, print_problems, read_scenario
from simulator._cli._strata_option import STRATA_KEY, strata_option
from simulator.core._strata_transform import strata_of
from simulator.surge._surge_model import SurgeModel

__all__ = ["convert", "curves", "export_vensim", "validate"]


@click.command()
@click.argument("model")
@click.option("--quiet", "-q", is_flag=True, help="Only the verdict and errors.")
@strata_option
def validate(model, quiet) -> None:
    """Check MODEL (or a scenario, calibration spec or observed-data CSV) and list every problem."""
    from simulator.core._problems import InputError
    from simulator.files._loading import check_model

    kind = _document_kind(model)
    if kind is not None:
        try:
            click.echo(_validate_document(model, kind))
        except InputError as err:
            print_problems([*err.problems, *err.warnings], quiet=quiet)
            sys.exit(EXIT_INPUT)
        return
    m, problems = check_model(model)
    print_problems(list(problems), quiet=quiet)
    if m is None:
        sys.exit(EXIT_INPUT)
    if (strata := click.get_current_context().meta.get(STRATA_KEY)) is not None:
        from simulator.files._loading import with_strata

        try:
            m = with_strata(m, strata)
        except InputError as err:
            print_problems([*err.problems, *err.warnings], quiet=quiet)
            sys.exit(EXIT_INPUT)
    strata = {s.name for s in strata_of(m)}
    dims = ", ".join(
        f"{len(v)} {k} categories" if k in strata else f"{len(v)} {k}s" for k, v in m.spec.dims.items()
    )
    n_stocks = m.compiled.n_stocks
    click.echo(f"OK: {m.name} ({m.kind}): {dims}; {n_stocks} stocks")


def _document_kind(path: str) -> str | None:
    """``observed`` for a CSV, ``scenario``/``calibration`` for those YAML files, else ``None`` (a model)."""
    p = Path(path)
    if p.suffix.lower() == ".csv":
        return "observed"
    if p.suffix.lower() in (".yaml", ".yml") and p.is_file():
        head = p.read_text(encoding="utf-8", errors="replace")[:2000]
        for kind in ("scenario", "calibration"):
            if f"upstream: {kind}" in head:
                return kind
    return None


def _validate_document(path: str, kind: str) -> str:
    """Read a non-model file with its own validator; the one-line verdict."""
    if kind == "observed":
        from simulator.files._observed import read_observed

        df = read_observed(path)
        years = sorted(set(df["year"]))
        return f"OK: observed data: {len(df):,} rows, {years[0]} to {years[-1]}, {df['measure'].nunique()} measures"
    if kind == "scenario":
        sc = read_scenario(path)
        return f"OK: scenario {sc.name}: model {sc.model.name}, {len(sc.groups)} uncertainty groups"
    from simulator.files._calibration_spec import load_calibration

    s = load_calibration(path)
    return f"OK: calibration {s.name}: {s.problem.dims} fitted columns, {len(s.problem.targets)} targets"


@click.command(name="export")
@click.argument("model")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="Vensim model file (.mdl)."
)
@click.option("--dt", type=float, help="TIME STEP of the Vensim model (default 1; an imported model's own).")
@click.option("--months", type=int, help="Reporting months 0..N-1 (FINAL TIME N-1; default the model's).")
@click.option("--quiet", "-q", is_flag=True)
@handle_errors
def export_vensim(model, output, dt, months, quiet) -> None:
    """Write MODEL as a Vensim model (.mdl) with subscripts and a sketch, readable by PySD."""
    from simulator.vensim._writer import ExportError, export_mdl

    if Path(output).suffix.lower() != ".mdl":
        raise CLIError(f"export writes a Vensim .mdl file, not {Path(output).suffix or 'no suffix'!r}")
    m = load(model, quiet)
    try:
        export_mdl(m, output, dt=dt, months=months)
    except ExportError as err:
        raise CLIError(f"cannot write {m.name} as Vensim: {err}") from None
    if not quiet:
        click.echo(f"wrote {output}", err=True)


@click.command()
@click.argument("source")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help=".yaml or .xlsx")
@click.option("--name", help="Model name.")
@click.option("--start", help="Calendar month of model month 0, e.g. 2020-05.")
@click.option("--source-note", "source_note", help="Where the numbers come from (recorded on every table).")
@click.option("--licence", help="Licence of the numbers.")
@click.option("--quiet", "-q", is_flag=True)
@handle_errors
def convert(source, output, name, start, source_note, licence, quiet) -> None:
    """Convert a surge workbook to a YAML model file, or a surge model to a workbook."""
    from simulator.files._convert import convert_model

    convert_model(source, output, name=name, start=start, source=source_note, licence=licence)
    if not quiet:
        click.echo(f"wrote {output}", err=True)


def _is_scenario_file(source: str | None) -> bool:
    return bool(
        source
        and source.endswith((".yaml", ".yml"))
        and "scenario" in Path(source).read_text(encoding="utf-8")[:400]
    )


@click.command()
@click.argument("source", required=False)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Image of the curves (.png, .svg, .pdf)."
)
@click.option("--months", type=int, help="Horizon for generated curves (default: the model's).")
@click.option("--quiet", "-q", is_flag=True)
@handle_errors
def curves(source, output, months, quiet) -> None:
    """Show the curves of a model or scenario, and the library's generators at their defaults."""
    from simulator.surge._curves import GENERATORS, generate

    if _is_scenario_file(source):
        sc = read_scenario(source)
        model = sc.model
        months = months or sc.months
    else:
        model = load(source, quiet)
    if not isinstance(model, SurgeModel):
        raise CLIError(f"{model.name} has no scenario curves")
    months = months or model.tables.months
    table = model.tables.curves.reindex(range(months)).ffill()
    for name in GENERATORS:
        if name != "table":
            table[f"{name} (defaults)"] = generate({"generator": name}, months)
    click.echo(table.round(4).to_string())
    if not quiet:
        click.echo(f"groups use: {model.curve_note}", err=True)
    if output:
        from simulator.report._figures import save_figure
        from simulator.report._plots import plot_curves

        save_figure(plot_curves(table, f"{model.name}: curves (share per month)"), output)

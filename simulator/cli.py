"""The ``upstream`` command line: thin wrappers over the library.

Every command turns bad input into a list of problems on standard error and
exit status 2, with no traceback and no output file.
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import click

from .problems import InputError, Problem

EXIT_INPUT = 2


class CLIError(click.ClickException):
    """A problem to show the user with exit status 2."""

    exit_code = EXIT_INPUT

    def show(self, file=None) -> None:  # noqa: D102
        click.echo(f"error: {self.format_message()}", err=True)


def _print_problems(problems: list[Problem], quiet: bool = False) -> None:
    errors = [p for p in problems if p.severity == "error"]
    warns = [p for p in problems if p.severity == "warning"]
    if errors:
        click.echo(f"{len(errors)} problem{'s' if len(errors) != 1 else ''} found:", err=True)
        for p in errors:
            click.echo(f"  - {p}", err=True)
    if warns and not quiet:
        for p in warns:
            click.echo(f"warning: {p}", err=True)


def handle_errors(fn: Callable) -> Callable:
    """Turn input and run errors into messages and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from .run import RunError
        from .spec import SpecError

        try:
            return fn(*args, **kwargs)
        except InputError as err:
            _print_problems([*err.problems, *err.warnings], quiet=kwargs.get("quiet", False))
            sys.exit(EXIT_INPUT)
        except SpecError as err:
            click.echo(f"{len(err.problems)} problem(s) in the model:", err=True)
            for p in err.problems:
                click.echo(f"  - {p}", err=True)
            sys.exit(EXIT_INPUT)
        except (RunError, KeyError, ValueError) as err:
            msg = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
            raise CLIError(str(msg)) from None

    return wrapper


def _load(model: str | None, quiet: bool, fallback: str | None = None):
    from .loading import load_model

    m = load_model(model, fallback=fallback)
    if not quiet:
        for w in m.warnings:
            click.echo(f"warning: {w}", err=True)
    return m


def run_options(fn: Callable) -> Callable:
    """Options shared by commands that run a model."""
    opts = [
        click.argument("model", required=False),
        click.option(
            "--curve",
            help="Put every population group on this curve (name as in the curves table).",
        ),
        click.option(
            "--dt",
            type=float,
            help="Integration step, months (default 1; a Vensim/XMILE model's own TIME STEP).",
        ),
        click.option(
            "--months",
            type=int,
            help="Reporting months 0..N-1 (default: the model's curve length).",
        ),
        click.option("--method", type=click.Choice(["euler", "rk4"]), default="euler", show_default=True),
        click.option("--quiet", "-q", is_flag=True, help="No progress or warnings."),
    ]
    for o in reversed(opts):
        fn = o(fn)
    return fn


def _simulate(model, curve, dt, months, method, quiet, record=None, fallback=None):
    from .run import simulate

    m = _load(model, quiet, fallback)
    if curve:
        if curve not in m.curves:
            raise CLIError(f"unknown curve {curve!r}; curves of {m.name}: {', '.join(m.curves) or 'none'}")
        m = m.with_curve(curve)
    if getattr(m, "kind", None) == "pysd" and method != "euler":
        raise CLIError("models run through PySD use PySD's Euler method; leave out --method")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = simulate(m, dt=dt, months=months, method=method, record=record)
    if not quiet:
        for w in caught:
            click.echo(f"warning: {w.message}", err=True)
    return m, ds


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="upstream")
def main() -> None:
    """Upstream: post-Covid mental health demand, from social change to service load.

    MODEL is a surge workbook (.xlsx), a model file (.yaml), a Vensim (.mdl) or
    XMILE (.xmile) model, or a built-in name (england, mersey-care, cwp);
    without one, the built-in England model.
    """


@main.command()
@run_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write results to this file.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "su-csv", "parquet", "netcdf", "xlsx"]),
    help="Output format (default from the file suffix; su-csv is the surge model's own table).",
)
@click.option(
    "--fallback",
    type=click.Choice(["pysd"]),
    help="Run a Vensim/XMILE model that uses constructs Upstream does not compile through PySD.",
)
@handle_errors
def run(model, curve, dt, months, method, quiet, output, fmt, fallback) -> None:
    """Run MODEL and write its results (or print the surge table, or final values)."""
    from .export import format_from_suffix, write_results
    from .summary import format_summary, surge_summary

    if output and fmt is None:
        try:
            fmt = format_from_suffix(output)
        except ValueError as err:
            raise CLIError(str(err)) from None
    m, ds = _simulate(model, curve, dt, months, method, quiet, fallback=fallback)
    if output:
        extra = {"summary": surge_summary(ds)} if (fmt == "xlsx" and m.tables is not None) else None
        write_results(ds, output, fmt, extra_sheets=extra)
        if not quiet:
            click.echo(f"wrote {output} ({fmt})", err=True)
    else:
        click.echo(_header(m, ds))
        if m.tables is not None:
            click.echo(format_summary(surge_summary(ds)))
        else:
            click.echo(_final_values(ds))


def _final_values(ds) -> str:
    """Each recorded variable at the last report time (summed over its dimensions)."""
    t = float(ds["time"].values[-1])
    lines = [f"{'variable':<40} {'value at time ' + format(t, 'g'):>20}"]
    for name, da in ds.data_vars.items():
        if "time" not in da.dims or name.startswith("exists_"):
            continue
        v = da.isel(member=0, time=-1)
        extra = f"  (sum over {', '.join(v.dims)})" if v.dims else ""
        lines.append(f"{name:<40} {float(v.sum()):>20.6g}{extra}")
    return "\n".join(lines)


def _header(m, ds) -> str:
    spec = getattr(m, "spec", None)
    if spec is None or "clock" in spec.meta:  # Vensim/XMILE models keep their own time units
        times = ds["time"].values
        return (
            f"{m.name}: {len(times)} reports from time {times[0]:g} to {times[-1]:g}, "
            f"dt={ds.attrs['dt']:g}, {ds.attrs['method']}"
        )
    return (
        f"{m.name}: {len(ds['time'])} months from {ds.attrs.get('start') or 'month 0'}, "
        f"dt={ds.attrs['dt']:g}, {ds.attrs['method']}"
        + (f", curve: {ds.attrs['curve']}" if ds.attrs.get("curve") else "")
    )


@main.command()
@run_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Also write the table as CSV.")
@handle_errors
def summary(model, curve, dt, months, method, quiet, output) -> None:
    """Print the surge table per service for MODEL."""
    from .export import atomic_path
    from .summary import format_summary, surge_summary

    m, ds = _simulate(model, curve, dt, months, method, quiet)
    if m.tables is None:
        raise CLIError(f"{m.name} is not a surge model; summary needs services and referrals")
    table = surge_summary(ds)
    click.echo(_header(m, ds))
    click.echo(format_summary(table))
    click.echo(
        "Referrals and starts are totals over the horizon; surge % compares total surge referrals "
        "with underlying referrals in the first 12 months.",
        err=True,
    ) if not quiet else None
    if output:
        with atomic_path(output) as tmp:
            table.to_csv(tmp, index=False)


@main.command()
@run_options
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    required=True,
    help="Image file (.png, .svg, .pdf).",
)
@click.option("--service", "services", multiple=True, help="Service to draw (repeat); default the top ones.")
@click.option("--top", type=int, default=12, show_default=True, help="Number of services by surge referrals.")
@handle_errors
def plot(model, curve, dt, months, method, quiet, output, services, top) -> None:
    """Draw monthly referrals and caseload per service, with underlying demand beneath."""
    from .plotting import plot_services, save_figure

    if Path(output).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise CLIError(f"plot writes .png, .svg or .pdf, not {Path(output).suffix or 'no suffix'!r}")
    m, ds = _simulate(model, curve, dt, months, method, quiet)
    if m.tables is None:
        raise CLIError(f"{m.name} is not a surge model; plot needs services and referrals")
    fig = plot_services(ds, services=list(services) or None, top=top)
    save_figure(fig, output)
    if not quiet:
        click.echo(f"wrote {output}", err=True)


@main.command()
@click.argument("model")
@click.option("--quiet", "-q", is_flag=True, help="Only the verdict and errors.")
def validate(model, quiet) -> None:
    """Check MODEL and list every problem (sheet or table, row, column, what is allowed)."""
    from .loading import check_model

    m, problems = check_model(model)
    _print_problems(list(problems), quiet=quiet)
    if m is None:
        sys.exit(EXIT_INPUT)
    dims = ", ".join(f"{len(v)} {k}s" for k, v in m.spec.dims.items())
    n_stocks = m.compiled.n_stocks
    click.echo(f"OK: {m.name} ({m.kind}): {dims}; {n_stocks} stocks")


@main.command(name="export")
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
    from .vensim.export import ExportError, export_mdl

    if Path(output).suffix.lower() != ".mdl":
        raise CLIError(f"export writes a Vensim .mdl file, not {Path(output).suffix or 'no suffix'!r}")
    m = _load(model, quiet)
    try:
        export_mdl(m, output, dt=dt, months=months)
    except ExportError as err:
        raise CLIError(f"cannot write {m.name} as Vensim: {err}") from None
    if not quiet:
        click.echo(f"wrote {output}", err=True)


@main.command()
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
    from .convert import convert_model

    convert_model(source, output, name=name, start=start, source=source_note, licence=licence)
    if not quiet:
        click.echo(f"wrote {output}", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()

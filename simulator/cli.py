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

from simulator.core import InputError, Problem

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
        from simulator.core import RunError, SpecError

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
    from simulator.files import load_model

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
    from simulator.core import simulate

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
    from simulator.files import format_from_suffix, write_results
    from simulator.surge import (
        capacity_summary,
        format_capacity_summary,
        format_summary,
        has_capacity,
        surge_summary,
    )

    if output and fmt is None:
        try:
            fmt = format_from_suffix(output)
        except ValueError as err:
            raise CLIError(str(err)) from None
    m, ds = _simulate(model, curve, dt, months, method, quiet, fallback=fallback)
    if output:
        extra = None
        if fmt == "xlsx" and getattr(m, "tables", None) is not None:
            extra = {"summary": surge_summary(ds)}
            if has_capacity(ds):
                extra["capacity"] = capacity_summary(ds)
        write_results(ds, output, fmt, extra_sheets=extra)
        if not quiet:
            click.echo(f"wrote {output} ({fmt})", err=True)
    else:
        click.echo(_header(m, ds))
        if getattr(m, "tables", None) is not None:
            click.echo(format_summary(surge_summary(ds)))
        else:
            click.echo(_final_values(ds))
        if has_capacity(ds):
            click.echo("\nWaiting lists (surge and pre-pandemic referrals together):")
            click.echo(format_capacity_summary(capacity_summary(ds)))
            _assumed_note(ds, quiet)


def _assumed_note(ds, quiet: bool) -> None:
    """Say which capacities are Upstream's default assumption rather than data."""
    note = ds.attrs.get("assumed_capacity")
    if note and not quiet:
        click.echo("assumed capacity (no data given; pre-pandemic throughput x headroom):", err=True)
        for line in note.split("; "):
            click.echo(f"  {line}", err=True)


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
    """Print the surge table per service for MODEL (and its waiting lists, if it has capacity).

    With -o, the surge table is written as CSV; for a capacity model the
    waiting-list table goes beside it (FILE-capacity.csv).
    """
    from simulator.files import atomic_path
    from simulator.surge import (
        capacity_summary,
        format_capacity_summary,
        format_summary,
        has_capacity,
        surge_summary,
    )

    m, ds = _simulate(model, curve, dt, months, method, quiet)
    if getattr(m, "tables", None) is None:
        raise CLIError(f"{m.name} is not a surge model; summary needs services and referrals")
    table = surge_summary(ds)
    click.echo(_header(m, ds))
    click.echo(format_summary(table))
    click.echo(
        "Referrals and starts are totals over the horizon; surge % compares total surge referrals "
        "with underlying referrals in the first 12 months.",
        err=True,
    ) if not quiet else None
    cap = capacity_summary(ds) if has_capacity(ds) else None
    if cap is not None:
        click.echo("\nWaiting lists (surge and pre-pandemic referrals together):")
        click.echo(format_capacity_summary(cap))
        if not quiet:
            click.echo(
                "Capacity and mean wait are per month; joined list, escalations and drop-outs are totals "
                "over the horizon; mean wait is waiting / exits (Little's law).",
                err=True,
            )
        _assumed_note(ds, quiet)
    if output:
        with atomic_path(output) as tmp:
            table.to_csv(tmp, index=False)
        if cap is not None:
            out = Path(output)
            with atomic_path(out.with_name(f"{out.stem}-capacity{out.suffix or '.csv'}")) as tmp:
                cap.to_csv(tmp, index=False)


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
@click.option("--top", type=int, default=12, show_default=True, help="Number of services to draw.")
@click.option(
    "--view",
    type=click.Choice(["services", "waiting"]),
    default="services",
    show_default=True,
    help="services: referrals and caseload; waiting: waiting lists against capacity (capacity models).",
)
@handle_errors
def plot(model, curve, dt, months, method, quiet, output, services, top, view) -> None:
    """Draw monthly referrals and caseload per service, or waiting lists against capacity."""
    from simulator.report import plot_services, plot_waiting, save_figure
    from simulator.surge import has_capacity

    if Path(output).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise CLIError(f"plot writes .png, .svg or .pdf, not {Path(output).suffix or 'no suffix'!r}")
    m, ds = _simulate(model, curve, dt, months, method, quiet)
    if getattr(m, "tables", None) is None:
        raise CLIError(f"{m.name} is not a surge model; plot needs services and referrals")
    if view == "waiting":
        if not has_capacity(ds):
            raise CLIError(f"{m.name} has no capacity table, so no waiting lists to draw")
        try:
            fig = plot_waiting(ds, services=list(services) or None, top=top)
        except KeyError as err:
            raise CLIError(str(err.args[0])) from None
    else:
        fig = plot_services(ds, services=list(services) or None, top=top)
    save_figure(fig, output)
    if not quiet:
        click.echo(f"wrote {output}", err=True)


@main.command()
@click.argument("model")
@click.option("--quiet", "-q", is_flag=True, help="Only the verdict and errors.")
def validate(model, quiet) -> None:
    """Check MODEL and list every problem (sheet or table, row, column, what is allowed)."""
    from simulator.files import check_model

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
    from simulator.vensim import ExportError, export_mdl

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
    from simulator.files import convert_model

    convert_model(source, output, name=name, start=start, source=source_note, licence=licence)
    if not quiet:
        click.echo(f"wrote {output}", err=True)


# ---------------------------------------------------------------- ensembles (scenarios)
def ensemble_options(fn: Callable) -> Callable:
    """Options shared by commands that run scenario ensembles."""
    opts = [
        click.option(
            "--members", type=click.IntRange(min=1), help="Ensemble size (default: the scenario's)."
        ),
        click.option("--seed", type=click.IntRange(min=0), help="Random seed (default: the scenario's)."),
        click.option("--sampler", type=click.Choice(["monte-carlo", "lhs", "sobol"]), help="Sampler."),
        click.option("--dask", "dask_address", help="Run blocks on a dask cluster: an address, or 'local'."),
        click.option("--quiet", "-q", is_flag=True, help="No progress or warnings."),
    ]
    for o in reversed(opts):
        fn = o(fn)
    return fn


def _scenario(path: str):
    from simulator.files import load_scenario

    return load_scenario(path)


def _write_summary(result, output: str) -> None:
    from simulator.files import atomic_path, format_from_suffix

    fmt = format_from_suffix(output)
    if fmt == "netcdf":
        result.to_netcdf(output)
        return
    table = result.tidy()
    with atomic_path(output) as tmp:
        if fmt == "parquet":
            table.to_parquet(tmp, index=False)
        elif fmt == "csv":
            table.to_csv(tmp, index=False)
        else:
            raise CLIError("ensemble results are written as .nc, .parquet or .csv")


@main.command()
@click.argument("scenario")
@ensemble_options
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Write quantiles and means (.nc, .parquet, .csv)."
)
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False), help="Draw fan charts to this image.")
@click.option(
    "--service", "services", multiple=True, help="Service to show (repeat); default the scenario's."
)
@click.option(
    "--fan",
    default="referrals",
    show_default=True,
    help="Output drawn in the fan charts: referrals, starts, caseload, contacts; capacity models also "
    "waiting, mean_wait, share_over_18_weeks, escalations, dropouts, unmet_need, utilisation.",
)
@handle_errors
def sweep(scenario, members, seed, sampler, dask_address, quiet, output, plot_file, services, fan) -> None:
    """Run a SCENARIO ensemble: median and 90% interval per service."""
    from simulator.analysis import scenario_ensemble
    from simulator.core import DaskUnavailable, dask_client

    sc = _scenario(scenario)
    try:
        with dask_client(dask_address) as client:
            result = scenario_ensemble(
                sc, members=members, seed=seed, sampler=sampler, dask_client=client, progress=not quiet
            )
    except DaskUnavailable as err:
        raise CLIError(str(err)) from None
    shown = list(services) or sc.services or None
    click.echo(
        f"{sc.name}: {result.attrs['members']:,} members, seed {result.attrs['seed']}, "
        f"{result.attrs['sampler']} sampler, quantiles {result.attrs['quantiles']}"
    )
    click.echo(result.format_table(shown, top=None if shown else 15))
    for k, v in result.attrs.items():
        if (k.startswith("clipped") or k.startswith("rescaled")) and not quiet:
            click.echo(
                f"note: {v:,} sampled values {k.split()[0]} ({k.split()[1]}) to its allowed range", err=True
            )
    _assumed_note(result.summary, quiet)
    if output:
        _write_summary(result, output)
    if plot_file:
        from simulator.report import plot_fan, save_figure

        if fan not in result.summary or "time" not in result.summary[fan].dims:
            monthly = [
                k for k, v in result.summary.data_vars.items() if "stat" in v.dims and "time" in v.dims
            ]
            raise CLIError(f"--fan {fan!r} is not an output of this run; outputs: {', '.join(monthly)}")
        save_figure(plot_fan(result, shown, output=fan, title=f"{sc.name}: {fan}"), plot_file)
    if not quiet and (output or plot_file):
        click.echo("wrote " + ", ".join(f for f in (output, plot_file) if f), err=True)


@main.command()
@click.argument("scenarios", nargs=-1, required=True)
@ensemble_options
@click.option(
    "--output-var",
    "var",
    default=None,
    help="Figure compared: referrals_total (default), starts_total, caseload_peak, caseload_peak_month, "
    "contacts_peak (capacity models also waiting_peak, escalations_total ...); for other models "
    "<variable>_total, _peak or _peak_month (default: the first stock's total).",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the comparison table (.csv).")
@click.option(
    "--plot", "plot_file", type=click.Path(dir_okay=False), help="Draw medians and bands per scenario."
)
@click.option("--service", "services", multiple=True, help="Service to show (repeat).")
@handle_errors
def compare(scenarios, members, seed, sampler, dask_address, quiet, var, output, plot_file, services) -> None:
    """Put SCENARIOS side by side on the same draws (paired differences from the first)."""
    from simulator.analysis import compare_scenarios
    from simulator.core import DaskUnavailable, dask_client

    loaded = [_scenario(p) for p in scenarios]
    try:
        with dask_client(dask_address) as client:
            cmp = compare_scenarios(
                loaded, members=members, seed=seed, sampler=sampler, dask_client=client, progress=not quiet
            )
    except DaskUnavailable as err:
        raise CLIError(str(err)) from None
    shown = list(services) or loaded[0].services or None
    first = cmp.results[0]
    if var is None:
        var = "referrals_total" if first.by_service else f"{loaded[0].model.spec.stocks[0].name}_total"
    if var not in first.summary or "time" in first.summary[var].dims:
        have = [k for k, v in first.summary.data_vars.items() if "stat" in v.dims and "time" not in v.dims]
        raise CLIError(f"--output-var {var!r} is not a figure of these runs; figures: {', '.join(have)}")
    click.echo(cmp.format_table(var, shown, top=None if shown else 15))
    if output:
        from simulator.files import atomic_path

        with atomic_path(output) as tmp:
            cmp.table(var, shown).to_csv(tmp, index=False)
    if plot_file:
        from simulator.report import plot_compare, save_figure

        save_figure(plot_compare(cmp, shown), plot_file)


@main.command()
@click.argument("source", required=False)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Image of the curves (.png, .svg, .pdf)."
)
@click.option("--months", type=int, help="Horizon for generated curves (default: the model's).")
@click.option("--quiet", "-q", is_flag=True)
@handle_errors
def curves(source, output, months, quiet) -> None:
    """Show the curves of a model or scenario, and the library's generators at their defaults."""
    import pandas as pd

    from simulator.surge import GENERATORS, generate

    if (
        source
        and source.endswith((".yaml", ".yml"))
        and "scenario" in Path(source).read_text(encoding="utf-8")[:400]
    ):
        sc = _scenario(source)
        model = sc.model
        months = months or sc.months
    else:
        model = _load(source, quiet)
    if getattr(model, "tables", None) is None:
        raise CLIError(f"{model.name} has no scenario curves")
    months = months or model.tables.months
    table = model.tables.curves.reindex(range(months)).ffill()
    for name in GENERATORS:
        if name != "table":
            table[f"{name} (defaults)"] = generate({"generator": name}, months)
    click.echo(table.round(4).to_string())
    used = model.curve_note
    click.echo(f"groups use: {used}", err=True) if not quiet else None
    if output:
        from simulator.report import plot_curves, save_figure

        save_figure(plot_curves(table, f"{model.name}: curves (share per month)"), output)
    _ = pd


@main.command()
@click.argument("scenario")
@click.option(
    "--method", type=click.Choice(["sobol", "morris", "fast", "delta"]), default="sobol", show_default=True
)
@click.option(
    "--n", "n", type=click.IntRange(min=2), default=256, show_default=True, help="SALib base sample size."
)
@click.option("--seed", type=click.IntRange(min=0), help="Seed (default: the scenario's).")
@click.option("--service", "services", multiple=True, help="Service to analyse (repeat).")
@click.option(
    "--variable",
    "variables",
    multiple=True,
    help="Other models: variable to analyse (repeat; default every stock).",
)
@click.option("--no-second-order", is_flag=True, help="Sobol: skip second-order indices (fewer runs).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write all indices as CSV.")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False), help="Ranked bars of the main index.")
@click.option("--heatmap", type=click.Path(dir_okay=False), help="Sobol: index by month heat map.")
@click.option("--quiet", "-q", is_flag=True)
@handle_errors
def sensitivity(
    scenario, method, n, seed, services, variables, no_second_order, output, plot_file, heatmap, quiet
) -> None:
    """Global sensitivity of a SCENARIO's outputs to its uncertainty groups (SALib)."""
    from simulator.analysis import sensitivity_analysis

    sc = _scenario(scenario)
    res = sensitivity_analysis(
        sc.model,
        sc.design,
        method=method,
        n=n,
        seed=sc.seed if seed is None else seed,
        months=sc.months,
        dt=sc.dt,
        run_method=sc.method,
        services=list(services) or sc.services or None,
        variables=list(variables) or None,
        second_order=not no_second_order,
        progress=not quiet,
    )
    click.echo(f"{sc.name}: {method}, {res.runs:,} runs")
    if res.meta.get("variables"):
        shown = [("", f"{v}_{k}") for v in res.meta["variables"] for k in ("final", "peak")]
    else:
        shown = [(svc, out) for svc in res.meta["services"] for out in ("referrals_total", "caseload_peak")]
    for svc, out in shown:
        r = res.ranking(out, svc).head(8)
        click.echo(
            f"\n{svc + ': ' if svc else ''}{out} ({r['index'].iloc[0] if len(r) else ''}, 95% interval)"
        )
        for f, v, c in zip(r["factor"], r["value"], r["conf"]):
            click.echo(f"  {f:<45} {v:10.4g}  +/- {c:.3g}")
    if output:
        from simulator.files import atomic_path

        with atomic_path(output) as tmp:
            res.indices.to_csv(tmp, index=False)
    from simulator.report import plot_heatmap, plot_ranking, save_figure

    if plot_file:
        save_figure(plot_ranking(res), plot_file)
    if heatmap:
        if method != "sobol":
            raise CLIError("the heat map needs --method sobol")
        save_figure(plot_heatmap(res), heatmap)


@main.command("compare-interventions")
@click.argument("scenario")
@click.option(
    "--package",
    "packages",
    multiple=True,
    required=True,
    help="Package or intervention (name or path; repeat).",
)
@click.option("--members", type=click.IntRange(min=1), help="Ensemble size (default: the scenario's).")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed (default: the scenario's).")
@click.option(
    "--outcome",
    default=None,
    help="Outcome for the probability table and the frontier: referrals (default), starts, at_risk, "
    "contacts, crisis; waiting, escalations for capacity models; a variable of any other model "
    "(default its first stock).",
)
@click.option("--crisis-service", "crisis", multiple=True, help="Crisis service (repeat); default by name.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Outcome table (.csv) or all members (.nc)."
)
@click.option(
    "--plot", "plot_file", type=click.Path(dir_okay=False), help="Outcome against cost, frontier marked."
)
@click.option(
    "--plot-time", "plot_time", type=click.Path(dir_okay=False), help="Referrals averted over time."
)
@click.option("--quiet", "-q", is_flag=True)
@handle_errors
def compare_interventions(
    scenario, packages, members, seed, outcome, crisis, output, plot_file, plot_time, quiet
) -> None:
    """Compare intervention PACKAGES against the baseline on the same ensemble draws."""
    from simulator.analysis import appraise, load_package

    sc = _scenario(scenario)
    if plot_time and getattr(sc.model, "tables", None) is None:
        raise CLIError("--plot-time draws referrals averted over time: it needs a surge model")
    base = sc.path.parent.parent if sc.path is not None else Path.cwd()
    pkgs = [load_package(p, base) for p in packages]
    a = appraise(
        sc.model,
        pkgs,
        design=sc.design,
        members=members or sc.members,
        seed=sc.seed if seed is None else seed,
        sampler=sc.sampler,
        months=sc.months,
        dt=sc.dt,
        method=sc.method,
        crisis=list(crisis) or None,
        progress=not quiet,
    )
    outcome = outcome or a.main_outcome
    if outcome not in a.outcomes:
        raise CLIError(f"outcome {outcome!r} is not one of this comparison's: {', '.join(a.outcomes)}")
    click.echo(f"{sc.name}: {a.meta['members']:,} members per package, common draws; median [5% to 95%]")
    click.echo(a.format_table())
    click.echo(f"\nP(row averts more {outcome} than column):")
    click.echo(a.beats(outcome).round(2).to_string())
    if not quiet:
        if a.crisis:
            click.echo("crisis services: " + ", ".join(a.crisis), err=True)
    if output:
        from simulator.files import atomic_path, format_from_suffix

        fmt = format_from_suffix(output)
        with atomic_path(output) as tmp:
            if fmt == "netcdf":
                a.members.to_netcdf(tmp, engine="h5netcdf")
            elif fmt == "csv":
                a.table().to_csv(tmp, index=False)
            else:
                raise CLIError("write the comparison as .csv (table) or .nc (every member)")
    from simulator.report import plot_averted_over_time, plot_frontier, save_figure

    if plot_file:
        save_figure(plot_frontier(a, outcome), plot_file)
    if plot_time:
        save_figure(plot_averted_over_time(a), plot_time)


if __name__ == "__main__":  # pragma: no cover
    main()

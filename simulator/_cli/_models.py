"""One run of a model: ``run``, ``summary`` and ``plot``."""

from __future__ import annotations

from pathlib import Path

import click
import xarray as xr

from simulator._cli._common import CLIError, assumed_note, handle_errors, run_options, simulate_model
from simulator.core._model import Model
from simulator.core._strata_transform import strata_of
from simulator.surge._surge_model import SurgeModel

__all__ = ["final_values", "header", "plot", "run", "summary"]


@click.command()
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
def run(model, curve, dt, months, method, quiet, verbose, max_memory, output, fmt, fallback) -> None:
    """Run MODEL and write its results (or print the surge table, or final values)."""
    from simulator.files._writers import format_from_suffix, write_results
    from simulator.surge._strata_summary import stratum_summary
    from simulator.surge._summary import format_summary, surge_summary
    from simulator.surge._waiting import capacity_summary, format_capacity_summary, has_capacity

    if output and fmt is None:
        try:
            fmt = format_from_suffix(output)
        except ValueError as err:
            raise CLIError(str(err)) from None
    m, ds = simulate_model(
        model, curve, dt, months, method, quiet, fallback=fallback, verbose=verbose, max_memory=max_memory
    )
    if output:
        extra = None
        if fmt == "xlsx" and isinstance(m, SurgeModel):
            extra = {"summary": surge_summary(ds)}
            for st in strata_of(m):  # stratified: referrals and starts per stratum (every service)
                extra[f"by {st.name}"] = stratum_summary(ds, [st])
            if has_capacity(ds):
                extra["capacity"] = capacity_summary(ds)
        write_results(ds, output, fmt, extra_sheets=extra)
        if not quiet:
            click.echo(f"wrote {output} ({fmt})", err=True)
    else:
        click.echo(header(m, ds))
        if isinstance(m, SurgeModel):
            click.echo(format_summary(surge_summary(ds)))
        else:
            click.echo(final_values(ds))
        if has_capacity(ds):
            click.echo("\nWaiting lists (surge and pre-pandemic referrals together):")
            click.echo(format_capacity_summary(capacity_summary(ds)))
            assumed_note(ds, quiet)


def final_values(ds: xr.Dataset) -> str:
    """Each recorded variable at the last report time (summed over its dimensions).

    Parameters
    ----------
    ds
        Results of one run.

    Returns
    -------
    str
        A table, one variable a line, in the model's own units.
    """
    t = float(ds["time"].values[-1])
    lines = [f"{'variable':<40} {'value at time ' + format(t, 'g'):>20}"]
    for name, da in ds.data_vars.items():
        if "time" not in da.dims or str(name).startswith("exists_"):
            continue
        v = da.isel(member=0, time=-1)
        extra = f"  (sum over {', '.join(map(str, v.dims))})" if v.dims else ""
        lines.append(f"{name:<40} {float(v.sum()):>20.6g}{extra}")
    return "\n".join(lines)


def header(m: Model, ds: xr.Dataset) -> str:
    """The line naming a run: model, reporting times, step and method.

    Parameters
    ----------
    m
        The model run.
    ds
        Its results.

    Returns
    -------
    str
        One line of text.
    """
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


@click.command()
@run_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Also write the table as CSV.")
@click.option(
    "--by", "by", help="Stratified models: the stratifier of the table by stratum (default the first)."
)
@handle_errors
def summary(model, curve, dt, months, method, quiet, verbose, max_memory, output, by) -> None:
    """Print the surge table per service for MODEL (and its waiting lists, if it has capacity).

    With -o, the surge table is written as CSV; for a capacity model the
    waiting-list table goes beside it (FILE-capacity.csv); for a stratified
    model the table by stratum (FILE-by-STRATIFIER.csv, every service) and its
    gap (FILE-STRATIFIER-gap.csv).
    """
    from simulator.surge._summary import format_summary, surge_summary
    from simulator.surge._waiting import capacity_summary, format_capacity_summary, has_capacity

    m, ds = simulate_model(model, curve, dt, months, method, quiet, verbose=verbose, max_memory=max_memory)
    if not isinstance(m, SurgeModel):
        raise CLIError(f"{m.name} is not a surge model; summary needs services and referrals")
    if by is not None:  # a bad --by is an error before any table
        from simulator.surge._strata_summary import choose

        choose(strata_of(m), by)
    table = surge_summary(ds)
    click.echo(header(m, ds))
    click.echo(format_summary(table))
    if not quiet:
        click.echo(
            "Referrals and starts are totals over the horizon; surge % compares total surge referrals "
            "with underlying referrals in the first 12 months."
            + (
                " Surge columns count people referred in the surge; '(all)' columns and all starts add "
                "pre-pandemic referrals (what competes for capacity; sweep's starts, caseload, contacts)."
                if "surge_starts" in table
                else ""
            ),
            err=True,
        )
    strata = _by_stratum(m, ds, by, quiet)
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
        assumed_note(ds, quiet)
    if output:
        out = Path(output)
        cap_file = out.with_name(f"{out.stem}-capacity{out.suffix or '.csv'}")
        # both files or neither: the table is renamed into place only once the capacity table is
        extra = {cap_file: cap} if cap is not None else {}
        if strata is not None:
            dim = str(strata[1].attrs["dim"])
            extra[out.with_name(f"{out.stem}-by-{dim}{out.suffix or '.csv'}")] = strata[0]
            extra[out.with_name(f"{out.stem}-{dim}-gap{out.suffix or '.csv'}")] = strata[1]
        _write_tables([(out, table), *extra.items()])
        if not quiet and strata is not None:
            click.echo("wrote " + ", ".join(map(str, [out, *extra])), err=True)


def _write_tables(files: list) -> None:
    """Write every (file, table) as CSV: all of them or none (the first is renamed into place last)."""
    from simulator.files._writers import atomic_path

    if not files:
        return
    (path, table), rest = files[0], files[1:]
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
        _write_tables(rest)


def _by_stratum(m, ds: xr.Dataset, by: str | None, quiet: bool):
    """Print the table by stratum and its gap (stratified models): (table, gap), or ``None``."""
    from simulator.surge._strata_summary import (
        choose,
        format_stratum_gap,
        format_stratum_summary,
        stratum_gap,
        stratum_summary,
    )

    strata = strata_of(m)
    if not strata and by is None:
        return None
    st = choose(strata, by)
    table, gap = stratum_summary(ds, [st]), stratum_gap(ds, [st])
    click.echo(
        f"\nBy {st.name} (all services; people over the horizon, and per 100,000 people of the stratum):"
    )
    click.echo(format_stratum_summary(table, st.name))
    click.echo(format_stratum_gap(gap))
    if not quiet:
        click.echo(
            f"{st.name}: {st.label or st.name}. "
            + (
                "SII: fitted rate in the most advantaged minus the most disadvantaged stratum (PHE's method); "
                "below 0: higher among the disadvantaged. RII: their ratio."
                if st.ordered
                else "Gaps to the most populous stratum."
            ),
            err=True,
        )
    return table, gap


@click.command()
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
def plot(model, curve, dt, months, method, quiet, verbose, max_memory, output, services, top, view) -> None:
    """Draw monthly referrals and caseload per service, or waiting lists against capacity."""
    from simulator.report._figures import save_figure
    from simulator.report._plots import plot_services, plot_waiting
    from simulator.surge._waiting import has_capacity

    if Path(output).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise CLIError(f"plot writes .png, .svg or .pdf, not {Path(output).suffix or 'no suffix'!r}")
    m, ds = simulate_model(model, curve, dt, months, method, quiet, verbose=verbose, max_memory=max_memory)
    if not isinstance(m, SurgeModel):
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

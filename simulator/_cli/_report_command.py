"""``upstream report`` (the board report) and ``upstream map`` (the system map)."""

from __future__ import annotations

from pathlib import Path

import click

from simulator._cli._common import CLIError, handle_errors, load, read_scenario

__all__ = ["map_command", "report"]


def _suffix(output: str, allowed: tuple[str, ...], what: str) -> None:
    if Path(output).suffix.lower() not in allowed:
        raise CLIError(f"{output}: write {what} as {' or '.join(allowed)}")


@click.command()
@click.argument("scenario")
@click.option("--package", "packages", multiple=True, help="Package or intervention to compare (repeat).")
@click.option("--members", type=click.IntRange(min=1), help="Ensemble size (default: the scenario's).")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed (default: the scenario's).")
@click.option("--month", type=float, help="Month of the system map's edge widths (default: the peak).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="The report (.html).")
@click.option("--quiet", "-q", is_flag=True, help="No progress or warnings.")
@handle_errors
def report(scenario, packages, members, seed, month, output, quiet) -> None:
    """One self-contained HTML board report of a SCENARIO, with PACKAGES compared.

    Headline figures with intervals, fan charts, the surge table, capacity pressure,
    the packages compared on common draws, the system map and every assumption and
    source; it opens offline and prints on A4.  The surge table is printed too.
    """
    from simulator.report._board_report import build_report
    from simulator.report._figures import use_file_backend

    _suffix(output, (".html", ".htm"), "the report")
    sc = read_scenario(scenario)
    if month is not None:
        _check_month(month, int(sc.months or sc.model.spec.horizon))
    use_file_backend()
    rep = build_report(sc, list(packages), members=members, seed=seed, month=month, progress=not quiet)
    ens = rep.ensemble
    click.echo(f"{sc.name}: {ens.attrs['members']:,} members, seed {ens.attrs['seed']}; median [5%-95%]")
    click.echo(ens.format_table(sc.services or None))
    if rep.appraisal is not None:
        click.echo("\nPackages against the baseline, common draws; median [5% to 95%]")
        click.echo(rep.appraisal.format_table())
    rep.write(output)
    if not quiet:
        click.echo(f"wrote {output}", err=True)


def _check_month(month: float, horizon: int) -> None:
    """Refuse a month outside the reported months before any ensemble runs."""
    if not 0 <= month <= horizon - 1 or float(month) != int(month):
        raise CLIError(f"--month {month:g}: allowed a whole month from 0 to {horizon - 1}")


@click.command("map")
@click.argument("model", required=False)
@click.option(
    "--month", type=float, help="Month of the edge widths (default: the month of the largest flows)."
)
@click.option("--package", "packages", multiple=True, help="Package or intervention to draw (repeat).")
@click.option(
    "--view",
    type=click.Choice(["auto", "chain", "stocks"]),
    default="auto",
    show_default=True,
    help="chain: groups -> conditions -> services (surge models); stocks: stocks and flows.",
)
@click.option("--dt", type=float, help="Integration step, months (default: the model's own).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    required=True,
    help="map.html (interactive) or map.svg.",
)
@click.option("--quiet", "-q", is_flag=True, help="No warnings.")
@handle_errors
def map_command(model, month, packages, view, dt, output, quiet) -> None:
    """The system map of MODEL: where demand comes from and where it goes.

    Surge models: groups at risk -> conditions -> services; other models: stocks
    and flows.  Edge width is proportional to the flow at --month; a click on a
    node (HTML) shows its parameters, values and sources.
    """
    from simulator.files._interventions import load_package
    from simulator.report._figures import use_file_backend
    from simulator.report._system_map import system_map

    _suffix(output, (".html", ".htm", ".svg"), "the map")
    m = load(model, quiet)
    pkgs = [load_package(p) for p in packages]
    use_file_backend()
    smap = system_map(m, month, packages=pkgs, dt=dt, view=view)
    smap.write(output)
    if not quiet:
        click.echo(
            f"wrote {output} ({len(smap.nodes)} nodes, {len(smap.edges)} edges, {smap.time_word} {smap.month:g})",
            err=True,
        )

"""Inequalities on the command line: ``localise`` (a model for one area) and ``equity`` (gaps between strata)."""

from __future__ import annotations

from pathlib import Path

import click

from simulator._cli._common import CLIError, handle_errors

__all__ = ["equity", "localise", "outcome_metric"]

#: the equity metric whose gap an appraisal reports for each outcome
OUTCOME_METRIC = {
    "referrals": "referrals_per_100k",
    "starts": "starts_per_100k",
    "at_risk": "at_risk_per_1000",
    "waiting": "mean_wait",
    "escalations": "escalations_per_1000",
}


def outcome_metric(outcome: str) -> str:
    """The equity metric of an appraisal outcome (referrals per 100,000 for the others).

    Parameters
    ----------
    outcome
        An appraisal outcome key.

    Returns
    -------
    str
        A key of :data:`simulator.analysis._equity_metrics.METRICS`.
    """
    return OUTCOME_METRIC.get(outcome, "referrals_per_100k")


@click.command()
@click.argument("model")
@click.option(
    "--area", required=True, help="Local authority or ICB: name or ONS code (e.g. Bury, E08000002)."
)
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="The local model (.yaml)."
)
@click.option("--quiet", "-q", is_flag=True)
@handle_errors
def localise(model, area, output, quiet) -> None:
    """Scale a surge MODEL to a local AREA of England: its population and deprivation mix."""
    from simulator.files._localise import find_area
    from simulator.files._localise_model import localise_model

    if Path(output).suffix.lower() not in (".yaml", ".yml"):
        raise CLIError(f"write the local model as .yaml, not {Path(output).suffix or 'no suffix'}")
    where = find_area(area)
    path, rec = localise_model(model, where, output)
    click.echo(
        f"{where.name} ({where.kind}, {where.code}): {where.population:,.0f} people, "
        f"{where.factor:.4%} of England's {where.england:,.0f}"
    )
    if where.deciles is not None:
        shares = ", ".join(f"{x:.1%}" for x in rec["deprivation"]["shares"])
        click.echo(f"people by IMD 2019 decile (1 = most deprived): {shares}")
    else:
        click.echo(
            "deprivation mix: not available for ICBs from the shipped data (a stratified model keeps England's)"
        )
    for note in rec.get("strata_changed", []):
        click.echo(note)
    if not quiet:
        click.echo(f"wrote {path}", err=True)


def _read(source: str, quiet: bool):
    """A scenario file, or a model run once (no uncertainty): (name, model, design, settings)."""
    from simulator.analysis._uncertainty import Design
    from simulator.files._loading import BUILTIN_MODELS, load_model
    from simulator.files._yaml import load_with_lines, read_yaml_text

    p = Path(source)
    is_model = source.lower() in BUILTIN_MODELS and not p.exists()
    if not is_model and p.suffix.lower() in (".yaml", ".yml") and p.exists():
        kind = load_with_lines(read_yaml_text(p)).get("upstream")
        is_model = kind is not None and kind.value != "scenario"
    if is_model or p.suffix.lower() in (".xlsx", ".mdl", ".xmile"):
        m = load_model(source)
        return m.name, m, Design(m.spec, []), {"members": 1, "seed": 0, "sampler": "lhs"}
    from simulator._cli._common import read_scenario

    sc = read_scenario(source, None, quiet)
    settings = {
        "members": sc.members,
        "seed": sc.seed,
        "sampler": sc.sampler,
        "months": sc.months,
        "dt": sc.dt,
    }
    return sc.name, sc.model, sc.design, {**settings, "method": sc.method}


def _write(res, output: str) -> None:
    """The table as CSV, or every member's rates as netCDF."""
    from simulator.files._writers import atomic_path, format_from_suffix

    fmt = format_from_suffix(output)
    with atomic_path(output) as tmp:
        if fmt == "csv":
            res.table().to_csv(tmp, index=False)
        elif fmt == "netcdf":
            ds = res.horizon.rename({k: f"{k}_horizon" for k in res.horizon.data_vars})
            ds = ds.merge(res.monthly).merge(
                res.gradient().rename({k: f"{k}_horizon" for k in res.gradient().data_vars})
            )
            ds["population"] = res.population
            ds.attrs.update({k: str(v) for k, v in res.meta.items()})
            ds.to_netcdf(tmp, engine="h5netcdf")
        else:
            raise CLIError("write equity figures as .csv (the table) or .nc (every member, by month)")


def _print(res, name: str) -> None:
    t = res.table()
    n = res.horizon.sizes.get("member", 1)
    band = f"median [5% to 95%] of {n:,} members" if n > 1 else "one run"
    click.echo(f"{name}: inequalities by {res.dim} over the horizon ({band})")
    if res.ordered:
        click.echo(
            "SII: fitted rate in the most advantaged minus the most disadvantaged (PHE); below 0: higher among the disadvantaged"
        )
    else:
        click.echo(f"gaps to the reference stratum: {res.reference}")
    width = min(70, max(len(str(x)) for x in t["stratum"]))
    for domain in ("access", "experience", "outcome"):
        part = t[t["domain"] == domain]
        if part.empty:
            continue
        click.echo(f"\n{domain.upper()}")
        for metric, rows in part.groupby("metric", sort=False):
            click.echo(f"  {metric} ({rows['unit'].iloc[0]})")
            for _, r in rows.iterrows():
                iv = f" [{r['low']:,.4g} to {r['high']:,.4g}]" if n > 1 else ""
                click.echo(f"    {r['stratum']:<{width}} {r['median']:>12,.4g}{iv}")
    if n == 1 and res.ordered:
        ci = res.simulated_intervals()
        if len(ci):
            click.echo(
                "\nOne run: PHE's simulation intervals (95%, 100,000 draws), the counts taken as Poisson observations"
            )
            for _, r in ci.iterrows():
                click.echo(
                    f"  {r['metric']}: SII {r['sii']:,.4g} [{r['sii_low']:,.4g} to {r['sii_high']:,.4g}], "
                    f"RII {r['rii']:.4g} [{r['rii_low']:.4g} to {r['rii_high']:.4g}]"
                )


@click.command()
@click.argument("scenario")
@click.option(
    "--by",
    type=click.Choice(["deprivation", "ethnicity", "age", "sex"]),
    help="Stratifier (default the model's first).",
)
@click.option("--metric", "metrics", multiple=True, help="Metric (repeat; default all the model gives).")
@click.option(
    "--reference", help="Unordered strata: the stratum gaps are taken to (default the most populous)."
)
@click.option("--members", type=click.IntRange(min=1), help="Ensemble size (default: the scenario's).")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed (default: the scenario's).")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Table (.csv) or every member by month (.nc)."
)
@click.option(
    "--plot", "plot_file", type=click.Path(dir_okay=False), help="Gradient chart: each stratum's rate."
)
@click.option(
    "--plot-sii", "plot_sii", type=click.Path(dir_okay=False), help="SII over time (ordered strata)."
)
@click.option("--quiet", "-q", is_flag=True)
@handle_errors
def equity(scenario, by, metrics, reference, members, seed, output, plot_file, plot_sii, quiet) -> None:
    """Access, experience and outcome by stratum for a SCENARIO (or a model), and the gaps between strata."""
    from simulator.analysis._equity_metrics import METRICS
    from simulator.analysis._equity_run import run_equity, stratifier

    bad = [m for m in metrics if m not in METRICS]
    if bad:
        raise CLIError(f"unknown metric {', '.join(bad)}; metrics: {', '.join(METRICS)}")
    if output and Path(output).suffix.lower() not in (".csv", ".nc"):
        raise CLIError(
            f"write equity figures as .csv (the table) or .nc (every member, by month), not {output!r}"
        )
    for f in (plot_file, plot_sii):
        if f and Path(f).suffix.lower() not in (".png", ".svg", ".pdf"):
            raise CLIError(f"draw plots as .png, .svg or .pdf, not {f!r}")
    name, model, design, settings = _read(scenario, quiet)
    s = stratifier(model, by)
    if plot_sii and not s.ordered:
        raise CLIError(f"--plot-sii needs ordered strata; {s.name} is not ordered")
    settings.update(members=members or settings["members"], seed=settings["seed"] if seed is None else seed)
    res = run_equity(
        model,
        design,
        by=s.name,
        metrics=list(metrics) or None,
        reference=reference,
        progress=not quiet,
        **settings,
    )
    _print(res, name)
    if (
        model.spec.meta.get("capacity")
        and not metrics
        and not any(METRICS[k].domain == "experience" for k in res.metrics)
    ):
        click.echo(
            "\nexperience (waits, drop-outs, escalations) is not reported by stratum: this model does not give "
            "its waiting lists by stratum"
        )
    if output:
        _write(res, output)
    if plot_file or plot_sii:
        from simulator.report._equity_plots import plot_gradient, plot_sii_over_time
        from simulator.report._figures import MAX_PANELS, save_figure, use_file_backend

        use_file_backend()
        shown = res.metrics[:MAX_PANELS]
        if len(res.metrics) > MAX_PANELS:
            left = ", ".join(res.metrics[MAX_PANELS:])
            click.echo(f"plots show {MAX_PANELS} metrics, not {left} (choose with --metric)", err=True)
        if plot_file:
            save_figure(plot_gradient(res, shown), plot_file)
        if plot_sii:
            save_figure(plot_sii_over_time(res, shown), plot_sii)
    written = [f for f in (output, plot_file, plot_sii) if f]
    if written and not quiet:
        click.echo("wrote " + ", ".join(written), err=True)

"""Analyses of a scenario: ``sensitivity`` and ``compare-interventions``."""

from __future__ import annotations

from pathlib import Path

import click

from simulator._cli._common import CLIError, handle_errors, read_scenario
from simulator.surge._surge_model import SurgeModel

__all__ = ["compare_interventions", "sensitivity"]


def _print_rankings(res) -> None:
    """The eight largest main indices of each output analysed, with their 95% intervals."""
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


@click.command()
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
    from simulator.analysis._sensitivity import sensitivity_analysis

    if heatmap and method != "sobol":
        raise CLIError("the heat map needs --method sobol")
    sc = read_scenario(scenario)
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
    _print_rankings(res)
    if output:
        from simulator.files._writers import atomic_path

        with atomic_path(output) as tmp:
            res.indices.to_csv(tmp, index=False)
    from simulator.report._ensemble_plots import plot_heatmap, plot_ranking
    from simulator.report._figures import save_figure, use_file_backend

    if plot_file or heatmap:
        use_file_backend()
    if plot_file:
        save_figure(plot_ranking(res), plot_file)
    if heatmap:
        save_figure(plot_heatmap(res), heatmap)
    if not quiet and (plot_file or heatmap):
        click.echo("wrote " + ", ".join(f for f in (plot_file, heatmap) if f), err=True)


def _with_equity(a, sc, pkgs, equity_by, equity_metric, outcome, quiet) -> None:
    """Equity figures of every package on a stratified model (nothing for other models)."""
    from simulator._cli._equity_command import outcome_metric
    from simulator.analysis._equity_metrics import METRICS
    from simulator.analysis._equity_run import equity_of_packages, stratifier

    try:
        s = stratifier(sc.model, equity_by)
    except ValueError:
        if equity_by:
            raise
        return  # not stratified: no equity columns
    metric = equity_metric or outcome_metric(outcome)
    if metric not in METRICS:
        raise CLIError(f"unknown equity metric {metric!r}; metrics: {', '.join(METRICS)}")
    a.equity = equity_of_packages(
        sc.model,
        pkgs,
        design=sc.design,
        metric=metric,
        by=s.name,
        members=int(a.meta["members"]),  # type: ignore[call-overload]
        seed=int(a.meta["seed"]),  # type: ignore[call-overload]
        sampler=str(a.meta["sampler"]),
        months=sc.months,
        dt=sc.dt,
        method=sc.method,
        progress=not quiet,
    )


def _write_appraisal(a, output: str) -> None:
    """The outcome table as CSV, or every member as netCDF."""
    from simulator.files._writers import atomic_path, format_from_suffix

    fmt = format_from_suffix(output)
    with atomic_path(output) as tmp:
        if fmt == "netcdf":
            ds = a.members
            if a.equity is not None:
                ds = ds.merge(
                    a.equity.rename({k: f"equity_{k}" for k in a.equity.data_vars}), combine_attrs="drop"
                )
            ds.to_netcdf(tmp, engine="h5netcdf")
        elif fmt == "csv":
            t = a.table()
            if a.equity is not None:
                t = t.merge(a.equity_table(), on="package")
            t.to_csv(tmp, index=False)
        else:
            raise CLIError("write the comparison as .csv (table) or .nc (every member)")


@click.command("compare-interventions")
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
@click.option(
    "--posterior", type=click.Path(dir_okay=False), help="Draw members from a calibration's posterior (.nc)."
)
@click.option(
    "--equity-by",
    type=click.Choice(["deprivation", "ethnicity", "age", "sex"]),
    help="Stratified models: the gap measured (default the model's first stratifier).",
)
@click.option(
    "--equity-metric", help="Stratified models: the metric whose gap is measured (default from --outcome)."
)
@click.option("--no-equity", is_flag=True, help="Stratified models: skip the equity columns (half the runs).")
@click.option(
    "--plot-equity", type=click.Path(dir_okay=False), help="Efficiency-equity plane (stratified models)."
)
@click.option("--quiet", "-q", is_flag=True)
@handle_errors
def compare_interventions(
    scenario,
    packages,
    members,
    seed,
    outcome,
    crisis,
    output,
    plot_file,
    plot_time,
    posterior,
    equity_by,
    equity_metric,
    no_equity,
    plot_equity,
    quiet,
) -> None:
    """Compare intervention PACKAGES against the baseline on the same ensemble draws."""
    from simulator.analysis._appraisal import appraise
    from simulator.files._interventions import load_package

    sc = read_scenario(scenario, posterior, quiet)
    if plot_time and not isinstance(sc.model, SurgeModel):
        raise CLIError("--plot-time draws referrals averted over time: it needs a surge model")
    if plot_equity and (
        no_equity or not (getattr(sc.model, "strata", None) or sc.model.spec.meta.get("strata"))
    ):
        raise CLIError("--plot-equity needs a stratified model (and no --no-equity)")
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
    if not no_equity:
        _with_equity(a, sc, pkgs, equity_by, equity_metric, outcome, quiet)
        if a.equity is not None:
            click.echo("\n" + a.format_equity_table())
    if not quiet and a.crisis:
        click.echo("crisis services: " + ", ".join(a.crisis), err=True)
    if output:
        _write_appraisal(a, output)
    from simulator.report._appraisal_plots import plot_averted_over_time, plot_frontier
    from simulator.report._figures import save_figure, use_file_backend

    if plot_file or plot_time or plot_equity:
        use_file_backend()
    if plot_file:
        save_figure(plot_frontier(a, outcome), plot_file)
    if plot_time:
        save_figure(plot_averted_over_time(a), plot_time)
    if plot_equity:
        from simulator.report._equity_plots import plot_equity_plane

        save_figure(plot_equity_plane(a, outcome), plot_equity)
    written = [f for f in (output, plot_file, plot_time, plot_equity) if f]
    if not quiet and written:
        click.echo("wrote " + ", ".join(written), err=True)

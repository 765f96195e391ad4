"""``upstream calibrate``: fit a model to observed data and write its posterior."""

from __future__ import annotations

import click

from simulator._cli._common import CLIError, handle_errors

__all__ = ["calibrate"]


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def _echo_table(cal) -> None:
    tab = cal.table()
    click.echo(f"{'parameter':32} {'prior median (90%)':>30} {'posterior median (90%)':>30} {'shrinkage':>9}")
    for name, r in tab.iterrows():
        prior = f"{_fmt(r.prior_median)} ({_fmt(r.prior_p5)}-{_fmt(r.prior_p95)})"
        post = f"{_fmt(r.posterior_median)} ({_fmt(r.posterior_p5)}-{_fmt(r.posterior_p95)})"
        click.echo(f"{name:32} {prior:>30} {post:>30} {r.shrinkage:>9.2f}")


def _echo_scores(cal) -> None:
    s = cal.scores()
    click.echo("")
    click.echo(
        f"{'target':18} {'period':9} {'model':13} {'observed':>12} {'median':>12} {'90% interval':>27} {'CRPS':>10}"
    )
    for _, r in s.iterrows():
        tag = " (held out)" if r.held_out else ""
        band = f"{_fmt(r.p5)}-{_fmt(r.p95)}{'' if r.in_90 else ' miss'}"
        click.echo(
            f"{r.target:18} {r.period:9} {r.model:13} {_fmt(r.observed):>12} {_fmt(r['median']):>12} "
            f"{band:>27} {_fmt(r.crps):>10}{tag}"
        )


@click.command()
@click.argument("spec")
@click.option(
    "--method", type=click.Choice(["smc", "abc-smc", "optimize"]), help="Method (default: the spec's)."
)
@click.option(
    "--particles", type=click.IntRange(min=10), help="Particles per generation (default: the spec's)."
)
@click.option("--generations", type=click.IntRange(min=1), help="ABC-SMC generations (default: the spec's).")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed (default: the spec's).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the posterior draws (.nc).")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False), help="Draw observed vs predicted here.")
@click.option("--dask", "dask_address", help="Run generations on a dask cluster: an address, or 'local'.")
@click.option("--quiet", "-q", is_flag=True, help="No progress or warnings.")
@handle_errors
def calibrate(spec, method, particles, generations, seed, output, plot_file, dask_address, quiet) -> None:
    """Fit the model of a calibration SPEC to its observed data; print the posterior and held-out scores."""
    from simulator.analysis._calibrate import calibrate as run
    from simulator.core._distributed import DaskUnavailable, dask_client
    from simulator.files._calibration_spec import load_calibration

    if output and not output.lower().endswith((".nc", ".nc4")):
        raise CLIError("the posterior is written as NetCDF: give a .nc file to -o")
    s = load_calibration(spec)
    method = method or s.method

    def progress(row: dict) -> None:
        if not quiet:
            click.echo("  " + ", ".join(f"{k} {_fmt(v)}" for k, v in row.items()), err=True)

    if not quiet:
        click.echo(
            f"{s.name}: {method}, {particles or s.particles:,} particles, seed {s.seed if seed is None else seed}",
            err=True,
        )
        for n in s.notes:
            click.echo(f"note: {n}", err=True)
    try:
        with dask_client(dask_address) as client:
            s.problem.dask_client = client
            cal = run(
                s.problem,
                method,
                particles=particles or s.particles,
                generations=generations or s.generations,
                seed=s.seed if seed is None else seed,
                progress=progress,
            )
    except DaskUnavailable as err:
        raise CLIError(str(err)) from None
    finally:
        s.problem.dask_client = None
    _echo_table(cal)
    _echo_scores(cal)
    if not quiet:
        for w in cal.warnings():
            click.echo(f"warning: {w}", err=True)
    written = []
    if output:
        cal.write(output)
        written.append(output)
    if plot_file:
        from simulator.report._calibration_plots import plot_calibration_fit
        from simulator.report._plots import save_figure

        save_figure(plot_calibration_fit(cal), plot_file)
        written.append(plot_file)
    if written:
        click.echo(f"wrote {', '.join(written)}")

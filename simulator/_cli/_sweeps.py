"""Scenario ensembles: ``sweep`` (one scenario) and ``compare`` (scenarios side by side)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from simulator._cli._common import (
    CLIError,
    assumed_note,
    estimate_printer,
    handle_errors,
    read_scenario,
    resource_options,
)

__all__ = ["check_ensembles", "compare", "ensemble_options", "sweep", "write_summary"]

T = TypeVar("T")


def ensemble_options(fn: Callable) -> Callable:
    """Options shared by commands that run scenario ensembles.

    Parameters
    ----------
    fn
        The function of a command that runs scenario ensembles.

    Returns
    -------
    Callable
        It, taking ``--members``, ``--seed``, ``--sampler``, ``--dask``, ``--posterior``,
        ``--quiet``, ``--verbose`` and ``--max-memory``.
    """
    opts = [
        click.option(
            "--members", type=click.IntRange(min=1), help="Ensemble size (default: the scenario's)."
        ),
        click.option("--seed", type=click.IntRange(min=0), help="Random seed (default: the scenario's)."),
        click.option("--sampler", type=click.Choice(["monte-carlo", "lhs", "sobol"]), help="Sampler."),
        click.option("--dask", "dask_address", help="Run blocks on a dask cluster: an address, or 'local'."),
        click.option(
            "--posterior",
            type=click.Path(dir_okay=False),
            help="Draw members from a calibration's posterior (.nc).",
        ),
        click.option("--quiet", "-q", is_flag=True, help="No progress or warnings."),
    ]
    for o in reversed(opts):
        fn = o(fn)
    return resource_options(fn)


def check_ensembles(scenarios: list, members: int | None, verbose: bool, max_memory: int | None) -> None:
    """Estimate the memory and time of the scenarios' ensembles; refuse them if too large.

    The estimates are printed with ``--verbose``; ensembles run side by side
    (``compare``) are added.  Nothing has been run when this refuses.

    Parameters
    ----------
    scenarios
        The loaded scenarios.
    members
        ``--members`` (``None``: each scenario's own).
    verbose
        Print the estimates on standard error.
    max_memory
        ``--max-memory`` in bytes (``None``: the memory available).

    Raises
    ------
    BudgetError
        With the estimate and how to proceed.
    """
    from simulator.analysis._ensemble_budget import KEEP_LIMIT, ensemble_budget, stream_advice
    from simulator.analysis._ensembles import default_outputs
    from simulator.core._budget import check_budget
    from simulator.core._run_params import model_grid

    ests = []
    printer = estimate_printer(verbose)
    for sc in scenarios:
        n = int(members or sc.members)
        grid, _ = model_grid(sc.model.spec, int(sc.months or sc.model.spec.horizon), sc.dt)
        groups = sc.groups
        est = ensemble_budget(
            sc.model,
            n,
            grid,
            default_outputs(sc.model),
            keep=n <= KEEP_LIMIT,
            varied={g.parameter for g in groups},
            identical=not groups and n > 1,
            what=f"ensemble {sc.name}",
        )
        ests.append(est)
        if printer is not None:
            printer(est)
    check_budget(ests, max_memory, advice=stream_advice(ests))


def _no_sampler(posterior: str | None, sampler: str | None) -> str | None:
    if posterior and sampler:
        raise CLIError("--posterior draws the members from the posterior: leave out --sampler")
    return posterior


def write_summary(result, output: str) -> None:
    """Write an ensemble's quantiles and means as netCDF, Parquet or CSV (by the file suffix).

    Parameters
    ----------
    result
        An :class:`~simulator.analysis._ensembles.EnsembleResult`.
    output
        File to write (``.nc``, ``.parquet`` or ``.csv``).
    """
    from simulator.files._writers import atomic_path, format_from_suffix

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


def _fan_title(result, fan: str) -> str:
    """A fan chart's title that says which view of a capacity model's load it draws ("": the default)."""
    from simulator.report._figures import title_words

    s = result.summary
    bare = fan.removeprefix("surge_")
    if f"surge_{bare}" not in s or bare not in ("starts", "caseload", "contacts"):
        return ""
    name = result.attrs.get("name") or result.attrs.get("model") or ""
    view = "from surge referrals" if fan.startswith("surge_") else "surge and pre-pandemic referrals together"
    return f"{name + ': ' if name else ''}{title_words(bare)}, {view}"


def _on_dask(dask_address: str | None, run: Callable[[Any], T]) -> T:
    """``run(client)`` with a dask client for ``--dask`` (``None`` without); no dask is a CLI error."""
    from simulator.core._distributed import DaskUnavailable, dask_client

    try:
        with dask_client(dask_address) as client:
            return run(client)
    except DaskUnavailable as err:
        raise CLIError(str(err)) from None


def _stratifier(model, by: str | None):
    """A stratified model's stratifier named ``by`` (default its first); ``None`` for other models."""
    from simulator.core._strata_transform import strata_of
    from simulator.surge._strata_summary import choose

    strata = strata_of(model)
    return choose(strata, by) if strata or by is not None else None


def _stratum_outputs(model, st) -> tuple:
    """The outputs by stratum of a sweep of a stratified model (referrals and starts)."""
    from simulator.analysis._ensemble_strata import stratum_outputs

    out = stratum_outputs(model, st)
    if not out:
        raise CLIError(f"{model.name} gives no referrals or starts by {st.name}")
    return out


def _by_stratum(result, by_stratum, st) -> None:
    """Add the figures by stratum and their gap to the ensemble's summary (and members), and print them."""
    import xarray as xr

    from simulator.analysis._ensemble_strata import format_stratum_figures, stratum_figures

    qs = result.quantile_names()
    stats = list(result.summary["stat"].to_numpy())
    extra = xr.merge([by_stratum.summary, stratum_figures(by_stratum.members, st, stats)])
    result.summary = result.summary.merge(extra, compat="override", combine_attrs="override")
    result.summary.attrs["strata"] = st.name  # the stratum dimension of the tidy table
    if result.members is not None:
        kept = [v for v in by_stratum.members.data_vars if str(v).endswith(f"_by_{st.name}")]
        result.members = result.members.merge(by_stratum.members[kept], combine_attrs="override")
    click.echo(
        f"\nBy {st.name} (all services; people over the horizon, and per 100,000 people of the stratum):"
    )
    click.echo(format_stratum_figures(result.summary, st.name, qs[0], qs[-1]))


def _clip_notes(attrs: dict, quiet: bool) -> None:
    for k, v in attrs.items():
        if (k.startswith("clipped") or k.startswith("rescaled")) and not quiet:
            click.echo(
                f"note: {v:,} sampled values {k.split()[0]} ({k.split()[1]}) to its allowed range", err=True
            )


@click.command()
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
    "surge_starts, surge_caseload, surge_contacts (the surge's part; starts, caseload and contacts "
    "then count pre-pandemic referrals too), waiting, mean_wait, share_over_18_weeks, escalations, "
    "dropouts, unmet_need, utilisation.",
)
@click.option(
    "--by", "by", help="Stratified models: the stratifier of the table by stratum (default the first)."
)
@handle_errors
def sweep(
    scenario,
    members,
    seed,
    sampler,
    dask_address,
    posterior,
    quiet,
    verbose,
    max_memory,
    output,
    plot_file,
    services,
    fan,
    by,
) -> None:
    """Run a SCENARIO ensemble: median and 90% interval per service (and by stratum, if stratified)."""
    from simulator.analysis._ensembles import scenario_ensemble

    sc = read_scenario(scenario, _no_sampler(posterior, sampler), quiet)
    check_ensembles([sc], members, verbose, max_memory)
    st = _stratifier(sc.model, by)
    result = _on_dask(
        dask_address,
        lambda client: scenario_ensemble(
            sc,
            members=members,
            seed=seed,
            sampler=sampler,
            dask_client=client,
            progress=not quiet,
            max_memory=max_memory,
        ),
    )
    if st is not None:  # the same members again, reduced by stratum (an output reduces a variable one way)
        by_stratum = _on_dask(
            dask_address,
            lambda client: scenario_ensemble(
                sc,
                members=members,
                seed=seed,
                sampler=sampler,
                dask_client=client,
                progress=not quiet,
                max_memory=max_memory,
                outputs=_stratum_outputs(sc.model, st),
                keep_members=True,
                name=f"{sc.name}, by {st.name}",
            ),
        )
    shown = list(services) or sc.services or None
    click.echo(
        f"{sc.name}: {result.attrs['members']:,} members, seed {result.attrs['seed']}, "
        f"{result.attrs['sampler']} sampler, quantiles {result.attrs['quantiles']}"
    )
    click.echo(result.format_table(shown, top=None if shown else 15))
    if st is not None:
        _by_stratum(result, by_stratum, st)
    _clip_notes(result.attrs, quiet)
    assumed_note(result.summary, quiet)
    if output:
        write_summary(result, output)
    if plot_file:
        from simulator.report._ensemble_plots import plot_fan
        from simulator.report._figures import save_figure

        if fan not in result.summary or "time" not in result.summary[fan].dims:
            monthly = [
                k for k, v in result.summary.data_vars.items() if "stat" in v.dims and "time" in v.dims
            ]
            raise CLIError(
                f"--fan {fan!r} is not an output of this run; outputs: {', '.join(map(str, monthly))}"
            )
        save_figure(plot_fan(result, shown, output=fan, title=_fan_title(result, fan)), plot_file)
    if not quiet and (output or plot_file):
        click.echo("wrote " + ", ".join(f for f in (output, plot_file) if f), err=True)


@click.command()
@click.argument("scenarios", nargs=-1, required=True)
@ensemble_options
@click.option(
    "--output-var",
    "var",
    default=None,
    help="Figure compared: referrals_total (default), starts_total, caseload_peak, caseload_peak_month, "
    "contacts_peak (capacity models: those count pre-pandemic referrals too, the surge's part is "
    "surge_starts_total, surge_caseload_peak ...; also waiting_peak, escalations_total ...); for other "
    "models <variable>_total, _peak or _peak_month (default: the first stock's total).",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the comparison table (.csv).")
@click.option(
    "--plot", "plot_file", type=click.Path(dir_okay=False), help="Draw medians and bands per scenario."
)
@click.option("--service", "services", multiple=True, help="Service to show (repeat).")
@handle_errors
def compare(
    scenarios,
    members,
    seed,
    sampler,
    dask_address,
    posterior,
    quiet,
    verbose,
    max_memory,
    var,
    output,
    plot_file,
    services,
) -> None:
    """Put SCENARIOS side by side on the same draws (paired differences from the first)."""
    from simulator.analysis._comparison import compare_scenarios

    loaded = [
        read_scenario(p, _no_sampler(posterior, sampler), quiet or i > 0) for i, p in enumerate(scenarios)
    ]
    check_ensembles(loaded, members, verbose, max_memory)
    cmp = _on_dask(
        dask_address,
        lambda client: compare_scenarios(
            loaded,
            members=members,
            seed=seed,
            sampler=sampler,
            dask_client=client,
            progress=not quiet,
            max_memory=max_memory,
        ),
    )
    shown = list(services) or loaded[0].services or None
    first = cmp.results[0]
    if var is None:
        var = "referrals_total" if first.by_service else f"{loaded[0].model.spec.stocks[0].name}_total"
    if var not in first.summary or "time" in first.summary[var].dims:
        have = [k for k, v in first.summary.data_vars.items() if "stat" in v.dims and "time" not in v.dims]
        raise CLIError(
            f"--output-var {var!r} is not a figure of these runs; figures: {', '.join(map(str, have))}"
        )
    click.echo(cmp.format_table(var, shown, top=None if shown else 15))
    if output:
        from simulator.files._writers import atomic_path

        with atomic_path(output) as tmp:
            cmp.table(var, shown).to_csv(tmp, index=False)
    if plot_file:
        from simulator.report._ensemble_plots import plot_compare
        from simulator.report._figures import save_figure

        save_figure(plot_compare(cmp, shown), plot_file)

"""One definition per figure: ``summary``, ``sweep`` and ``compare`` agree on every figure they share.

A capacity model counts two views of a service's load: the surge's part (``surge_starts``,
``surge_caseload``, ``surge_contacts``) and the whole load, surge and pre-pandemic referrals
together (``starts``, ``caseload``, ``contacts``, as waiting lists and utilisation count
them).  Before issue 12, ``sweep`` reported the whole load as "starts" while ``summary``
reported the surge's part under the same name (IAPT 3.54 million against 492,000).  Here
both commands run the same model with no uncertainty (every member identical), so every
shared figure must be equal, to rounding, whichever command printed it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

from simulator._cli._sweeps import _fan_title
from simulator.analysis._ensembles import run_ensemble
from simulator.analysis._uncertainty import Design
from simulator.cli import main
from simulator.core._run import simulate
from simulator.files._loading import load_model
from simulator.surge._summary import SUMMARY_FIGURES, surge_summary
from simulator.surge._waiting import capacity_summary

SCENARIO = """upstream: scenario
name: {name} as given
model: {name}
months: 36
curves:
  all: Fluctuating Fears
members: 2
seed: 1
sampler: monte-carlo
uncertainty: []
"""
SURGE_COLUMNS = {"referrals", "starts", "peak_caseload", "peak_month", "peak_contacts"}
CAPACITY_ONLY = {"surge_starts", "peak_surge_caseload", "surge_peak_month", "peak_surge_contacts"}
#: capacity table column -> (sweep figure, factor taking the sweep's unit to the table's)
CAPACITY_FIGURES = {
    "peak_waiting": ("waiting_peak", 1.0),
    "unmet_need": ("unmet_need_total", 1.0),
    "escalations_out": ("escalations_total", 1.0),
    "dropouts": ("dropouts_total", 1.0),
    "peak_mean_wait": ("mean_wait_peak", 1.0),
    "peak_share_over_18_weeks": ("share_over_18_weeks_peak", 100.0),
}


def _invoke(args: list[str]) -> str:
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    return r.output


@pytest.fixture(scope="module", params=["england", "england-capacity"])
def runs(request, tmp_path_factory):
    """The model's summary table(s) and its sweep's summary, both written by the CLI."""
    name = request.param
    d = tmp_path_factory.mktemp(name)
    sc = d / "scenario.yaml"
    sc.write_text(SCENARIO.format(name=name), encoding="utf-8")
    _invoke(["summary", name, "--curve", "Fluctuating Fears", "--months", "36", "-o", str(d / "s.csv")])
    _invoke(["sweep", str(sc), "-o", str(d / "sweep.nc"), "--quiet"])
    table = pd.read_csv(d / "s.csv")
    cap = pd.read_csv(d / "s-capacity.csv") if (d / "s-capacity.csv").exists() else None
    with xr.open_dataset(d / "sweep.nc") as ds:
        sweep = ds.load()
    return name, table, cap, sweep, sc, d


def _sweep_figure(sweep: xr.Dataset, figure: str, services) -> np.ndarray:
    da = sweep[figure].sel(service=list(services))
    lo, med, hi = (da.sel(stat=s).to_numpy() for s in ("p5", "p50", "p95"))
    np.testing.assert_array_equal(lo, hi)  # identical members: every quantile is the figure
    return med


def test_summary_and_sweep_agree_on_every_shared_figure(runs):
    name, table, _, sweep, _, _ = runs
    shared = {c for c, f in SUMMARY_FIGURES.items() if c in table.columns and f in sweep}
    expected = SURGE_COLUMNS | (CAPACITY_ONLY if name == "england-capacity" else set())
    assert shared == expected, (name, sorted(shared))
    for col in sorted(shared):
        got = _sweep_figure(sweep, SUMMARY_FIGURES[col], table["service"])
        if col.endswith("peak_month"):
            np.testing.assert_array_equal(got, table[col].to_numpy(), err_msg=col)
        else:
            np.testing.assert_allclose(got, table[col].to_numpy(), rtol=1e-9, atol=1e-6, err_msg=col)


def test_the_two_views_have_different_names_and_different_values(runs):
    name, table, _, sweep, _, _ = runs
    iapt = table.set_index("service").loc["IAPT"]
    if name == "england":
        # a surge model carries only the surge: no second view to confuse it with
        assert not any(str(v).startswith("surge_") for v in sweep.data_vars)
        assert not CAPACITY_ONLY & set(table.columns)
        return
    # the numbers: all IAPT starts (3.54 million) and the surge's part (492,000)
    assert iapt["starts"] == pytest.approx(3_543_536, rel=1e-6)
    assert iapt["surge_starts"] == pytest.approx(492_310, rel=1e-6)
    assert iapt["peak_caseload"] > iapt["peak_surge_caseload"] > 0
    # the whole load is the surge's part plus the pre-pandemic part, service by service
    m = load_model("england-capacity").with_curve("Fluctuating Fears")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = simulate(m, months=36).isel(member=0)
    background = ds["background_start"] + ds["background_arrivals_now"]
    pre = background.sum("time").sel(service=list(table["service"])).to_numpy()
    np.testing.assert_allclose(table["starts"] - table["surge_starts"], pre, rtol=1e-9, atol=1e-6)
    # exports say what each is computed from
    assert sweep["starts_total"].attrs["computed_from"].startswith("starts_from_waiting + starts_at_once")
    assert sweep["surge_starts_total"].attrs["computed_from"].startswith("accepted_now + start")
    assert sweep["caseload_peak"].attrs["computed_from"].startswith("treatment + background_treatment")
    assert sweep["surge_caseload_peak"].attrs["computed_from"].startswith("treatment,")


def test_capacity_table_and_sweep_agree(runs):
    name, _, cap, sweep, _, _ = runs
    if name != "england-capacity":
        assert cap is None
        return
    assert cap is not None
    for col, (figure, factor) in CAPACITY_FIGURES.items():
        got = _sweep_figure(sweep, figure, cap["service"]) * factor
        np.testing.assert_allclose(got, cap[col].to_numpy(), rtol=1e-9, atol=1e-6, err_msg=col)
    np.testing.assert_allclose(
        sweep["capacity"].sel(stat="p50", service=list(cap["service"])).isel(time=0).to_numpy(),
        cap["capacity"].to_numpy(),
        rtol=1e-12,
    )


def test_compare_reports_the_sweep_figures(runs):
    name, _, _, sweep, sc, d = runs
    figures = ["starts_total"] + (["surge_caseload_peak"] if name == "england-capacity" else [])
    for figure in figures:
        out = d / f"compare-{figure}.csv"
        _invoke(["compare", str(sc), str(sc), "--output-var", figure, "-o", str(out), "--quiet"])
        cmp = pd.read_csv(out)
        median = next(c for c in cmp.columns if c.endswith(" median") and " - " not in c)
        np.testing.assert_allclose(
            cmp[median].to_numpy(), _sweep_figure(sweep, figure, cmp["service"]), rtol=1e-12, err_msg=figure
        )


@pytest.mark.parametrize("name", ["england", "england-capacity"])
def test_api_summary_and_ensemble_agree(name):
    m = load_model(name).with_curve("Fluctuating Fears")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = surge_summary(simulate(m, months=24))
        res = run_ensemble(m, Design(m.spec, []), members=3, months=24)
    for col, figure in SUMMARY_FIGURES.items():
        if col not in table.columns:
            assert figure not in res.summary, (col, figure)
            continue
        got = _sweep_figure(res.summary, figure, table["service"])
        np.testing.assert_allclose(got, table[col].to_numpy(), rtol=1e-9, atol=1e-6, err_msg=col)
    # fan charts of a capacity model say which view they draw
    titles = {fan: _fan_title(res, fan) for fan in ("starts", "surge_starts", "referrals")}
    if name == "england":
        assert titles == {"starts": "", "surge_starts": "", "referrals": ""}
    else:
        assert titles["starts"].endswith("Treatment starts, surge and pre-pandemic referrals together")
        assert titles["surge_starts"].endswith("Treatment starts, from surge referrals")
        assert titles["referrals"] == ""
    if name == "england-capacity":
        cap = capacity_summary(simulate(m, months=24))
        got = _sweep_figure(res.summary, "waiting_peak", cap["service"])
        np.testing.assert_allclose(got, cap["peak_waiting"].to_numpy(), rtol=1e-9)

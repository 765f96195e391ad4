"""sweep, compare, curves and sensitivity on the command line."""

from __future__ import annotations

import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

from simulator.cli import main

EVIDENCE = "scenarios/england-evidence.yaml"


def invoke(*args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exit_code == 0, (r.output, r.exception)
    return r


def test_sweep_table_files_and_plot(tmp_path):
    nc, csv, png = tmp_path / "s.nc", tmp_path / "s.csv", tmp_path / "fan.png"
    r = invoke(
        "sweep", EVIDENCE, "--members", 40, "--seed", 3, "-q", "-o", nc, "--plot", png, "--service", "IAPT"
    )
    assert "40 members, seed 3, lhs sampler, quantiles exact" in r.output
    assert "IAPT" in r.output and "[" in r.output
    ds = xr.open_dataset(nc, engine="h5netcdf")
    assert {"referrals", "referrals_total", "caseload_peak_month", "member_referrals"} <= set(ds.data_vars)
    assert list(ds["stat"].to_numpy())[:3] == ["mean", "sd", "p5"]
    invoke("sweep", EVIDENCE, "--members", 40, "--seed", 3, "-q", "-o", csv)
    df = pd.read_csv(csv)
    iapt = df[(df["variable"] == "referrals_total") & (df["service"] == "IAPT") & (df["stat"] == "p50")]
    assert iapt["value"].iloc[0] == pytest.approx(
        float(ds["referrals_total"].sel(service="IAPT", stat="p50"))
    )
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_compare_pairs_members(tmp_path):
    out = tmp_path / "c.csv"
    invoke(
        "compare",
        "scenarios/england-sudden-shock.yaml",
        "scenarios/england-even-ebb.yaml",
        "--members",
        3,
        "-q",
        "-o",
        out,
    )
    df = pd.read_csv(out)
    row = df[df["service"] == "IAPT"].iloc[0]
    a = row["England baseline, Sudden Shock median"]
    b = row["England baseline, Even Ebb median"]
    assert row["England baseline, Even Ebb - England baseline, Sudden Shock median"] == pytest.approx(b - a)


def test_curves_command(tmp_path):
    png = tmp_path / "c.png"
    r = invoke("curves", "england", "-o", png, "-q")
    assert "Sudden Shock" in r.output and "sudden_shock (defaults)" in r.output
    assert png.exists()


def test_sensitivity_command(tmp_path):
    csv, png = tmp_path / "i.csv", tmp_path / "r.png"
    r = invoke(
        "sensitivity",
        EVIDENCE,
        "--method",
        "morris",
        "--n",
        4,
        "--service",
        "IAPT",
        "-q",
        "-o",
        csv,
        "--plot",
        png,
    )
    assert "morris" in r.output and "IAPT: referrals_total (mu_star" in r.output
    df = pd.read_csv(csv)
    assert set(df.columns) == {"method", "output", "service", "month", "factor", "index", "value", "conf"}
    assert df["factor"].nunique() == 30


def test_bad_scenario_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("upstream: scenario\nmodel: england\nsampler: nope\n")
    r = CliRunner().invoke(main, ["sweep", str(bad)])
    assert r.exit_code == 2
    assert "field 'sampler'" in r.output and "Traceback" not in r.output


def test_dask_flag_without_dask_explains_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_dask(name, *a, **k):
        if name.startswith("dask"):
            raise ImportError("no dask here")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    r = CliRunner().invoke(main, ["sweep", EVIDENCE, "--members", "2", "--dask", "local", "-q"])
    assert r.exit_code == 2
    assert "pip install 'upstream[distributed]'" in r.output

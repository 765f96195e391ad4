"""The command line: every output format read back, summary, plot, validate, convert."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner
from conftest import WORKBOOKS

from simulator import load_model, simulate
from simulator.cli import main


@pytest.fixture
def runner():
    return CliRunner()


def invoke(runner, *args):
    r = runner.invoke(main, [str(a) for a in args])
    assert r.exit_code == 0, (r.output, r.exception)
    return r


def test_run_prints_surge_table_for_builtin_england(runner):
    r = invoke(runner, "run", "--quiet")
    assert "England: 36 months from 2020-05" in r.output
    first = r.output.splitlines()[2]
    assert first.split()[0] == "IAPT"


def test_su_csv_matches_simulation(runner, tmp_path):
    out = tmp_path / "cwp.csv"
    invoke(runner, "run", WORKBOOKS / "params_CWP.xlsx", "--dt", "0.5", "-o", out, "--format", "su-csv", "-q")
    df = pd.read_csv(out, keep_default_na=False)
    assert list(df.columns) == ["time", "type", "group", "condition", "treatment", "value"]
    assert set(df["type"]) == {
        "no-mh-needs",
        "at-risk",
        "treatment",
        "new-at-risk",
        "new-referral",
        "new-treatment",
    }
    assert df["time"].tolist()[:1] == [0] and df["time"].max() == 23
    # one row per series per whole month: 1 + 16 + 490 + 16 + 490 + 490 series
    assert len(df) == 24 * (1 + 16 * 2 + 490 * 3)
    nm = df[df["type"] == "no-mh-needs"]
    assert (nm[["group", "condition", "treatment"]] == "").all().all()
    ds = simulate(load_model(WORKBOOKS / "params_CWP.xlsx"), dt=0.5)
    np.testing.assert_allclose(nm["value"].to_numpy(), ds["no_mh_needs"].to_numpy()[0], rtol=1e-15)
    ar = df[(df["type"] == "at-risk") & (df["group"] == "Parents")]["value"].to_numpy()
    np.testing.assert_allclose(ar, ds["at_risk"].sel(group="Parents").to_numpy()[0], rtol=1e-15)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "netcdf", "xlsx"])
def test_every_format_reads_back(runner, tmp_path, fmt):
    suffix = {"csv": ".csv", "parquet": ".parquet", "netcdf": ".nc", "xlsx": ".xlsx"}[fmt]
    out = tmp_path / f"mc{suffix}"
    invoke(runner, "run", "mersey-care", "-o", out, "-q")
    ds = simulate(load_model("mersey-care"))
    if fmt == "netcdf":
        back = xr.open_dataset(out, engine="h5netcdf")
        np.testing.assert_allclose(back["treatment"].to_numpy(), ds["treatment"].to_numpy())
        assert list(back["service"].to_numpy()) == list(ds["service"].to_numpy())
        return
    if fmt == "csv":
        df = pd.read_csv(out, keep_default_na=False)
    elif fmt == "parquet":
        df = pd.read_parquet(out)
    else:
        book = pd.read_excel(out, sheet_name=None)
        assert {"summary", "results", "metadata"} <= set(book)
        df = book["results"].fillna("")
    rows = df[(df["variable"] == "new_referral") & (df["service"] == "IAPT")]
    # only real paths are listed (tidy tables drop the zero non-path combinations)
    n_iapt_paths = int(ds["path"].sel(service="IAPT").sum())
    assert len(rows) == 24 * n_iapt_paths
    total = rows.groupby("time")["value"].sum().to_numpy()
    np.testing.assert_allclose(
        total, ds["new_referral"].sel(service="IAPT").sum(["group", "condition"]).to_numpy()[0]
    )


def test_summary_and_csv(runner, tmp_path):
    out = tmp_path / "s.csv"
    r = invoke(runner, "summary", "england", "--curve", "Sudden Shock", "-o", out, "-q")
    assert "curve: Sudden Shock" in r.output
    df = pd.read_csv(out)
    iapt = df[df["service"] == "IAPT"].iloc[0]
    ds = simulate(load_model("england").with_curve("Sudden Shock"))
    ref = ds["new_referral"].sel(service="IAPT").sum(["group", "condition", "time"])
    assert iapt["referrals"] == pytest.approx(ref.item(), rel=1e-12)
    case = ds["treatment"].sel(service="IAPT").sum(["group", "condition"]).isel(member=0)
    assert iapt["peak_month"] == int(case.argmax())
    under = ds["underlying"].sel(service="IAPT").isel(time=slice(0, 12)).sum()
    assert iapt["surge_pct_underlying"] == pytest.approx((ref / under * 100).item(), rel=1e-12)


def test_plot_writes_png(runner, tmp_path):
    out = tmp_path / "p.png"
    invoke(runner, "plot", "cwp", "-o", out, "--service", "IAPT", "--service", "Community CAMHS", "-q")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_validate_ok(runner):
    r = invoke(runner, "validate", "england", "-q")
    assert "OK: England (surge): 16 groups, 12 conditions, 34 services; 597 stocks" in r.output


def test_convert_round_trip(runner, tmp_path):
    y = tmp_path / "e.yaml"
    x = tmp_path / "e.xlsx"
    invoke(runner, "convert", WORKBOOKS / "params_England.xlsx", "-o", y, "--start", "2020-05", "-q")
    invoke(runner, "convert", y, "-o", x, "-q")
    a = simulate(load_model(WORKBOOKS / "params_England.xlsx"), dt=0.5)
    # YAML keeps every digit; openpyxl writes workbook numbers with 16 significant digits
    b = simulate(load_model(y), dt=0.5)
    np.testing.assert_array_equal(a["treatment"].to_numpy(), b["treatment"].to_numpy())
    c = simulate(load_model(x), dt=0.5)
    np.testing.assert_allclose(a["treatment"].to_numpy(), c["treatment"].to_numpy(), rtol=1e-14)


def test_months_and_method_options(runner, tmp_path):
    out = tmp_path / "r.nc"
    invoke(runner, "run", "cwp", "--months", "30", "--method", "rk4", "--dt", "0.25", "-o", out, "-q")
    back = xr.open_dataset(out, engine="h5netcdf")
    assert back.sizes["time"] == 30 and back.attrs["method"] == "rk4"


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["run", "--curve", "Nope"], "unknown curve 'Nope'"),
        (["run", "--dt", "0"], "dt must be a positive number"),
        (["run", "-o", "x.doc"], "cannot tell the format"),
        (["run", "no-such-file.xlsx"], "does not exist"),
        (["plot", "-o", "x.gif"], "plot writes .png"),
    ],
)
def test_bad_arguments_exit_2(runner, args, text):
    r = runner.invoke(main, args)
    assert r.exit_code == 2
    assert text in r.output


def test_output_file_permissions_follow_umask(runner, tmp_path):
    import os
    import stat

    out = tmp_path / "r.csv"
    old = os.umask(0o022)
    try:
        invoke(runner, "run", "mersey-care", "-o", out, "-q")
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644

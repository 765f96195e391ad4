"""``upstream export`` and ``upstream run FILE.mdl``: outputs, bad input (exit 2, no partial files)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sd_compare import ROOT

from simulator import load_model, simulate
from simulator.cli import main

TEACUP = ROOT / "samples" / "teacup" / "teacup.mdl"


@pytest.fixture
def runner():
    return CliRunner()


def test_export_then_run_the_mdl(runner, tmp_path):
    out = tmp_path / "mc.mdl"
    r = runner.invoke(main, ["export", "mersey-care", "-o", str(out), "--dt", "0.5", "-q"])
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("{UTF-8}") and "TIME STEP  = 0.5" in text and "Sketch information" in text
    csv = tmp_path / "mc.csv"
    r = runner.invoke(main, ["run", str(out), "-o", str(csv), "-q"])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(csv, keep_default_na=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = simulate(load_model("mersey-care"), dt=0.5, record=["at_risk"])
    got = df[df["variable"] == "at_risk"].groupby("time")["value"].sum().to_numpy()
    np.testing.assert_allclose(got, ds["at_risk"].sum("group").isel(member=0).to_numpy(), rtol=1e-12)


def test_run_prints_final_values_of_an_imported_model(runner):
    r = runner.invoke(main, ["run", str(TEACUP)])
    assert r.exit_code == 0, r.output
    assert "teacup: 241 reports from time 0 to 30, dt=0.125, euler" in r.output
    line = next(x for x in r.output.splitlines() if x.startswith("teacup_temperature"))
    assert float(line.split()[1]) == pytest.approx(75.374, abs=1e-3)
    r = runner.invoke(main, ["validate", str(TEACUP)])
    assert r.exit_code == 0 and "OK: teacup (vensim)" in r.output


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["export", "england", "-o", "{tmp}/e.xmile"], "export writes a Vensim .mdl file"),
        (["export", "{tmp}/missing.mdl", "-o", "{tmp}/e.mdl"], "does not exist"),
        (["run", "{tmp}/broken.mdl", "-o", "{tmp}/r.csv"], "PySD could not parse the file"),
        (["run", "{tmp}/unsupported.mdl", "-o", "{tmp}/r.csv"], "variable 'out': DELAY N with a delay time"),
        (["export", "{tmp}/selection.mdl", "-o", "{tmp}/e.mdl"], "cannot write selection as Vensim"),
        (["run", str(TEACUP), "--fallback", "other"], "Invalid value for '--fallback'"),
    ],
)
def test_bad_input_exits_2_without_output(runner, tmp_path, args, text):
    (tmp_path / "broken.mdl").write_text("{UTF-8}\nx = (1 + ~~|\n", encoding="utf-8")
    (tmp_path / "unsupported.mdl").write_text(
        _model("out = DELAY N(1, 2 + STEP(1, 3), 0, 3)"), encoding="utf-8"
    )
    (tmp_path / "selection.mdl").write_text(
        _model("d: a, b ~~|\nv[d] = 1, 2 ~~|\nout = v[b]"), encoding="utf-8"
    )
    r = runner.invoke(main, [a.format(tmp=tmp_path) for a in args])
    assert r.exit_code == 2, r.output
    assert text in r.output
    assert "Traceback" not in r.output
    assert (
        not list(tmp_path.glob("r.csv*"))
        and not list(tmp_path.glob("e.*"))
        and not list(tmp_path.glob(".e*"))
    )


def test_fallback_runs_an_unsupported_model_through_pysd(runner, tmp_path):
    model = tmp_path / "unsupported.mdl"
    model.write_text(_model("out = DELAY N(inp, 2 + STEP(1, 3), 0, 2) ~~|\ninp = Time"), encoding="utf-8")
    out = tmp_path / "r.csv"
    r = runner.invoke(main, ["run", str(model), "--fallback", "pysd", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "warning:" in r.output and "running the model through PySD" in r.output
    df = pd.read_csv(out)
    assert set(df["variable"]) >= {"out", "inp"} and df["time"].max() == 10


def _model(body: str) -> str:
    return (
        "{UTF-8}\n" + body + " ~~|\n"
        "FINAL TIME = 10 ~ Month ~|\nINITIAL TIME = 0 ~ Month ~|\nSAVEPER = 1 ~ Month ~|\n"
        "TIME STEP = 0.5 ~ Month ~|\n"
    )

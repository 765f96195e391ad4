"""Imported Vensim/XMILE models: constants and lookups by name, ensembles, clocks, named errors."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
from sd_compare import ROOT

from simulator import InputError, load_model, simulate
from simulator.core import RunError
from simulator.vensim import UnsupportedModel, import_model

SIR = ROOT / "samples" / "SIR" / "SIR.mdl"
LOOKUPS = ROOT / "tests" / "lookups" / "test_lookups.mdl"
CONTROL = """
********************************************************
	.Control
********************************************************~
	|
FINAL TIME  = 10
	~	Month
	~		|
INITIAL TIME  = 0
	~	Month
	~		|
SAVEPER  = 1
	~	Month
	~		|
TIME STEP  = 0.5
	~	Month
	~		|
"""


def write(tmp_path, body: str, name: str = "m.mdl"):
    path = tmp_path / name
    path.write_text("{UTF-8}\n" + body + CONTROL, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sir():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_model(SIR)


def test_constants_become_parameters_by_pysd_name(sir):
    assert sir.kind == "vensim"
    params = {p.name: p for p in sir.spec.params}
    assert set(params) == {"contact_infectivity", "duration", "total_population"}
    assert params["duration"].values.tolist() == [5.0]
    assert params["duration"].unit == "Days"
    clock = sir.spec.meta["clock"]
    assert (clock["t0"], clock["dt"], clock["every"], clock["final"]) == (0.0, 0.03125, 0.03125, 100.0)
    ds = simulate(sir)
    assert ds.sizes["time"] == 3201 and ds["time"].values[-1] == 100.0 and ds.attrs["dt"] == 0.03125
    # months counts reports at SAVEPER; dt overrides TIME STEP
    short = simulate(sir, months=5, dt=0.015625)
    assert short["time"].values.tolist() == [0.0, 0.03125, 0.0625, 0.09375, 0.125]
    assert short.attrs["dt"] == 0.015625


def test_ensemble_over_imported_constants_equals_single_runs_and_pysd(sir, tmp_path):
    import pysd

    ci = np.array([0.3, 0.25, 0.4, 0.35])
    dur = np.array([5.0, 6.0, 4.0, 5.5])
    ens = simulate(sir, params={"contact_infectivity": ci, "duration": dur}, months=400)
    assert ens.sizes["member"] == 4
    shutil.copy(SIR, tmp_path / "SIR.mdl")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pysd.read_vensim(str(tmp_path / "SIR.mdl"))
    for i in range(4):
        one = simulate(sir, params={"contact_infectivity": ci[i], "duration": dur[i]}, months=400)
        for v in ("infectious", "recovered", "susceptible", "succumbing"):
            np.testing.assert_allclose(ens[v].isel(member=i), one[v].isel(member=0), rtol=1e-12)
        if i < 2:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = ref.run(
                    params={"Contact Infectivity": ci[i], "Duration": dur[i]},
                    return_columns=["Infectious"],
                    final_time=400 * 0.03125 - 0.03125,
                )
            np.testing.assert_allclose(ens["infectious"].isel(member=i), out["Infectious"], rtol=1e-9)
    assert not np.allclose(ens["infectious"].isel(member=0), ens["infectious"].isel(member=2))


def test_lookups_are_parameters_an_ensemble_can_vary():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = import_model(LOOKUPS)
    assert "lookup_function_table" in m.spec.meta["lookups"]
    table = m.spec.param("lookup_function_table")
    y = table.values
    ens = simulate(
        m, params={"lookup_function_table": np.stack([y, 2 * y, y + 1])}, record=["lookup_function_call"]
    )
    base = simulate(m, record=["lookup_function_call"])["lookup_function_call"].isel(member=0)
    call = ens["lookup_function_call"]
    np.testing.assert_allclose(call.isel(member=0), base, rtol=1e-12)
    np.testing.assert_allclose(call.isel(member=1), 2 * base, rtol=1e-12)
    np.testing.assert_allclose(call.isel(member=2), base + 1, rtol=1e-12)
    with pytest.raises(RunError, match="lookup_function_table"):
        simulate(m, params={"lookup_function_table": np.ones(3)})


@pytest.mark.parametrize(
    ("equation", "construct", "variable"),
    [
        ("out = DELAY N(inp, 2 + STEP(1, 3), 0, 3)", "DELAY N with a delay time that changes", "out"),
        ("out = VECTOR SELECT(sel[d!], vals[d!], 0, 0)", "VECTOR SELECT", "out"),
        ("out = RANDOM UNIFORM(0, 1, 7)", "RANDOM UNIFORM", "out"),
        ("out := GET XLS DATA('data.xlsx', 'sheet', 'A', 'B2')", "data variables (:=)", "out"),
        ("out = ALLOCATE AVAILABLE(vals[d!], prio[d!, pprofile!], 10)", "ALLOCATE AVAILABLE", "out"),
        ("out = INVERT MATRIX(m[d, d2], 2)", "INVERT MATRIX", "out"),
    ],
)
def test_unsupported_constructs_are_named_with_their_variable(tmp_path, equation, construct, variable):
    body = (
        "d: a, b ~~|\nd2: c, e ~~|\npprofile: ptype, ppriority ~~|\n"
        "inp = 1 ~~|\nsel[d] = 1, 0 ~~|\nvals[d] = 3, 4 ~~|\nm[d, d2] = 1, 2; 3, 4 ~~|\n"
        "prio[d, pprofile] = 1, 5; 1, 6 ~~|\n" + equation + " ~~|\n"
    )
    path = write(tmp_path, body)
    with pytest.raises(UnsupportedModel) as err:
        import_model(path)
    text = str(err.value)
    assert construct in text and f"variable {variable!r}" in text
    assert "--fallback pysd" in text


def test_macros_are_named(tmp_path):
    body = ":MACRO: DOUBLE(x)\nDOUBLE = 2 * x ~~|\n:END OF MACRO:\nout = DOUBLE(3) ~~|\n"
    with pytest.raises(
        UnsupportedModel, match=r"(?i)variable 'double': macro 'double': MACRO is not supported"
    ):
        import_model(write(tmp_path, body))


def test_bad_files_are_reported_without_a_traceback(tmp_path):
    broken = tmp_path / "broken.mdl"
    broken.write_text("{UTF-8}\nx = (1 + ~~|\n", encoding="utf-8")
    with pytest.raises(InputError, match="PySD could not parse the file"):
        load_model(broken)
    with pytest.raises(InputError, match=r"variable 'y'.*unknown name 'nowhere'"):
        load_model(write(tmp_path, "y = nowhere * 2 ~~|\n"))


def test_smooth_delay_and_initial_build_hidden_stocks(tmp_path):
    body = (
        "inp = STEP(10, 2) ~~|\n"
        "s = SMOOTH3(inp, 2) ~~|\n"
        "d = DELAY1I(inp, 3, 5) ~~|\n"
        "f = DELAY FIXED(inp, lag, 0) ~~|\n"
        "lag = 1.5 ~~|\n"
        "i = INITIAL(s + 1) ~~|\n"
    )
    m = import_model(write(tmp_path, body))
    hidden = [s.name for s in m.spec.stocks]
    assert sum(n.startswith("s__smooth") for n in hidden) == 3
    assert sum(n.startswith("f__delayfixed") for n in hidden) == 3  # 1.5 months / 0.5 per step
    assert m.spec.meta["structural"] == ("lag",)
    ds = simulate(m, record=["inp", "f", "d", "i"])
    inp = ds["inp"].isel(member=0).to_numpy()
    f = ds["f"].isel(member=0).to_numpy()
    # DELAY FIXED is an exact shift by 1.5 months (three steps): reported monthly, f(t) = inp(t - 1.5)
    assert f[:4].tolist() == [0, 0, 0, 0] and f[4:].tolist() == [10.0] * 7
    assert inp[2] == 10.0
    assert ds["d"].isel(member=0).values[0] == 5.0 and ds["i"].isel(member=0).values[-1] == 1.0

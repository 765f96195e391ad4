"""The compiled step kernel against the numpy reference kernel (issue 16).

Every model kind runs on both backends and the results agree to 1e-12 of each
variable's scale: the built-in surge models at several steps and both methods,
the capacity model, network YAML, every supported SDXorg test model; RK4 keeps
its fourth order on the compiled kernel; results do not depend on chunking or
workers; a construct the kernel cannot run falls back to numpy and says so; a
stock going negative stops the run with numpy's message; the compiled code is
kept on disk and reused by a second process.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sd_compare import ROOT as SD_ROOT

from simulator import ModelSpec, load_model, simulate
from simulator.core import make_record, prepare_params, run_arrays, time_grid
from simulator.core._jit_backend import BackendError, use_backend
from simulator.core._kernel import backend_note, fallback_reason
from simulator.core._nodes import Apply
from simulator.core._run_params import RunError

REPO = Path(__file__).resolve().parents[1]
RTOL = 1e-12


def assert_agree(a, b, rtol: float = RTOL) -> None:
    """Every variable of two runs equal to ``rtol`` of the variable's largest magnitude."""
    assert set(a.data_vars) == set(b.data_vars)
    for name in b.data_vars:
        x, y = np.asarray(a[name], dtype=float), np.asarray(b[name], dtype=float)
        assert np.array_equal(np.isnan(x), np.isnan(y)), name  # reported data may have gaps
        x, y = x[~np.isnan(y)], y[~np.isnan(y)]
        scale = max(float(np.max(np.abs(y), initial=0.0)), 1e-300)
        err = float(np.max(np.abs(x - y), initial=0.0))
        assert err <= rtol * scale, (name, err / scale)


def both(model, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return (simulate(model, backend="compiled", **kw), simulate(model, backend="numpy", **kw))


def quiet_load(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_model(name)


@pytest.mark.parametrize(
    ("name", "dt", "method"),
    [
        ("england", 1.0, "euler"),
        ("england", 0.2, "euler"),
        ("england", 0.5, "rk4"),
        ("cwp", 0.25, "euler"),
        ("mersey-care", 1.0, "rk4"),
        ("england-imd", 0.5, "euler"),
    ],
)
def test_surge_models_agree(name, dt, method):
    model = quiet_load(name)
    assert fallback_reason(model.compiled, method) is None
    assert_agree(*both(model, dt=dt, method=method, record="all"))


@pytest.mark.parametrize("dt", [0.25])
def test_capacity_model_agrees(dt):
    model = quiet_load(str(REPO / "models" / "england-capacity.yaml"))
    assert fallback_reason(model.compiled) is None
    assert_agree(*both(model, dt=dt, record="all"))


@pytest.mark.parametrize(
    "path",
    [REPO / "tests" / "data" / "constant_inflow.yaml", REPO / "models" / "examples" / "waiting-list.yaml"],
)
@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_network_models_agree(path, method):
    model = quiet_load(str(path))
    assert fallback_reason(model.compiled, method) is None
    assert_agree(*both(model, method=method, record="all"))


@pytest.mark.slow
def test_every_supported_sdxorg_model_agrees():
    from simulator.vensim import import_model

    cases = [ln.strip() for ln in (SD_ROOT / "supported.txt").read_text().splitlines() if ln.strip()]
    compiled = 0
    for case in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = import_model(SD_ROOT / case)
        if getattr(model, "kind", None) == "pysd":
            continue
        record = list(model.spec.meta["record"])
        compiled += fallback_reason(model.compiled) is None
        try:
            assert_agree(*both(model, record=record))
        except AssertionError as err:
            raise AssertionError(f"{case}: {err}") from None
    # nearly every imported model runs on the compiled kernel (the rest fall back to numpy)
    assert compiled >= 0.95 * len(cases), compiled


def jittered(model, members: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    out = {}
    for name in ("success", "decay"):
        v = model.spec.param(name).values
        out[name] = np.clip(v * rng.uniform(0.8, 1.2, (members, v.size)), 0.0, 1.0)
    return out


def test_ensemble_results_do_not_depend_on_chunks_workers_or_backend():
    model = quiet_load("england")
    cm = model.compiled
    grid, _ = time_grid(24, 0.5)
    arrays, members = prepare_params(cm, jittered(model, 300))
    items, _ = make_record(cm, {"treatment": ["service"], "new_referral": None})
    runs = [
        run_arrays(cm, arrays, members, grid, items, chunk_size=c, workers=w, backend="compiled")
        for c, w in ((300, 1), (37, 1), (64, 2))
    ]
    for other in runs[1:]:
        for k in runs[0]:
            assert np.array_equal(runs[0][k], other[k]), k
    ref = run_arrays(cm, arrays, members, grid, items, backend="numpy")
    for k in ref:
        assert np.max(np.abs(runs[0][k] - ref[k])) <= RTOL * np.max(np.abs(ref[k]))


def ramp_spec() -> ModelSpec:
    """dx/dt = s(t) - k x with a piecewise-linear series s (as in test_analytic)."""
    times = np.arange(0, 13, 1.0)
    return ModelSpec.build(
        "ramp",
        stocks=[{"name": "x", "initial": 10.0}],
        params=[{"name": "k", "values": 0.4, "source": "test"}],
        series=[{"name": "s", "times": times, "values": 100 + 50 * np.sin(times / 2.0), "source": "test"}],
        flows=[
            {"name": "in", "kind": "inflow", "target": "x", "rate": "s"},
            {"name": "out", "kind": "outflow", "source": "x", "rate": "k"},
        ],
        horizon=13,
    )


@pytest.mark.parametrize(
    ("method", "order", "dts"), [("euler", 1, [0.5, 0.25, 0.125]), ("rk4", 4, [1.0, 0.5, 0.25])]
)
def test_order_of_accuracy_on_the_compiled_kernel(method, order, dts):
    from scipy.integrate import solve_ivp

    times = np.arange(0, 13, 1.0)
    vals = 100 + 50 * np.sin(times / 2.0)
    sol = solve_ivp(
        lambda t, x: np.interp(t, times, vals) - 0.4 * x,
        (0, 12.0),
        [10.0],
        rtol=1e-12,
        atol=1e-12,
        method="DOP853",
        max_step=0.01,
    )
    exact = float(sol.y[0, -1])
    errs = []
    for dt in dts:
        fast, ref = both(ramp_spec(), dt=dt, method=method)
        assert_agree(fast, ref)
        errs.append(abs(float(fast["x"].isel(member=0, time=-1)) - exact))
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(np.abs(rates - order) < 0.25), (errs, rates)


def test_time_varying_parameters_agree():
    """Parameters changing during the run (an intervention's ramp) read per piecewise-constant segment."""
    model = quiet_load("england")
    cm = model.compiled
    grid, _ = time_grid(36, 0.5)
    arrays, members = prepare_params(cm, jittered(model, 50))
    items, _ = make_record(cm, {"treatment": ["service"], "new_treatment": ["service"]})
    base = arrays["success"]

    def at(sub, t):
        f = min(max((t - 6.0) / 12.0, 0.0), 1.0)  # a 12-month ramp from month 6
        return sub if f == 0 else {**sub, "success": np.clip(sub["success"] * (1 + 0.3 * f), 0, 1)}

    kw = {"varying": frozenset({"success"}), "param_at": at, "chunk_size": 20}
    for method in ("euler", "rk4"):
        fast = run_arrays(cm, arrays, members, grid, items, method=method, backend="compiled", **kw)
        ref = run_arrays(cm, arrays, members, grid, items, method=method, backend="numpy", **kw)
        for k in ref:
            assert np.max(np.abs(fast[k] - ref[k])) <= RTOL * np.max(np.abs(ref[k])), (method, k)
    assert base is arrays["success"]


def test_a_construct_without_an_op_falls_back_to_numpy_and_says_so():
    from simulator.core import compile_spec

    spec = ramp_spec()
    cm = compile_spec(spec)
    out = cm.transfers[0]
    # a function the kernel has no op for (a user-defined numpy function)
    out.coef = Apply(lambda v: np.asarray(v) * 1.0, [out.coef], out.coef.space, time=True)
    assert "the function '<lambda>'" in (fallback_reason(cm) or "")
    assert backend_note(cm, "euler", "compiled").startswith("numpy (the compiled kernel cannot run")
    assert backend_note(cm, "euler", "numpy") == "numpy"
    notes = []
    fast = simulate(cm, backend="compiled", on_estimate=lambda e: notes.append(e.describe()))
    assert_agree(fast, simulate(cm, backend="numpy"), rtol=0.0)
    assert "backend numpy (the compiled kernel cannot run the function '<lambda>')" in notes[0]


def test_the_estimate_names_the_backend():
    notes = []
    simulate(ramp_spec(), on_estimate=lambda e: notes.append(e.describe()))
    assert notes[0].endswith("; backend compiled")


def test_a_negative_stock_stops_the_run_with_numpys_message():
    spec = ModelSpec.build(
        "overdrawn",
        stocks=[{"name": "x", "initial": 100.0}],
        params=[{"name": "k", "values": 3.0, "source": "test"}],
        flows=[{"name": "out", "kind": "outflow", "source": "x", "rate": "k"}],
        horizon=4,
    )
    messages = []
    for backend in ("compiled", "numpy"):
        with pytest.raises(RunError) as err:
            simulate(spec, backend=backend)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert "goes negative" in messages[0]


def test_backend_switches():
    spec = ramp_spec()
    with use_backend("numpy"):
        ref = simulate(spec)
    assert_agree(simulate(spec), ref)
    with pytest.raises(RunError, match="backend must be one of compiled, numpy"):
        simulate(spec, backend="gpu")
    with pytest.raises(BackendError):
        with use_backend("fortran"):
            pass


def test_a_second_process_reuses_the_compiled_kernel_from_disk():
    code = (
        "import warnings; warnings.simplefilter('ignore')\n"
        "from simulator import load_model, simulate\n"
        "from simulator.core._jit_kernel import run_block\n"
        "simulate(load_model('england'), backend='compiled')\n"
        "print(sum(run_block.stats.cache_hits.values()), sum(run_block.stats.cache_misses.values()))\n"
    )
    simulate(ramp_spec(), backend="compiled")  # compiled (and saved) here if not yet on disk
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    hits, misses = (int(v) for v in done.stdout.split()[-2:])
    assert hits >= 1 and misses == 0, done.stdout


def test_the_command_line_chooses_the_backend_and_says_which():
    from click.testing import CliRunner

    from simulator.cli import main
    from simulator.core._jit_backend import default_backend

    for backend in ("numpy", "compiled"):
        r = CliRunner().invoke(
            main, ["run", "england", "--months", "6", "-q", "--verbose", "--backend", backend]
        )
        assert r.exit_code == 0, r.output
        assert f"; backend {backend}\n" in r.output
    assert default_backend() == "compiled"  # the option does not outlive the command
    r = CliRunner().invoke(main, ["run", "england", "--backend", "gpu"])
    assert r.exit_code == 2 and "'gpu' is not one of 'compiled', 'numpy'" in r.output


# ---- streamed ensembles: the sketch and the moments in one compiled pass (item 3) ----


def sketch_values(rng) -> np.ndarray:
    """Rows of positive, zero, negative, tiny and huge values (series x members)."""
    x = np.exp(rng.normal(3.0, 2.5, size=(40, 997)))
    x[:4, :30] *= -1.0
    x[5, :7] = 0.0
    x[6, :5] = 1e-9
    x[7, :4] = 1e15
    return x


def test_the_compiled_sketch_counts_exactly_what_numpy_counts():
    from simulator.analysis import _sketches
    from simulator.analysis._sketches import LogHistogram

    x = sketch_values(np.random.default_rng(3))
    fast, fm, fv = LogHistogram(40), np.empty(40), np.empty(40)
    fast.tally(x, 0, fm, fv)
    saved = _sketches.compiled_available
    _sketches.compiled_available = lambda: False
    try:
        slow, sm, sv = LogHistogram(40), np.empty(40), np.empty(40)
        slow.tally(x, 0, sm, sv)
        slow.count = fast.count = x.shape[1]
        qs = np.array([0.0, 0.01, 0.3, 0.5, 0.99, 1.0])
        slow_q = slow.quantiles(qs)
    finally:
        _sketches.compiled_available = saved
    for name in ("pos", "neg", "zero", "lo", "hi"):
        assert np.array_equal(getattr(fast, name), getattr(slow, name)), name
    assert np.array_equal(fast.quantiles(qs), slow_q)
    np.testing.assert_allclose(fm, x.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(fv, np.square(x - x.mean(axis=1)[:, None]).sum(axis=1), rtol=1e-11)
    # the bins are the sketch's definition, ceil(log v / log gamma), found without a logarithm
    v = np.abs(x[np.abs(x) > fast.tiny])
    k = np.clip(np.ceil(np.log(v) / fast.log_gamma), fast.k_min, fast.k_max) - fast.k_min
    assert np.array_equal(fast._bins(v), k.astype(np.int64))


def test_sketch_quantiles_within_the_stated_accuracy_and_merges_exact():
    from simulator.analysis._sketches import LogHistogram

    x = sketch_values(np.random.default_rng(4))
    whole = LogHistogram(40)
    whole.add(x.T)
    halves = [LogHistogram(40), LogHistogram(40)]
    halves[0].add(x[:, :500].T)
    halves[1].add(x[:, 500:].T)
    halves[0].merge(halves[1])
    for name in ("pos", "neg", "zero", "lo", "hi", "count"):
        assert np.array_equal(getattr(whole, name), getattr(halves[0], name)), name
    qs = np.array([0.0, 0.05, 0.5, 0.95, 1.0])
    exact = np.quantile(x, qs, axis=1, method="lower")
    got = whole.quantiles(qs)
    small = np.abs(exact) <= whole.tiny
    assert np.all(got[small] == 0.0)
    clamped = np.abs(exact) > whole.upper[-1]
    ok = ~small & ~clamped
    assert np.all(np.abs(got[ok] - exact[ok]) <= whole.accuracy * np.abs(exact[ok]) * (1 + 1e-9))


def test_streamed_ensembles_do_not_depend_on_chunks_or_workers_and_match_kept():
    from simulator.analysis import Design, UncertaintyGroup, distribution_from_dict, run_ensemble

    model = quiet_load("england")
    D = distribution_from_dict
    groups = [
        UncertaintyGroup("success", "success", D({"type": "pert", "low": 0.8, "mode": 1, "high": 1.2})),
        UncertaintyGroup("decay", "decay", D({"type": "uniform", "low": 0.8, "high": 1.2})),
    ]
    design = Design(model.spec, groups)
    kw = dict(members=700, seed=2, dt=1.0, months=24)
    runs = [
        run_ensemble(model, design, keep_members=False, block_size=256, chunk_size=c, workers=w, **kw)
        for c, w in ((256, 1), (40, 2), (97, 2))
    ]
    kept = run_ensemble(model, design, keep_members=True, **kw)
    for v in runs[0].summary.data_vars:
        a = runs[0].summary[v].to_numpy()
        for other in runs[1:]:
            assert np.array_equal(a, other.summary[v].to_numpy()), v
        exact = kept.summary[v].to_numpy()
        # means and sds from exact sums; quantiles within the sketch's 0.5% relative accuracy
        np.testing.assert_allclose(a[:2], exact[:2], rtol=1e-9, atol=1e-9)
        big = np.abs(exact[2:]) > 1e-3
        # (kept quantiles interpolate between members: 0.5% plus the gap between neighbours)
        assert np.all(np.abs(a[2:][big] - exact[2:][big]) <= 0.011 * np.abs(exact[2:][big])), v


def test_streamed_blocks_reuse_one_storage_and_give_the_same_sums():
    """A streamed ensemble's blocks of one size share one storage (its pages touched once), and a
    block reduced in reused storage gives exactly what it gives in fresh storage."""
    from simulator.analysis import Design, UncertaintyGroup, distribution_from_dict
    from simulator.analysis._ensemble_blocks import run_block
    from simulator.analysis._ensembles import default_outputs
    from simulator.analysis._sampling import Sampler

    model = quiet_load("england")
    uniform = distribution_from_dict({"type": "uniform", "low": 0.8, "high": 1.2})
    design = Design(model.spec, [UncertaintyGroup("decay", "decay", uniform)])
    smp = Sampler("monte-carlo", 3, tuple(design.columns), 150)
    kw = dict(months=12, dt=1.0, method="euler", outputs=tuple(default_outputs(model)), keep=False, workers=1)
    scratch: dict = {}
    first = run_block(model, design, smp, None, 0, 64, scratch=scratch, **kw)
    ((store, _),) = scratch.values()
    second = run_block(model, design, smp, None, 64, 128, scratch=scratch, **kw)
    ((again, _),) = scratch.values()
    assert all(again[k] is store[k] for k in store)  # the same arrays, not new ones
    fresh = run_block(model, design, smp, None, 64, 128, **kw)
    assert first.means.keys() == second.means.keys() == fresh.means.keys()
    for k in fresh.means:
        assert np.array_equal(second.means[k], fresh.means[k]), k
        assert np.array_equal(second.m2[k], fresh.m2[k]), k
    assert not all(np.array_equal(first.means[k], second.means[k]) for k in fresh.means)
    # forked workers writing chunks of the reused storage give the same sums
    forked = run_block(
        model, design, smp, None, 64, 128, scratch=scratch, **{**kw, "workers": 2}, chunk_size=16
    )
    assert all(scratch[next(iter(scratch))][0][k] is store[k] for k in store)
    for k in fresh.means:
        assert np.array_equal(forked.means[k], fresh.means[k]), k
        assert np.array_equal(forked.m2[k], fresh.m2[k]), k
    odd = run_block(model, design, smp, None, 128, 150, scratch=scratch, **kw)  # another size
    ((other, _),) = scratch.values()
    assert len(scratch) == 1 and all(other[k] is not store[k] for k in store) and odd.sketch.count == 22


def test_chunk_scalars_month_by_month_equal_numpys_with_ties():
    from simulator.analysis._ensemble_blocks import _scalars
    from simulator.analysis._ensemble_stats import chunk_scalars

    rng = np.random.default_rng(0)
    times = np.arange(1.0, 37.0)
    # members last in memory, as an ensemble stores them; small integers make ties in the peak
    v = np.moveaxis(
        np.ascontiguousarray(np.moveaxis(rng.integers(0, 5, (300, 36, 34)).astype(float), 0, -1)), -1, 0
    )
    got, ref = _scalars("x", v, times), chunk_scalars("x", v, times)
    assert set(got) == set(ref)
    for k in ref:
        assert got[k].dtype == ref[k].dtype and np.array_equal(got[k], ref[k]), k


def test_a_recorded_selection_computes_only_its_elements_and_agrees():
    """A calibration target's record (one service's referrals summed as the run goes) is computed
    from the selected elements only on the compiled kernel, and equals both the numpy kernel and
    the full record summed afterwards."""
    from types import SimpleNamespace

    from simulator.analysis._targets import selection_items
    from simulator.core._jit_run import program_for

    cm = load_model("england").compiled
    target = SimpleNamespace(
        name="iapt", variables=("new_referral",), select={"service": ("IAPT",)},
        denominator=(), denominator_select=None,
    )  # fmt: skip
    items, names = selection_items(cm, [target])
    assert names == {("iapt", ""): ["iapt:new_referral"]}
    grid, _ = time_grid(24, 1.0)
    g = cm.defaults["g2c_pcnt"] * np.linspace(0.8, 1.2, 40)[:, None]
    arrays, n = prepare_params(cm, {"g2c_pcnt": g})
    got = {
        b: run_arrays(cm, arrays, n, grid, items, workers=1, backend=b)["iapt:new_referral"]
        for b in ("compiled", "numpy")
    }
    full, spaces = make_record(cm, {"new_referral": ["service"]})
    ref = run_arrays(cm, arrays, n, grid, full, workers=1, backend="numpy")["new_referral"]
    iapt = [i for i, c in enumerate(spaces["new_referral"].coords) if c == ("IAPT",)]
    scale = float(np.max(np.abs(got["numpy"])))
    assert np.max(np.abs(got["compiled"] - got["numpy"])) <= RTOL * scale
    assert np.max(np.abs(got["numpy"][:, :, 0] - ref[:, :, iapt].sum(axis=2))) <= RTOL * scale
    prog = program_for(cm, items, frozenset(), frozenset({"g2c_pcnt"}), "euler")
    n_flow = len(cm.flow_spaces["new_referral"])
    import simulator.core._jit_ops as J

    # the flow's values at report steps: IAPT's paths only, not all of them
    recorded = [int(op[4]) for op in prog.ops if op[0] == J.MULGATHER and op[1] & 2]
    assert recorded and max(recorded) < n_flow / 4, (recorded, n_flow)

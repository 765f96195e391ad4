"""The integrator's stepper objects: which one runs, ``init``/``step`` by hand, and their agreement."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from simulator import ModelSpec, compile_spec
from simulator.core import integrate, make_record, prepare_params, time_grid
from simulator.core._kernel import choose_stepper
from simulator.core._kernel_blocks import Inflows, Sink
from simulator.core._kernel_chunk import Chunk
from simulator.core._kernel_euler import EulerGeneric, EulerMatrix
from simulator.core._kernel_fused import FUSE_FAMILIES, EulerFused
from simulator.core._kernel_record import Recorder
from simulator.core._kernel_rk4 import RK4


def chain(n: int) -> ModelSpec:
    """``s0 -> s1 -> ... -> s{n-1} -> done`` fed by an inflow: ``n`` transfer families."""
    names = [f"s{i}" for i in range(n)] + ["done"]
    stocks = [{"name": s, "initial": 10.0 * (i + 1) if s != "done" else 0.0} for i, s in enumerate(names)]
    params = [{"name": "arrivals", "values": 3.0, "source": "t"}]
    params += [{"name": f"k{i}", "values": 0.1 + 0.02 * i, "source": "t"} for i in range(n)]
    flows = [{"name": "in", "kind": "inflow", "target": "s0", "rate": "arrivals"}]
    for i, (a, b) in enumerate(pairwise(names)):
        flows.append({"name": f"o{i}", "kind": "outflow", "source": a, "target": b, "rate": f"k{i}"})
    return ModelSpec.build("chain", stocks=stocks, params=params, flows=flows, horizon=13)


def members(cm, m: int):
    """Parameters with a member axis of ``m`` identical rows (forces the per-member steppers)."""
    base, _ = prepare_params(cm)
    return {k: np.repeat(v, m, axis=0) for k, v in base.items()}


def run(stepper, cm, params, m: int, dt: float = 0.5, use_sink: bool = True):
    """The kernel's loop, written out with a given stepper: ``init`` once, ``step`` per ``dt``."""
    grid, _ = time_grid(cm.spec.horizon, dt)
    items, _ = make_record(cm, "all")
    chunk = Chunk(cm, params, m, grid.t0, dt, frozenset(), None)
    if use_sink and stepper.recovers_sink and cm.sink is not None:
        chunk.sink = Sink(cm.slices[cm.sink].start, chunk.x)
    state = stepper.init(chunk)
    recorder = Recorder(chunk, items, len(grid.report_steps), None)
    reports = set(grid.report_steps)
    for k in range(grid.n_steps + 1):
        if k in reports:
            recorder.capture(sorted(reports).index(k), grid.t0 + k * dt)
        if k < grid.n_steps:
            stepper.step(state, chunk.x, grid.t0 + k * dt)
    return {r.name: recorder.out[r.name] for r in items if not r.hidden}


def test_the_documented_stepper_is_chosen():
    few, many = compile_spec(chain(3)), compile_spec(chain(FUSE_FAMILIES + 2))
    assert len(few.transfers) <= FUSE_FAMILIES < len(many.transfers)

    def chosen(cm, m, method="euler", allow_matrix=True):
        p = prepare_params(cm)[0] if m == 1 else members(cm, m)
        return choose_stepper(Chunk(cm, p, m, 0.0, 0.5, frozenset(), None), method, allow_matrix)

    assert isinstance(chosen(few, 1), EulerMatrix)
    assert isinstance(chosen(many, 1), EulerMatrix)
    assert isinstance(chosen(few, 1, allow_matrix=False), EulerGeneric)
    assert isinstance(chosen(few, 2), EulerGeneric)
    assert isinstance(chosen(many, 2), EulerFused)
    rk = chosen(few, 1, "rk4")
    assert isinstance(rk, RK4) and rk.matrix
    rk = chosen(many, 2, "rk4")
    assert isinstance(rk, RK4) and not rk.matrix


def test_one_generic_euler_step_by_hand():
    spec = ModelSpec.build(
        "decay",
        stocks=[{"name": "x", "initial": 100.0}],
        params=[
            {"name": "k", "values": 0.1, "source": "t"},
            {"name": "a", "values": 5.0, "source": "t"},
        ],
        flows=[
            {"name": "in", "kind": "inflow", "target": "x", "rate": "a"},
            {"name": "out", "kind": "outflow", "source": "x", "rate": "k"},
        ],
        horizon=2,
    )
    cm = compile_spec(spec)
    params = members(cm, 3)
    chunk = Chunk(cm, params, 3, 0.0, 0.5, frozenset(), None)
    stepper = EulerGeneric()
    state = stepper.init(chunk)
    stepper.step(state, chunk.x, 0.0)
    np.testing.assert_array_equal(chunk.x[:, 0], 100.0 * (1.0 - 0.5 * 0.1) + 5.0 * 0.5)
    stepper.step(state, chunk.x, 0.5)
    x1 = 100.0 * (1.0 - 0.5 * 0.1) + 5.0 * 0.5
    np.testing.assert_array_equal(chunk.x[:, 0], x1 * (1.0 - 0.5 * 0.1) + 5.0 * 0.5)


@pytest.mark.parametrize("n", [3, FUSE_FAMILIES + 2])
def test_euler_steppers_agree(n):
    cm = compile_spec(chain(n))
    p1, _ = prepare_params(cm)
    ref = run(EulerMatrix(), cm, p1, 1)
    for stepper in (EulerGeneric(), EulerFused()):
        for sink in (True, False):
            got = run(stepper, cm, members(cm, 2), 2, use_sink=sink)
            for k in ref:
                np.testing.assert_allclose(got[k][1], ref[k][0], rtol=1e-11, atol=1e-8, err_msg=k)


def test_rk4_derivatives_agree():
    cm = compile_spec(chain(4))
    p1, _ = prepare_params(cm)
    a = run(RK4(matrix=True), cm, p1, 1)
    b = run(RK4(matrix=False), cm, members(cm, 2), 2)
    for k in a:
        np.testing.assert_allclose(b[k][1], a[k][0], rtol=1e-11, atol=1e-8, err_msg=k)


def test_the_loop_written_out_equals_integrate():
    """``integrate`` is the chosen stepper's ``init`` and ``step`` plus the recording step, exactly."""
    cm = compile_spec(chain(FUSE_FAMILIES + 2))
    params = members(cm, 3)
    grid, _ = time_grid(cm.spec.horizon, 0.5)
    items, _ = make_record(cm, "all")
    kw = dict(members=3, t0=grid.t0, dt=0.5, n_steps=grid.n_steps, report_steps=grid.report_steps)
    for stepper, method in ((EulerFused(), "euler"), (RK4(matrix=False), "rk4")):
        got = integrate(cm, params, record=items, method=method, **kw)
        mine = run(stepper, cm, params, 3)
        for k in got:
            np.testing.assert_array_equal(got[k], mine[k], err_msg=k)


def test_the_inflow_loop_counts_into_the_sink_and_skips_it_when_asked():
    # an inflow family of two elements, both into the one-element sink, beside one into s0
    spec = ModelSpec.build(
        "split",
        dims={"g": ["a", "b"]},
        stocks=[{"name": "s0", "initial": 10.0}, {"name": "done", "initial": 0.0}],
        params=[
            {"name": "arrivals", "values": 3.0, "source": "t"},
            {"name": "k", "values": 0.1, "source": "t"},
            {"name": "split", "dims": ["g"], "values": [1.0, 2.0], "source": "t"},
        ],
        flows=[
            {"name": "in", "kind": "inflow", "target": "s0", "rate": "arrivals"},
            {"name": "direct", "kind": "inflow", "target": "done", "rate": "split", "dims": ["g"]},
            {"name": "out", "kind": "outflow", "source": "s0", "target": "done", "rate": "k"},
        ],
        horizon=3,
    )
    cm = compile_spec(spec)
    assert cm.sink == "done"
    params, _ = prepare_params(cm)
    chunk = Chunk(cm, params, 1, 0.0, 0.5, frozenset(), None)
    for skip in (False, True):
        sink = Sink(cm.slices["done"].start, chunk.x)
        pending: list = []
        Inflows(cm, sink=sink, skip_sink=skip).terms(chunk.context(0.0, chunk.x), 0.5, pending)
        np.testing.assert_array_equal(sink.cum_in, [(3.0 + 1.0 + 2.0) * 0.5])  # every inflow, x dt
        assert len(pending) == (1 if skip else 2)


def test_a_step_reuses_the_recording_context_at_the_same_time_only():
    cm = compile_spec(chain(3))
    params = members(cm, 2)
    chunk = Chunk(cm, params, 2, 0.0, 0.5, frozenset(), None)
    items, _ = make_record(cm, "all")
    recorder = Recorder(chunk, items, 2, None)
    recorder.capture(0, 0.0)
    ctx = chunk.reported
    assert ctx is not None and ctx.flow is not None
    assert chunk.step_context(chunk.x, 0.0)[1] is ctx
    assert chunk.reported is None  # taken once
    recorder.capture(1, 0.0)
    assert chunk.step_context(chunk.x, 0.5)[1] is not chunk.reported

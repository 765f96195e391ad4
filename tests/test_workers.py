"""Chunks run serially, on threads or on forked processes give bit-identical results."""

from __future__ import annotations

import numpy as np
import pytest

import simulator as up
from simulator._workers import can_fork, is_shared, shared_empty
from simulator.run import make_record, prepare_params, run_arrays, time_grid


def test_shared_arrays_are_recognised_through_views():
    a = shared_empty((4, 5, 6))
    assert is_shared(a) and is_shared(a[1:3, :, ::2]) and is_shared(a.T)
    assert not is_shared(np.empty((4, 5)))


@pytest.mark.skipif(not can_fork(), reason="this platform cannot fork")
def test_forked_threaded_and_serial_runs_are_identical(monkeypatch):
    m = up.load_model("england-capacity")
    cm = m.compiled
    grid, _ = time_grid(36, 1.0)
    rng = np.random.default_rng(3)
    params, _ = prepare_params(cm, {"capacity_scale": rng.uniform(0.9, 1.1, (300, 34))})
    items, _ = make_record(cm, {"waiting_all": ["service"], "treatment": ["service"]})
    serial = run_arrays(cm, params, 300, grid, items, chunk_size=32, workers=1)
    forked = run_arrays(cm, params, 300, grid, items, chunk_size=32, workers=2)  # 10 chunks: processes
    monkeypatch.setenv("UPSTREAM_PARALLEL", "threads")
    assert not can_fork()
    threaded = run_arrays(cm, params, 300, grid, items, chunk_size=32, workers=2)
    for k in serial:
        np.testing.assert_array_equal(forked[k], serial[k])
        np.testing.assert_array_equal(threaded[k], serial[k])
    assert float(serial["waiting_all"].max()) > 0


@pytest.mark.skipif(not can_fork(), reason="this platform cannot fork")
def test_an_error_in_a_forked_worker_reaches_the_caller():
    m = up.load_model("england")
    cm = m.compiled
    grid, _ = time_grid(4, 1.0)
    params, _ = prepare_params(cm, {"success": np.full((64, 34), 0.5)})
    items, _ = make_record(cm, {"treatment": ["service"]})

    def boom(sub, t):
        raise RuntimeError("boom in a worker")

    with pytest.raises(RuntimeError, match="boom in a worker"):
        run_arrays(
            cm,
            params,
            64,
            grid,
            items,
            chunk_size=8,
            workers=2,
            varying=frozenset({"success"}),
            param_at=boom,
        )

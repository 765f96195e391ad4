"""Chunks run serially, on threads or on forked processes give bit-identical results."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import simulator as up
from simulator.core import (
    can_fork,
    is_shared,
    make_record,
    prepare_params,
    run_arrays,
    shared_empty,
    time_grid,
)


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


def test_page_aligned_rows_start_on_page_boundaries_and_are_views():
    import mmap

    a = shared_empty((3, 5, 700), align_rows=True)
    assert a.shape == (3, 5, 700) and is_shared(a)
    starts = [a[i, j].ctypes.data for i in range(3) for j in range(5)]
    assert all(s % mmap.PAGESIZE == 0 for s in starts)
    a[...] = np.arange(a.size).reshape(a.shape)  # every element is writable and distinct
    assert np.unique(a).size == a.size


@pytest.mark.skipif(not can_fork(), reason="this platform cannot fork")
def test_chunk_reductions_run_where_the_chunk_ran_and_see_every_member():
    m = up.load_model("england-capacity")
    cm = m.compiled
    grid, _ = time_grid(12, 1.0)
    rng = np.random.default_rng(4)
    members = 200
    params, _ = prepare_params(cm, {"capacity_scale": rng.uniform(0.9, 1.1, (members, 34))})
    items, _ = make_record(cm, {"waiting_all": ["service"], "treatment": ["service"]})
    whole = run_arrays(cm, params, members, grid, items, chunk_size=16, workers=1)
    # ``after`` sums each member's waiting list where its chunk ran (forked workers: shared memory)
    total = shared_empty((members,))
    seen = shared_empty((members,))

    def after(a, b, raw):
        total[a:b] = raw["waiting_all"].sum(axis=(1, 2))
        seen[a:b] += 1

    kept = run_arrays(cm, params, members, grid, items, chunk_size=16, workers=2, after=after)
    np.testing.assert_array_equal(seen, 1.0)  # every member reduced exactly once
    np.testing.assert_array_equal(total, whole["waiting_all"].sum(axis=(1, 2)))
    assert kept == {}  # with ``after``, quantities the caller gave no array for are not kept


def test_contexts_hold_no_reference_cycles():
    """Each step's cached arrays are freed when the step ends, not by the cyclic collector."""
    import gc

    from simulator.core._bind import Context

    m = up.load_model("england-capacity")
    up.simulate(m, months=3)  # compile outside the measured run
    gc.collect()
    gc.disable()
    try:
        up.simulate(m, months=6)
        alive = sum(isinstance(o, Context) for o in gc.get_objects())
    finally:
        gc.enable()
    assert alive == 0


def test_allocator_tuning_is_idempotent_and_can_be_turned_off():
    from simulator.core._memory import tune_allocator

    first = tune_allocator()
    assert tune_allocator() is first  # done once; later calls report the same
    if sys.platform.startswith("linux") and "UPSTREAM_MALLOC" not in os.environ:
        assert first is True  # glibc here: the thresholds were raised
    code = "from simulator.core._memory import tune_allocator; print(tune_allocator())"
    env = {**os.environ, "UPSTREAM_MALLOC": "default"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_first_chunk_runs_in_the_parent_so_workers_inherit_the_kernel():
    """A fresh process's first forked ensemble leaves the compiled kernel in the parent.

    Before, every fork's workers loaded it from disk themselves (about a second per ensemble,
    every time: the parent never ran a chunk) and the parent never had it.
    """
    code = (
        "import os, warnings; warnings.simplefilter('ignore')\n"
        "import numpy as np\n"
        "from simulator import load_model\n"
        "from simulator.core import make_record, prepare_params, run_arrays, time_grid\n"
        "from simulator.core._jit_kernel import run_block\n"
        "cm = load_model('england').compiled\n"
        "g = cm.defaults['g2c_pcnt'] * np.linspace(0.9, 1.1, 64)[:, None]\n"
        "arrays, n = prepare_params(cm, {'g2c_pcnt': g})\n"
        "grid, _ = time_grid(6, 1.0)\n"
        "items, _ = make_record(cm)\n"
        "pid = os.getpid()\n"
        "ran = []\n"
        "run_arrays(cm, arrays, n, grid, items, chunk_size=8, workers=2, backend='compiled',\n"
        "           after=lambda a, b, v: ran.append(os.getpid()))\n"
        "print(len(run_block.signatures), ran.count(pid))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    signatures, chunks_here = (int(v) for v in out.stdout.split()[-2:])
    assert signatures >= 1, out.stdout  # the parent has the kernel for the next fork
    assert 1 <= chunks_here < 8, out.stdout  # the first and a share here, the rest in the worker


def test_a_worker_that_dies_is_an_error_not_a_hang():
    """A forked worker killed mid-run (as the out-of-memory killer would) stops the run with a
    WorkerError at once; multiprocessing.Pool waited for the lost chunk for ever."""
    from simulator.core._workers import WorkerError, parallel_map, run_chunks

    parent = os.getpid()

    def one(ab):
        if os.getpid() != parent:  # a worker dies on its first chunk
            os._exit(9)
        return ab

    with pytest.raises(WorkerError, match="killed, or out of memory"):
        run_chunks(one, [(i, i + 1) for i in range(8)], 2, None, processes=True)
    with pytest.raises(WorkerError, match="fewer workers"):
        parallel_map(lambda i: os._exit(9) if i == 2 and os.getpid() != parent else i, list(range(6)), 2)
    assert parallel_map(lambda i: i * i, list(range(6)), 2) == [0, 1, 4, 9, 16, 25]


def test_an_error_in_a_chunk_stops_the_run_without_running_the_rest():
    """A chunk that raises (here or in a worker) stops the run with that error; chunks not yet
    started are cancelled, not run."""
    from simulator.core._workers import run_chunks
    from simulator.core._workers import shared_empty as shm

    ran = shm((64,))
    ran[:] = 0.0

    def one(ab):
        ran[ab[0]] = 1.0
        if ab[0] == 0:
            raise ValueError("chunk 0 is bad")
        import time

        time.sleep(0.05)
        return ab

    with pytest.raises(ValueError, match="chunk 0 is bad"):
        run_chunks(one, [(i, i + 1) for i in range(64)], 2, None, processes=True)
    assert ran[1::2].sum() <= 8, ran  # the worker's queued chunks were cancelled, not run (32 of them)

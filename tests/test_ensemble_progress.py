"""An ensemble's progress told to a function ``progress(done, total)`` (the web app's progress bar)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from simulator.analysis import Design, UncertaintyGroup, distribution_from_dict, run_ensemble


def _design(model):
    dist = distribution_from_dict({"type": "uniform", "low": 0.8, "high": 1.2})
    return Design(model.spec, [UncertaintyGroup("decay", "decay", dist)])


@pytest.mark.parametrize(("chunk", "workers", "block"), [(7, 1, 4096), (16, 2, 4096), (13, 1, 20)])
def test_progress_function_counts_members_as_chunks_finish(england, chunk, workers, block):
    calls: list[tuple[int, int]] = []
    kw = dict(members=50, seed=3, dt=1.0, chunk_size=chunk, workers=workers, block_size=block)
    r = run_ensemble(england, _design(england), progress=lambda d, t: calls.append((d, t)), **kw)
    done = [d for d, _ in calls]
    assert {t for _, t in calls} == {50}
    assert done[0] == 0 and done[-1] == 50
    assert all(b > a for a, b in itertools.pairwise(done))  # one call per finished chunk, each adds members
    # chunks are cut within blocks: the calls after the first are one per chunk
    chunks = sum(-(-(min(50, a + block) - a) // chunk) for a in range(0, 50, block))
    assert len(calls) == 1 + chunks
    plain = run_ensemble(england, _design(england), **kw)
    for v in plain.summary.data_vars:  # telling progress changes nothing in the results
        np.testing.assert_array_equal(r.summary[v].to_numpy(), plain.summary[v].to_numpy())


def test_identical_members_report_all_done(england):
    calls: list[tuple[int, int]] = []
    run_ensemble(
        england, Design(england.spec, []), members=20, dt=1.0, progress=lambda d, t: calls.append((d, t))
    )
    assert calls[-1] == (20, 20)


def test_progress_true_still_draws_the_terminal_bar(england, capsys):
    run_ensemble(england, _design(england), members=10, seed=1, dt=1.0, progress=True, name="bar test")
    assert "bar test" in capsys.readouterr().err

"""The Python API refuses an ensemble it cannot hold before allocating anything (issue 12).

``run_ensemble`` estimates memory with :mod:`simulator.core._budget` and raises
``BudgetError`` (a ``RunError``, which the command line shows with exit status 2) instead of
allocating; identical members (no uncertainty) are run once and copied only when kept.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from simulator.analysis._distributions import distribution_from_dict
from simulator.analysis._ensembles import run_ensemble
from simulator.analysis._uncertainty import Design, UncertaintyGroup
from simulator.core._budget import BudgetError, Estimate
from simulator.core._run import RunError

ROOT = Path(__file__).resolve().parents[1]

#: try an ensemble of argv[1] members in a fresh process; print the outcome, its CPU seconds and peak MB
ATTEMPT = textwrap.dedent(
    """
    import json, resource, sys, time, warnings
    warnings.simplefilter("ignore")
    from simulator.analysis._distributions import distribution_from_dict
    from simulator.analysis._ensembles import run_ensemble
    from simulator.analysis._uncertainty import Design, UncertaintyGroup
    from simulator.core._budget import BudgetError
    from simulator.files._loading import load_model
    m = load_model("england")
    uniform = distribution_from_dict({"type": "uniform", "low": 0.9, "high": 1.1})
    design = Design(m.spec, [UncertaintyGroup("anxiety", "g2c_pcnt", uniform)])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.process_time()
    try:
        run_ensemble(m, design, members=int(sys.argv[1]), months=12, **json.loads(sys.argv[2]))
        outcome = "ran"
    except BudgetError as err:
        outcome = str(err)
    print(json.dumps({"outcome": outcome, "seconds": time.process_time() - t, "mb_before": before,
                      "mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """
)


def attempt(members: int, **kw) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", ATTEMPT, str(members), json.dumps(kw)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_an_oversized_ensemble_is_refused_from_the_api_fast_and_small():
    huge = attempt(1_000_000_000_000)
    assert huge["outcome"].startswith("refused before starting"), huge
    assert "1,000,000,000,000 members" in huge["outcome"] and "To proceed" in huge["outcome"]
    # importing the analyses and loading England take almost all of the process's memory (about
    # 200 MB): the refusal itself takes well under a second and adds almost nothing
    assert huge["seconds"] < 5, huge
    assert huge["mb"] - huge["mb_before"] < 20, huge
    assert huge["mb"] < max(200, huge["mb_before"] + 20), huge
    # kept members beyond the limit given: the advice is to stream them
    kept = attempt(20_000, max_memory="50MB")
    assert "stream the members" in kept["outcome"] and "50 MB" in kept["outcome"], kept


def test_budget_error_is_a_run_error_and_the_estimate_is_shown_first(england):
    uniform = distribution_from_dict({"type": "uniform", "low": 0.9, "high": 1.1})
    design = Design(england.spec, [UncertaintyGroup("anxiety", "g2c_pcnt", uniform)])
    seen: list[Estimate] = []
    with pytest.raises(RunError, match="refused before starting") as err:
        run_ensemble(england, design, members=5_000, months=12, max_memory="1MB", on_estimate=seen.append)
    assert isinstance(err.value, BudgetError)
    assert len(seen) == 1 and seen[0].members == 5_000 and seen[0].kept_bytes > 0
    assert seen[0].total_bytes > 2**20
    # within the limit the same ensemble runs, and its estimate is the same
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_ensemble(england, design, members=50, months=12, on_estimate=seen.append)
    assert res.attrs["members"] == 50 and seen[1].members == 50


def test_identical_members_are_run_once_and_copied_only_when_kept(england):
    empty = Design(england.spec, [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # a billion identical members: one run, nothing copied (not kept beyond 20,000)
        big = run_ensemble(england, empty, members=1_000_000_000, months=12)
        assert big.members is None and big.attrs["members"] == 1_000_000_000
        p50 = big.summary["referrals_total"].sel(stat="p50")
        assert float(p50.sum()) > 0 and float(big.summary["referrals_total"].sel(stat="sd").max()) == 0
        # keeping them all is refused before any copy is made
        with pytest.raises(BudgetError, match="kept members"):
            run_ensemble(england, empty, members=1_000_000_000, months=12, keep_members=True)
        few = run_ensemble(england, empty, members=3, months=12)
    assert few.members is not None and few.members.sizes["member"] == 3

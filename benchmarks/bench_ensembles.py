"""Ensemble and sensitivity benchmarks on the England model at dt = 0.2 (issue: ensembles).

Prints one figure per line as ``name: value unit``.  Each case runs in a fresh
Python process so its peak memory (``ru_maxrss``) is its own:

* ``ensemble``: 10,000 members of ``scenarios/england-evidence.yaml`` (30
  uncertainty groups), quantiles and means of referrals, starts, caseload and
  contacts per service per month (target <= 3 s on 2 cores);
* ``sobol``: Sobol indices with N = 1024 over the first 20 groups of that
  scenario, second order included: 43,008 runs, analysis included (target <= 15 s);
* ``million``: 1,000,000 members streamed in blocks, quantiles from the sketch
  (target: peak memory <= 2 GB).

Run ``python benchmarks/bench_ensembles.py`` (all cases) or ``--case NAME``.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "england-evidence.yaml"


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def case_ensemble() -> None:
    from simulator.analysis import scenario_ensemble
    from simulator.files import load_scenario

    sc = load_scenario(SCENARIO)
    scenario_ensemble(sc, members=256)  # warm up: imports, compilation
    t = time.perf_counter()
    r = scenario_ensemble(sc, members=10_000)
    el = time.perf_counter() - t
    print(f"ensemble_10000_members_{len(sc.groups)}_groups: {el:.2f} s")
    print(f"ensemble_members_per_second: {10_000 / el:.0f} members/s")
    print(f"ensemble_peak_rss: {peak_mib():.0f} MiB")
    assert r.exact and r.members.sizes["member"] == 10_000


def case_sobol() -> None:
    from simulator.analysis import Design, sensitivity_analysis
    from simulator.files import load_scenario

    sc = load_scenario(SCENARIO)
    design = Design(sc.model.spec, sc.groups[:20])
    sensitivity_analysis(sc.model, design, method="sobol", n=8, dt=sc.dt, services=["IAPT"])  # warm up
    t = time.perf_counter()
    res = sensitivity_analysis(sc.model, design, method="sobol", n=1024, seed=1, dt=sc.dt)
    el = time.perf_counter() - t
    print(f"sobol_n1024_20_groups_runs: {res.runs} runs")
    print(f"sobol_n1024_20_groups: {el:.2f} s")
    print(f"sobol_peak_rss: {peak_mib():.0f} MiB")


def case_million() -> None:
    from simulator.analysis import scenario_ensemble
    from simulator.files import load_scenario

    sc = load_scenario(SCENARIO)
    t = time.perf_counter()
    r = scenario_ensemble(sc, members=1_000_000, keep_members=False)
    el = time.perf_counter() - t
    print(f"streamed_1000000_members: {el:.1f} s")
    print(f"streamed_peak_rss: {peak_mib():.0f} MiB")
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"streamed_peak_rss_of_a_worker_process: {kids:.0f} MiB (forked; shares the parent's pages)")
    assert r.members is None


CASES = {"ensemble": case_ensemble, "sobol": case_sobol, "million": case_million}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=list(CASES))
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    if args.case:
        CASES[args.case]()
        return
    for name in CASES:
        subprocess.run([sys.executable, __file__, "--case", name], check=True)


if __name__ == "__main__":
    main()

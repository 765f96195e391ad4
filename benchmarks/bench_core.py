"""Core engine benchmarks on the England surge model at dt = 0.2 (issue: the engine).

Prints one figure per line as ``name: value unit``:

* single run (after load): median wall time of ``simulate`` (labelled Dataset returned)
  and of the bare integration;
* a 10,000-member ensemble, each member's path fractions, success and exit rates
  jittered by up to +/-20%, recording monthly caseload and referrals per service:
  wall time and peak memory (traced numpy allocations plus the process's
  resident set growth);
* the same ensemble through the R-equivalent reference loop (one member), scaled,
  for a same-run ratio.

Run: ``python benchmarks/bench_core.py`` (``--members N`` to change the ensemble size).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

from simulator import load_model, simulate
from simulator.core import make_record, prepare_params, run_arrays, time_grid

warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parents[1]


def jittered_params(model, members: int, seed: int = 2020) -> dict[str, np.ndarray]:
    """Each member's path fractions, success and exit rates scaled by U(0.8, 1.2), clipped to bounds."""
    rng = np.random.default_rng(seed)
    spec = model.spec
    out = {}
    split = spec.param("split").values
    g2c = spec.param("g2c_pcnt").values
    out["split"] = split * rng.uniform(0.8, 1.2, (members, split.size))
    # scale the condition rates, keeping each group's total at most 1
    pc = g2c * rng.uniform(0.8, 1.2, (members, g2c.size))
    groups = spec.param("g2c_pcnt").space.labels("group")
    for g in set(groups):
        cols = [i for i, x in enumerate(groups) if x == g]
        tot = pc[:, cols].sum(axis=1, keepdims=True)
        pc[:, cols] /= np.maximum(1.0, tot)
    out["g2c_pcnt"] = pc
    for name in ("success", "decay"):
        v = spec.param(name).values
        out[name] = np.clip(v * rng.uniform(0.8, 1.2, (members, v.size)), 0.0, 1.0)
    return out


def time_it(fn, repeat: int = 7) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=10_000)
    ap.add_argument("--dt", type=float, default=0.2)
    args = ap.parse_args()
    model = load_model("england")
    cm = model.compiled
    grid, _ = time_grid(model.spec.horizon, args.dt)
    print(f"stocks: {cm.n_stocks} count")
    print(f"steps: {grid.n_steps + 1} count")
    print(f"cores: {os.cpu_count()} count")

    single = time_it(lambda: simulate(model, dt=args.dt), repeat=15)
    print(f"single_run_simulate: {single * 1e3:.2f} ms")
    arrays, members = prepare_params(cm)
    items, _ = make_record(cm)
    bare = time_it(lambda: run_arrays(cm, arrays, members, grid, items, workers=1), repeat=15)
    print(f"single_run_integrate: {bare * 1e3:.2f} ms")

    params = jittered_params(model, args.members)
    record = {n: ["service"] for n in ("treatment", "new_referral")}
    arrays, members = prepare_params(cm, params)
    items, _ = make_record(cm, record)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    out = run_arrays(cm, arrays, members, grid, items)
    ens = time.perf_counter() - t
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"ensemble_{args.members}_members: {ens:.3f} s")
    print(f"ensemble_member_steps_per_second: {members * (grid.n_steps + 1) / ens / 1e6:.2f} million")
    tracemalloc.start()
    run_arrays(cm, arrays, members, grid, items)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    inputs = sum(v.nbytes for v in arrays.values())
    print(f"ensemble_peak_traced_memory: {(peak + inputs) / 2**20:.0f} MiB")
    print(f"process_peak_rss: {max(rss0, rss1) / 1024:.0f} MiB")
    assert out["treatment"].shape == (
        members,
        len(grid.report_steps),
        len(model.spec.dims["service"]),
    )

    sys.path.insert(0, str(ROOT / "tests"))
    from reference_r import run_reference

    ref_path = ROOT / "models" / "workbooks" / "params_England.xlsx"
    if ref_path.exists():
        t = time.perf_counter()
        run_reference(str(ref_path), args.dt)
        ref = time.perf_counter() - t
        print(f"reference_loop_single_run: {ref:.3f} s")
        print(f"speedup_single_run_vs_reference: {ref / single:.0f} x")
        print(f"speedup_ensemble_per_member_vs_reference: {ref * members / ens:.0f} x")


if __name__ == "__main__":
    main()

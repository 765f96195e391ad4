"""Compiled step kernel against the numpy kernel, side by side in one run (issue 16).

Prints ``name: value unit`` lines:

* ``first_compile`` / ``cache_load``: the compiled kernel built from nothing (a fresh
  numba cache directory, in a subprocess) and loaded from the disk cache;
* ``single_run_*``: one deterministic England run (dt = 1), median of repeats, by backend;
* ``england_ensemble_*``: the 10,000-member jittered England ensemble of
  ``bench_core.py`` (dt = 0.2, caseload and referrals per service) by backend, and a
  roofline probe: the same transfers (index arrays, per-member coefficients, steps,
  blocks) in the simplest fused numba loop (gather, multiply, scatter, update), on one
  thread against the compiled backend on one thread;
* ``capacity_ensemble_*``: ``scenarios/england-capacity.yaml``, 10,000 members;
* ``packages_*``: 8 packages and the baseline on 10,000 members (``bench_interventions.py``);
* ``evidence_*``: ``scenarios/england-evidence.yaml`` (30 groups) with 10,000 members kept
  against ``--streamed`` members (default 100,000) streamed on the default backend: CPU per
  member of each, their ratio, the 1,000,000-member time this implies on 2 free cores, and
  peak memory (run it alone, ``--only streamed``, for a peak of its own);
* ``split_*``: where the CPU goes, on one worker, by backend: inside the integrator (the
  kernel and the filling of its workspace) and outside it (draws, interventions, combining
  outputs, quantiles, appraisal sums: the same numpy code on both backends), and the ratio a
  kernel that took no time at all would give (numpy's total over the compiled run's outside
  share: Amdahl's bound on the speed-up any kernel can show in that benchmark).

Each ratio is numpy time / compiled time measured in this run (the machine may be
shared: compare ratios, not seconds).  ``--members`` scales every ensemble;
``--only`` picks parts (``compile,single,england,capacity,packages,streamed,split``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
warnings.filterwarnings("ignore")

PACKAGES = [
    "upstream-mix",
    "prevention-first",
    "community-first",
    "downstream-capacity",
    "crisis-alternatives",
    "trauma-informed",
    "social-prescribing",
    "suicide-crisis-support",
]


def timed(fn, repeat: int = 1) -> float:
    """Smallest wall time of ``repeat`` calls (s)."""
    return min(clocked(fn)[0] for _ in range(repeat))


def clocked(fn) -> tuple[float, float]:
    """Wall time and CPU time (user + system, this process and its forked workers) of one call (s)."""
    c0, p0, t0 = os.times(), time.process_time(), time.perf_counter()
    fn()
    t1, p1, c1 = time.perf_counter(), time.process_time(), os.times()
    children = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
    return t1 - t0, (p1 - p0) + children


def side_by_side(name: str, run, repeat: int = 2) -> None:
    """Time ``run()`` under each backend, alternating; print wall and CPU times and their ratios.

    On a shared machine the wall time depends on what else runs; the CPU time is the work done.
    """
    from simulator.core._jit_backend import use_backend

    best: dict[str, tuple[float, float]] = {}
    for _ in range(repeat):
        for backend in ("compiled", "numpy"):
            with use_backend(backend):
                wall, cpu = clocked(run)
            old = best.get(backend, (float("inf"), float("inf")))
            best[backend] = (min(old[0], wall), min(old[1], cpu))
    for backend in ("numpy", "compiled"):
        print(f"{name}_{backend}: {best[backend][0]:.3f} s")
        print(f"{name}_{backend}_cpu: {best[backend][1]:.3f} s")
    print(f"{name}_speedup: {best['numpy'][0] / best['compiled'][0]:.2f} x")
    print(f"{name}_speedup_cpu: {best['numpy'][1] / best['compiled'][1]:.2f} x")


def _probe_loop():
    from numba import njit

    @njit(cache=True, error_model="numpy", nogil=True)
    def probe(x, d, loss, c, of, dst, dt, n_steps):
        s, m = x.shape
        for _ in range(n_steps):
            for r in range(s):
                for j in range(m):
                    d[r, j] = 0.0
            for i in range(of.shape[0]):
                o, t = of[i], dst[i]
                for j in range(m):
                    d[t, j] += c[i, j] * x[o, j]
            for r in range(s):
                for j in range(m):
                    x[r, j] += dt * (d[r, j] - loss[r, j] * x[r, j])

    return probe


def _lane_probe_loop():
    from numba import njit

    @njit(cache=True, error_model="numpy", nogil=True)
    def probe(x, d, loss, c, of, dst, dt, n_steps):
        for g in range(x.shape[0]):  # one group of 8 members: its state stays in L1/L2 for every step
            xg, dg, lg, cg = x[g], d[g], loss[g], c[g]
            for _ in range(n_steps):
                for r in range(xg.shape[0]):
                    for j in range(8):
                        dg[r, j] = 0.0
                for i in range(of.shape[0]):
                    o, t = of[i], dst[i]
                    for j in range(8):
                        dg[t, j] += cg[i, j] * xg[o, j]
                for r in range(xg.shape[0]):
                    for j in range(8):
                        xg[r, j] += dt * (dg[r, j] - lg[r, j] * xg[r, j])

    return probe


def probe_seconds(cm, arrays, members: int, grid, lanes: bool = False) -> float:
    """CPU time of the roofline probe on one thread (s).

    Every moving transfer as ``d[dst] += c * x[of]`` with per-member coefficients, then
    ``x += dt * (d - loss * x)``, in the kernel's blocks and steps; nothing recorded.  With
    ``lanes``, the same in groups of 8 members (one AVX-512 vector), each group through every
    step before the next, so that its state and coefficients stay in the core's own caches.
    """
    from simulator.core._jit_run import block_members, program_for
    from simulator.core._nodes import Context

    ctx = Context(arrays, 0.0, static={}, dt=grid.dt)
    blocks = [b for b in cm.transfers if b.moves and b.dst is not None]
    of = np.concatenate([b.of for b in blocks]).astype(np.int64)
    dst = np.concatenate([b.dst for b in blocks]).astype(np.int64)
    coef = np.concatenate(
        [np.broadcast_to(b.coef.eval(ctx), (members, len(b.of))).T for b in blocks]
    )  # (flows, members)
    loss = np.zeros((cm.n_stocks, members))
    np.add.at(loss, of, coef)
    if lanes:
        return _lane_probe_seconds(of, dst, coef, loss, members, grid)
    member = frozenset(k for k, v in arrays.items() if v.shape[0] > 1)
    blk = block_members(program_for(cm, [], frozenset(), member, "euler"))
    parts = []
    for a in range(0, members, blk):
        b = min(members, a + blk)
        x = np.full((cm.n_stocks, b - a), 100.0)
        parts.append(
            (x, np.zeros_like(x), np.ascontiguousarray(loss[:, a:b]), np.ascontiguousarray(coef[:, a:b]))
        )
    probe = _probe_loop()
    x, d, lo, c = parts[0]
    probe(x.copy(), d, lo, c, of, dst, grid.dt, 2)  # compile
    c0 = os.times()
    for x, d, lo, c in parts:
        probe(x, d, lo, c, of, dst, grid.dt, grid.n_steps)
    c1 = os.times()
    return (c1.user - c0.user) + (c1.system - c0.system)


def _lane_probe_seconds(of, dst, coef, loss, members: int, grid) -> float:
    """CPU time of the 8-member-lane probe (see :func:`probe_seconds`) on one thread (s)."""
    g = members // 8
    x = np.full((g, loss.shape[0], 8), 100.0)
    lo = np.ascontiguousarray(loss[:, : g * 8].reshape(-1, g, 8).transpose(1, 0, 2))
    c = np.ascontiguousarray(coef[:, : g * 8].reshape(-1, g, 8).transpose(1, 0, 2))
    probe = _lane_probe_loop()
    probe(x[:1].copy(), np.zeros_like(x[:1]), lo[:1], c[:1], of, dst, grid.dt, 2)  # compile
    c0 = os.times()
    probe(x, np.zeros_like(x), lo, c, of, dst, grid.dt, grid.n_steps)
    c1 = os.times()
    return ((c1.user - c0.user) + (c1.system - c0.system)) * members / (g * 8)


def bench_compile() -> None:
    code = (
        "import time, warnings; warnings.simplefilter('ignore')\n"
        "from simulator import load_model, simulate\n"
        "m = load_model('england'); simulate(m, backend='numpy')\n"
        "t = time.perf_counter(); simulate(m, backend='compiled'); print(time.perf_counter() - t)\n"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("first_compile", "cache_load"):
            out = subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            )
            print(f"{label}: {float(out.stdout.split()[-1]):.2f} s")


def bench_single() -> None:
    from simulator import load_model, simulate
    from simulator.core import make_record, prepare_params, run_arrays, time_grid

    model = load_model("england")
    cm = model.compiled
    grid, _ = time_grid(model.spec.horizon, 1.0)
    arrays, members = prepare_params(cm)
    items, _ = make_record(cm)
    for backend in ("compiled", "numpy"):
        simulate(model, backend=backend)
    times: dict[str, list[tuple[float, float]]] = {}
    for _ in range(15):  # alternating, so both meet the same load
        for backend in ("compiled", "numpy"):
            times.setdefault(f"simulate_{backend}", []).append(
                clocked(lambda b=backend: simulate(model, backend=b))
            )
            times.setdefault(f"integrate_{backend}", []).append(
                clocked(lambda b=backend: run_arrays(cm, arrays, members, grid, items, workers=1, backend=b))
            )
    for name, pairs in times.items():
        print(f"single_run_{name}: {statistics.median(p[0] for p in pairs) * 1e3:.2f} ms")
        print(f"single_run_{name}_cpu: {statistics.median(p[1] for p in pairs) * 1e3:.2f} ms")


def bench_england(members: int) -> None:
    from bench_core import jittered_params

    from simulator import load_model
    from simulator.core import make_record, prepare_params, run_arrays, time_grid

    model = load_model("england")
    cm = model.compiled
    grid, _ = time_grid(model.spec.horizon, 0.2)
    arrays, n = prepare_params(cm, jittered_params(model, members))
    items, _ = make_record(cm, {k: ["service"] for k in ("treatment", "new_referral")})
    run_arrays(cm, arrays, min(n, 256), grid, items, backend="compiled")  # warm up
    side_by_side(f"england_ensemble_{members}", lambda: run_arrays(cm, arrays, n, grid, items))
    one = {
        b: min(
            clocked(lambda b=b: run_arrays(cm, arrays, n, grid, items, workers=1, backend=b))[1]
            for _ in range(2)
        )
        for b in ("compiled", "numpy")
    }
    probe = min(probe_seconds(cm, arrays, n, grid) for _ in range(2))
    for b, v in one.items():
        print(f"england_ensemble_{members}_{b}_1_thread_cpu: {v:.3f} s")
    print(f"roofline_probe_1_thread_cpu: {probe:.3f} s")
    print(f"compiled_over_probe_cpu: {one['compiled'] / probe:.2f} x")
    # the 5x target needs numpy / compiled >= 5: with compiled at the probe's speed, numpy / probe
    print(f"numpy_over_probe_cpu: {one['numpy'] / probe:.2f} x")
    if n >= 8:
        lanes = min(probe_seconds(cm, arrays, n, grid, lanes=True) for _ in range(2))
        print(f"roofline_probe_8_member_lanes_1_thread_cpu: {lanes:.3f} s")


def bench_capacity(members: int) -> None:
    from simulator.analysis import run_ensemble
    from simulator.files import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "england-capacity.yaml")
    run_ensemble(sc.model, sc.design, members=256, seed=1, dt=sc.dt)  # warm up
    side_by_side(
        f"capacity_ensemble_{members}",
        lambda: run_ensemble(sc.model, sc.design, members=members, seed=sc.seed, dt=sc.dt),
    )


def bench_packages(members: int) -> None:
    from simulator.analysis import appraise
    from simulator.files import load_package, load_scenario

    sc = load_scenario(ROOT / "scenarios" / "england-evidence.yaml")
    pkgs = [load_package(p, ROOT) for p in PACKAGES]
    appraise(sc.model, pkgs, design=sc.design, members=64, seed=1, dt=sc.dt)  # warm up
    side_by_side(
        f"packages_8x{members}",
        lambda: appraise(sc.model, pkgs, design=sc.design, members=members, seed=sc.seed, dt=sc.dt),
    )


def bench_streamed(members: int, streamed: int) -> None:
    """Kept against streamed members of ``england-evidence.yaml``: CPU and wall time per member."""
    import resource

    from simulator.analysis import scenario_ensemble
    from simulator.files import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "england-evidence.yaml")
    scenario_ensemble(sc, members=256)  # warm up
    scenario_ensemble(sc, members=8192, keep_members=False)
    kept = min(
        (clocked(lambda: scenario_ensemble(sc, members=members)) for _ in range(2)), key=lambda p: p[1]
    )
    gone = clocked(lambda: scenario_ensemble(sc, members=streamed, keep_members=False))
    for name, (wall, cpu), n in (("kept", kept, members), ("streamed", gone, streamed)):
        print(f"evidence_{name}_{n}: {wall:.2f} s")
        print(f"evidence_{name}_{n}_cpu: {cpu:.2f} s")
        print(f"evidence_{name}_per_member_cpu: {cpu / n * 1e6:.1f} us")
    print(f"streamed_over_kept_per_member_cpu: {gone[1] / streamed / (kept[1] / members):.2f} x")
    print(f"streamed_1000000_members_estimate_2_free_cores: {gone[1] / streamed * 1e6 / 2:.0f} s")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"streamed_peak_rss: {rss:.0f} MiB")
    print(f"streamed_peak_rss_of_a_worker_process: {kids:.0f} MiB")


def split(name: str, run, per: int, warm) -> None:
    """CPU inside and outside the integrator for ``run(workers=1)`` by backend (see the module docstring).

    ``per``: members (or member-runs) of the call, for the per-member figures; ``warm()``: a
    small run of the same kind first, on each backend (programs lowered, kernel loaded).
    """
    import simulator.core._run_chunks as chunks
    from simulator.core._jit_backend import use_backend

    inside = [0.0]
    real = chunks.integrate

    def counted(*args, **kwargs):
        t = time.thread_time()
        try:
            return real(*args, **kwargs)
        finally:
            inside[0] += time.thread_time() - t

    for backend in ("compiled", "numpy"):
        with use_backend(backend):
            warm()
    # the one call through which every chunk is integrated; with workers=1 every chunk runs in
    # this thread (thread_time would miss chunks run on other threads or forked workers)
    chunks.integrate = counted
    try:
        got = {}
        for backend in ("compiled", "numpy"):
            with use_backend(backend):
                inside[0] = 0.0
                got[backend] = (clocked(lambda: run(workers=1))[1], inside[0])
    finally:
        chunks.integrate = real
    for backend, (total, kernel) in got.items():
        print(f"split_{name}_{backend}_integrate_cpu: {kernel:.2f} s")
        print(f"split_{name}_{backend}_outside_cpu: {total - kernel:.2f} s")
        print(f"split_{name}_{backend}_integrate_per_member_cpu: {kernel / per * 1e6:.0f} us")
    (nt, nk), (ct, ck) = got["numpy"], got["compiled"]
    print(f"split_{name}_speedup_cpu: {nt / ct:.2f} x")
    print(f"split_{name}_integrate_speedup_cpu: {nk / ck:.2f} x")
    print(f"split_{name}_bound_with_a_free_kernel: {nt / max(ct - ck, 1e-9):.2f} x")


def bench_split(members: int, streamed: int) -> None:
    from bench_core import jittered_params

    from simulator import load_model
    from simulator.analysis import appraise, run_ensemble, scenario_ensemble
    from simulator.core import make_record, prepare_params, run_arrays, time_grid
    from simulator.files import load_package, load_scenario

    model = load_model("england")
    grid, _ = time_grid(model.spec.horizon, 0.2)
    arrays, n = prepare_params(model.compiled, jittered_params(model, members))
    items, _ = make_record(model.compiled, {k: ["service"] for k in ("treatment", "new_referral")})
    split(
        "england",
        lambda workers: run_arrays(model.compiled, arrays, n, grid, items, workers=workers),
        n,
        lambda: run_arrays(model.compiled, arrays, min(n, 256), grid, items),
    )
    cap = load_scenario(ROOT / "scenarios" / "england-capacity.yaml")
    split(
        "capacity",
        lambda workers: run_ensemble(
            cap.model, cap.design, members=members, seed=cap.seed, dt=cap.dt, workers=workers
        ),
        members,
        lambda: run_ensemble(cap.model, cap.design, members=256, seed=1, dt=cap.dt),
    )
    ev = load_scenario(ROOT / "scenarios" / "england-evidence.yaml")
    pkgs = [load_package(p, ROOT) for p in PACKAGES]
    split(
        "packages",
        lambda workers: appraise(
            ev.model, pkgs, design=ev.design, members=members, seed=ev.seed, dt=ev.dt, workers=workers
        ),
        members * (len(PACKAGES) + 1),
        lambda: appraise(ev.model, pkgs, design=ev.design, members=64, seed=1, dt=ev.dt),
    )
    part = min(streamed, 20_000)
    split(
        "streamed",
        lambda workers: scenario_ensemble(ev, members=part, keep_members=False, workers=workers),
        part,
        lambda: scenario_ensemble(ev, members=256, keep_members=False),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=10_000)
    ap.add_argument(
        "--streamed", type=int, default=100_000, help="streamed members (the target is 1,000,000)"
    )
    ap.add_argument("--only", default="compile,single,england,capacity,packages,streamed,split")
    args = ap.parse_args()
    parts = set(args.only.split(","))
    print(f"cores: {os.cpu_count()} count")
    print(f"load_average: {os.getloadavg()[0]:.1f} processes")
    if "compile" in parts:
        bench_compile()
    if "single" in parts:
        bench_single()
    if "england" in parts:
        bench_england(args.members)
    if "capacity" in parts:
        bench_capacity(args.members)
    if "packages" in parts:
        bench_packages(args.members)
    if "streamed" in parts:
        bench_streamed(args.members, args.streamed)
    if "split" in parts:
        bench_split(args.members, args.streamed)


if __name__ == "__main__":
    main()

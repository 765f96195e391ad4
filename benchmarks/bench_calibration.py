"""Calibration benchmark (issue: calibration).

The England surge model against observed NHS Talking Therapies referrals
(``calibration/england-iapt.yaml``'s target and data) with the first 8 uncertainty
groups of ``scenarios/england-evidence.yaml`` as the fitted parameters, dt = 1:

* ``ensemble``: a plain 10,000-member ensemble of the same model and groups
  (``run_ensemble``, IAPT referrals per service) - the yardstick;
* ``generation``: one generation of 10,000 particles (prior draws, predictions,
  likelihood), measured in the same run; target <= 1.3x the ensemble; a generation runs
  the model only to the last fitted month (23 of 36), so the same over the whole
  horizon is printed too;
* ``abc_smc``: ABC-SMC, 10 generations of 10,000 particles (adaptive SMC-ABC with
  Metropolis moves, at most 3 simulations a particle a generation); target <= 60 s on
  2 cores;
* ``pyabc``: the same problem (same priors in probit space, same simulated
  observations of the fitted years, same distance) through pyABC 0.13 with its default
  multicore sampler, a small population for a few generations; throughput per simulated
  particle (wall time / simulations) against Upstream's ABC-SMC in the same run
  (target >= 100x); CPU seconds per simulation (this process and its finished forked
  workers) too, which a shared machine disturbs less than wall time.

The kernel backend is the process default (``UPSTREAM_BACKEND=numpy`` or ``compiled``
where the compiled kernel exists); the first line says which.

pyABC is a benchmark-only dependency (``pip install pyabc``); without it that case is
skipped with a message.  Prints ``name: value unit`` lines.
Run: ``python benchmarks/bench_calibration.py [--particles N] [--generations G] [--pyabc-population P]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def problem():
    from simulator.analysis._calibration import CalibrationProblem
    from simulator.files import load_scenario
    from simulator.files._calibration_spec import load_calibration

    spec = load_calibration(ROOT / "calibration" / "england-iapt.yaml")
    groups = load_scenario(ROOT / "scenarios" / "england-evidence.yaml").groups[:8]
    t = spec.problem.targets
    return CalibrationProblem(spec.problem.model, groups, t, months=spec.problem.months, dt=1.0)


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished children (forked workers)."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def bench_pyabc(prob, population: int, generations: int) -> tuple[float, float, int] | None:
    try:
        import pyabc
    except ImportError:
        print("pyabc: skipped (pip install pyabc to compare)")
        return None
    import logging

    logging.getLogger("ABC").setLevel(logging.WARNING)
    d = prob.dims
    rng = np.random.default_rng(0)
    obs = np.concatenate([t.observed[t.fit_mask] for t in prob.targets])

    def model(par):
        z = np.array([[par[f"z{j}"] for j in range(d)]])
        sims = prob.simulate_observations(z, rng, fit_only=True)
        return {"y": np.concatenate([sims[t.name][0, t.fit_mask] for t in prob.targets])}

    def distance(a, b):
        return float(np.sqrt(np.mean(((a["y"] - b["y"]) / b["y"]) ** 2)))

    prior = pyabc.Distribution(**{f"z{j}": pyabc.RV("norm", 0, 1) for j in range(d)})
    abc = pyabc.ABCSMC(model, prior, distance, population_size=population)
    db = "sqlite:///" + os.path.join(tempfile.mkdtemp(), "bench.db")
    abc.new(db, {"y": obs})
    t0, c0 = time.perf_counter(), cpu_seconds()
    history = abc.run(max_nr_populations=generations)
    took, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    return took, cpu, int(history.total_nr_simulations)


def backend(prob) -> str:
    try:
        from simulator.core._jit_backend import default_backend
        from simulator.core._kernel import fallback_reason
    except ImportError:
        return "numpy"
    name = default_backend()
    why = fallback_reason(prob.model.compiled) if name == "compiled" else None
    return f"{name} (falls back to numpy: {why})" if why else name


def main() -> None:
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--particles", type=int, default=10_000)
    ap.add_argument("--generations", type=int, default=10)
    ap.add_argument("--pyabc-population", type=int, default=200)
    ap.add_argument("--pyabc-generations", type=int, default=3)
    args = ap.parse_args()
    from simulator.analysis import run_ensemble
    from simulator.analysis._calibrate import calibrate

    prob = problem()
    n = args.particles
    print(f"model: {prob.model.name}, {len(prob.design.groups)} parameter groups, {prob.dims} fitted columns")
    print(f"backend: {backend(prob)}")
    prob.predict(np.zeros((16, prob.dims)))  # compile and warm up
    t0 = time.perf_counter()
    run_ensemble(prob.model, prob.design, members=n, months=prob.months, dt=1.0, seed=1)
    ens = time.perf_counter() - t0
    print(f"ensemble_{n}: {ens:.2f} s")
    z = np.random.default_rng(1).standard_normal((n, prob.dims))
    t0 = time.perf_counter()
    prob.loglik(z)
    gen = time.perf_counter() - t0
    print(f"generation_{n}: {gen:.2f} s")
    print(f"generation_over_ensemble: {gen / ens:.2f} ratio")
    t0 = time.perf_counter()
    prob.loglik(z, held_out=True)  # the whole horizon (a generation runs only to the last fitted month)
    full = time.perf_counter() - t0
    print(f"generation_whole_horizon_{n}: {full:.2f} s")
    print(f"generation_whole_horizon_over_ensemble: {full / ens:.2f} ratio")
    t0, c0 = time.perf_counter(), cpu_seconds()
    cal = calibrate(prob, "abc-smc", particles=n, generations=args.generations, seed=1)
    took, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    sims = cal.population.generations[-1]["simulations"]
    print(f"abc_smc_{args.generations}x{n}: {took:.1f} s")
    print(f"abc_smc_over_ensemble: {took / ens:.1f} ratio")
    print(f"abc_smc_simulations: {sims} particles")
    last = cal.population.generations[-1]
    print(f"abc_smc_final_tolerance: {last['tolerance']:.4f} rms relative error")
    print(f"abc_smc_final_acceptance: {last['acceptance']:.3f} share of simulated proposals")
    distinct = len(np.unique(cal.population.z, axis=0)) / n
    print(f"abc_smc_distinct_particles: {distinct:.2f} share")
    ours = took / sims
    print(f"upstream_time_per_particle: {ours * 1e6:.1f} us")
    print(f"upstream_cpu_per_particle: {cpu / sims * 1e6:.1f} us")
    got = bench_pyabc(prob, args.pyabc_population, args.pyabc_generations)
    if got:
        t, c, s = got
        print(f"pyabc_time_per_particle: {t / s * 1e6:.1f} us")
        print(f"pyabc_cpu_per_particle: {c / s * 1e6:.1f} us")
        print(f"pyabc_simulations: {s} particles")
        print(f"throughput_ratio: {t / s / ours:.0f} x")
        print(f"cpu_per_particle_ratio: {c / s / (cpu / sims):.0f} x")
        rng = np.random.default_rng(2)
        t0 = time.perf_counter()
        for i in range(200):  # what pyABC's model function costs by itself, one particle a call
            prob.simulate_observations(z[i : i + 1], rng, fit_only=True)
        print(f"one_particle_model_call: {(time.perf_counter() - t0) / 200 * 1e3:.2f} ms")


if __name__ == "__main__":
    main()

"""Simulation-based calibration check of the samplers (issue: calibration).

For each of ``--datasets`` synthetic data sets: draw the parameters from the prior,
simulate observations from the model (``tests/data/constant_inflow.yaml``: two
inflow rates, one identified only through their sum, so the posterior is
correlated; three yearly counts with negative binomial noise), fit them with
``--method`` and record the rank of the true value among ``L = 99`` posterior draws
and whether the 90% interval covers it.  If the sampler is right the ranks are
uniform on 0..L (a chi-square test over 10 bins, at 1%) and the 90% intervals
cover the truth in about 90% of the data sets (85-95% expected at 100 data sets).

Prints ``name: value unit`` lines; exits 1 when a check fails.  This is a slow
check (minutes), so it runs here rather than in ``make test``.
Run: ``python benchmarks/sbc_calibration.py [--datasets 100] [--method smc|abc-smc] [--particles 400]``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
L = 99


def main() -> int:
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=int, default=100)
    ap.add_argument("--method", default="smc", choices=["smc", "abc-smc"])
    ap.add_argument("--particles", type=int, default=400)
    args = ap.parse_args()
    import simulator as up
    from simulator.analysis._calibrate import calibrate
    from simulator.analysis._calibration import CalibrationProblem, Period, Target
    from simulator.analysis._distributions import distribution_from_dict
    from simulator.analysis._likelihoods import Likelihood
    from simulator.analysis._scores import weighted_quantiles
    from simulator.analysis._uncertainty import UncertaintyGroup

    model = up.load_model(ROOT / "tests" / "data" / "constant_inflow.yaml")
    groups = [
        UncertaintyGroup("rate", "rate", distribution_from_dict({"type": "lognormal", "median": 80, "sigma": 0.3}),
                         apply="set"),
        UncertaintyGroup("second", "second", distribution_from_dict({"type": "gamma", "shape": 4, "rate": 0.2}),
                         apply="set"),
    ]  # fmt: skip
    periods = tuple(Period(f"y{i}", 12 * i, 12 * i + 11) for i in range(3))
    lik = Likelihood("negbin", 200.0)
    rng = np.random.default_rng(2024)
    ranks, covered = [], []
    t0 = time.perf_counter()
    for k in range(args.datasets):
        z_true = rng.standard_normal((1, 2))
        base = CalibrationProblem(
            model, groups, [Target("y", ("arrivals",), periods, np.ones(3), lik)], months=36, dt=1.0
        )
        y = base.simulate_observations(z_true, rng)["y"][0]
        prob = CalibrationProblem(
            model, groups, [Target("y", ("arrivals",), periods, y, lik)], months=36, dt=1.0
        )
        cal = calibrate(prob, args.method, particles=args.particles, generations=6, seed=k)
        truth = prob.values(z_true)[0]
        draws = prob.values(cal.resample(L))
        ranks.append((draws < truth[None, :]).sum(axis=0))
        q = weighted_quantiles(cal.values, cal.weights, [0.05, 0.95])
        covered.append((q[0] <= truth) & (truth <= q[1]))
    took = time.perf_counter() - t0
    ranks_a, cov = np.array(ranks), np.array(covered)
    ok = True
    for j, g in enumerate(groups):
        counts = np.histogram(ranks_a[:, j], bins=10, range=(0, L + 1))[0]
        p = stats.chisquare(counts).pvalue
        c = cov[:, j].mean()
        print(f"sbc_rank_chisquare_p_{g.name}: {p:.3f} p-value")
        print(f"sbc_coverage_90_{g.name}: {100 * c:.0f} %")
        ok &= p > 0.01 and 0.85 <= c <= 0.95 if args.datasets >= 100 else p > 0.01
    print(f"sbc_datasets: {args.datasets} fits")
    print(f"sbc_time: {took:.0f} s")
    print(f"sbc_passed: {int(ok)} bool")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

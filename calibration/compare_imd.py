"""Fit ``calibration/england-imd.yaml`` and compare its multipliers with the ones derived from counts.

Run from the project root::

    python -m calibration.compare_imd [--particles N] [--seed S]

Prints, for each IMD quintile, the multiplier ``models/data/derive_strata.py`` computed directly
from the 2022-23 counts (as ``models/england-imd.yaml`` carries it) and the fitted posterior
median with its 90% interval (fitted on 2020-21 and 2021-22), then both normalised the way the
data identify them: referral multipliers to a population-weighted mean of 1 (shares of referrals
are unchanged by a common factor), success multipliers relative to Q5 (the recovery rates fix
success x multiplier, the level being the model's own IAPT success). Also prints how far the
data moved the common referral factor from its prior (what the data cannot identify) and the
fit's wall time.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from simulator.analysis._calibrate import calibrate
from simulator.analysis._scores import weighted_quantiles
from simulator.core._strata_transform import strata_of
from simulator.files._calibration_spec import load_calibration

SPEC = Path(__file__).resolve().parent / "england-imd.yaml"


def _row(name: str, derived: float, q: np.ndarray, d_norm: float, f_norm: float) -> str:
    return f"{name:<22} {derived:8.4f} {q[1]:8.4f} [{q[0]:.4f}, {q[2]:.4f}]   {d_norm:8.4f} {f_norm:8.4f}"


def main(argv: list[str] | None = None) -> None:
    """Fit the spec and print the comparison table.

    Parameters
    ----------
    argv
        Command-line arguments (``--particles``, ``--seed``).
    """
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--particles", type=int, default=None)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args(argv)
    spec = load_calibration(SPEC)
    problem = spec.problem
    (st,) = strata_of(problem.model)
    pop = np.asarray(st.population) / np.sum(st.population)
    t0 = time.perf_counter()
    cal = calibrate(problem, spec.method, particles=args.particles or spec.particles,
                    seed=spec.seed if args.seed is None else args.seed)  # fmt: skip
    wall = time.perf_counter() - t0
    vals, w = cal.values, cal.weights
    print(f"fit: {len(vals)} particles, {wall:.1f} s wall, ESS {cal.population.ess:.0f}")
    print(f"{'multiplier':<22} {'derived':>8} {'fitted':>8} {'90% interval':>18}   "
          f"{'derived*':>8} {'fitted*':>8}  (* normalised as identified)")  # fmt: skip
    for kind, param in (("referral", "g2c_pcnt"), ("success", "success")):
        derived = np.asarray(st.multipliers[param][0], dtype=float)
        cols = [problem.columns.index(f"{kind}_q{k + 1}") for k in range(5)]
        fitted = vals[:, cols]
        if kind == "referral":
            norm_f, norm_d = fitted / (fitted @ pop)[:, None], derived / (derived @ pop)
        else:
            norm_f, norm_d = fitted / fitted[:, [4]], derived / derived[4]
        for k in range(5):
            q = weighted_quantiles(fitted[:, [k]], w, [0.05, 0.5, 0.95])[:, 0]
            nf = float(weighted_quantiles(norm_f[:, [k]], w, [0.5])[0, 0])
            print(_row(f"{kind} {st.categories[k]}", derived[k], q, norm_d[k], nf))
    common = np.log(vals[:, [problem.columns.index(f"referral_q{k + 1}") for k in range(5)]]).mean(axis=1)
    mean = np.average(common, weights=w)
    sd = np.sqrt(np.average((common - mean) ** 2, weights=w))
    print(
        f"common referral factor (mean log multiplier): posterior sd {sd:.3f}, prior sd {0.5 / np.sqrt(5):.3f}"
    )
    held = problem.loglik(cal.resample(200), held_out=True)
    print(f"held-out years log-likelihood, median over 200 posterior draws: {np.median(held):.1f}")


if __name__ == "__main__":
    main()

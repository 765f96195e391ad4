"""Intervention comparison benchmark (issue: interventions).

Eight packages (the five shipped packages and three single interventions) and
the baseline on a 10,000-member England ensemble (``scenarios/england-evidence.yaml``,
dt = 0.2), common draws: 90,000 model runs.  Target: <= 30 s on 2 cores.
Prints ``name: value unit`` lines.
"""

from __future__ import annotations

import resource
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
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


def main() -> None:
    warnings.filterwarnings("ignore")
    from simulator.analysis import appraise
    from simulator.files import load_package, load_scenario

    sc = load_scenario(ROOT / "scenarios" / "england-evidence.yaml")
    pkgs = [load_package(p, ROOT) for p in PACKAGES]
    appraise(sc.model, pkgs, design=sc.design, members=64, seed=1, dt=sc.dt)  # warm up
    t = time.perf_counter()
    a = appraise(sc.model, pkgs, design=sc.design, members=10_000, seed=sc.seed, dt=sc.dt)
    el = time.perf_counter() - t
    print(f"compare_8_packages_10000_members: {el:.1f} s")
    print(f"model_runs: {10_000 * (len(pkgs) + 1)} runs")
    print(f"runs_per_second: {10_000 * (len(pkgs) + 1) / el:.0f} runs/s")
    print(f"peak_rss: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    assert len(a.table()) == len(pkgs)


if __name__ == "__main__":
    main()

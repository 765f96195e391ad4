"""Board report benchmark (issue 15): England, 2,000 members, 3 packages, one HTML file.

``scenarios/england-evidence.yaml`` (30 uncertainty groups, dt = 0.2) as a 2,000-member
ensemble, three packages compared against the baseline on the same draws, and the
report drawn (fan charts, frontier, averted referrals, system map, provenance).
Target: <= 30 s on 2 cores from loading the scenario to the written file.

Also measured in the same run, so the figures are ratios: the ensemble and the
appraisal alone (what ``upstream sweep`` and ``upstream compare-interventions``
cost) and the drawing alone (``BoardReport.html`` on results already run), and the
system map on its own.  Prints ``name: value unit`` lines.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = 2_000
PACKAGES = ["upstream-mix", "downstream-capacity", "crisis-alternatives"]


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    warnings.filterwarnings("ignore")
    from simulator.analysis import appraise, scenario_ensemble
    from simulator.files import load_package, load_scenario
    from simulator.report import board_report, build_report, system_map, use_file_backend

    use_file_backend()
    path = ROOT / "scenarios" / "england-evidence.yaml"
    build_report(path, PACKAGES[:1], members=32, seed=1).html()  # warm up: imports, compiled kernels
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.html"
        t, cpu = time.perf_counter(), _cpu()
        board_report(path, PACKAGES, members=MEMBERS, path=out)
        total, cpu = time.perf_counter() - t, _cpu() - cpu
        size = out.stat().st_size
    print(f"report_{MEMBERS}_members_{len(PACKAGES)}_packages: {total:.1f} s")
    # CPU seconds of this process and its worker processes: on a machine shared with other work the
    # wall time stretches, the CPU time much less; on 2 idle cores the wall time is at best half of it
    print(f"report_cpu_time: {cpu:.1f} s")
    print(f"report_size: {size / 1e6:.2f} MB")

    t = time.perf_counter()
    sc = load_scenario(path)
    pkgs = [load_package(p, ROOT) for p in PACKAGES]
    ens = scenario_ensemble(sc, members=MEMBERS)
    a = appraise(sc.model, pkgs, design=sc.design, members=MEMBERS, seed=sc.seed, sampler=sc.sampler,
                 months=sc.months, dt=sc.dt, method=sc.method)  # fmt: skip
    runs = time.perf_counter() - t
    print(f"ensemble_and_appraisal_alone: {runs:.1f} s")
    t = time.perf_counter()
    build_report(sc, pkgs, ensemble=ens, appraisal=a).html()
    drawing = time.perf_counter() - t
    print(f"drawing_alone: {drawing:.1f} s")
    print(f"drawing_share_of_report: {drawing / total:.2f}")
    t = time.perf_counter()
    smap = system_map(sc.model, packages=pkgs, dt=sc.dt)
    smap.to_html()
    print(f"system_map_html: {(time.perf_counter() - t) * 1e3:.0f} ms")
    t = time.perf_counter()
    smap.to_svg()
    print(f"system_map_svg: {(time.perf_counter() - t) * 1e3:.0f} ms")
    print(f"peak_rss: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()

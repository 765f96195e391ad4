"""Capacity benchmark (issue: capacity, waiting lists and escalation).

The England model with a capacity on every service and the default 6-band wait
chain (``models/england-capacity.yaml``) as a 10,000-member ensemble
(``scenarios/england-capacity.yaml``: uncertain capacity, escalation and
drop-out), dt = 1, every capacity output reduced per service.  Target: <= 5 s
on 2 cores.  Also prints one deterministic run and the same ensemble on one
thread, so the figures are ratios measured in the same run.
Prints ``name: value unit`` lines.
"""

from __future__ import annotations

import resource
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = 10_000


def main() -> None:
    warnings.filterwarnings("ignore")
    import simulator as up
    from simulator.analysis import run_ensemble
    from simulator.files import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "england-capacity.yaml")
    m = sc.model
    spec = m.spec
    n_stocks = sum(len(s.space) for s in spec.stocks)
    n_flows = sum(len(b.of) for b in m.compiled.transfers if b.moves)
    print(
        f"model: {spec.name}, {len(spec.meta['capacitated'])} capacitated services, "
        f"{len(spec.dims['stage'])} wait bands"
    )
    print(f"stock_elements: {n_stocks}")
    print(f"moving_flow_elements: {n_flows}")
    up.simulate(m)  # compile and warm up
    t = time.perf_counter()
    for _ in range(20):
        up.simulate(m)
    print(f"single_run: {(time.perf_counter() - t) / 20 * 1e3:.1f} ms")
    run_ensemble(m, sc.design, members=256, seed=1, dt=sc.dt)  # warm up
    for workers, label in ((None, "2_cores"), (1, "1_thread")):
        t = time.perf_counter()
        res = run_ensemble(m, sc.design, members=MEMBERS, seed=sc.seed, dt=sc.dt, workers=workers)
        el = time.perf_counter() - t
        print(f"ensemble_{MEMBERS}_members_{label}: {el:.2f} s")
    print(f"members_per_second: {MEMBERS / el:.0f} members/s (1 thread)")
    print(f"peak_rss: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    assert float(res.summary["waiting_peak"].sel(stat="p50").max()) > 0


if __name__ == "__main__":
    main()

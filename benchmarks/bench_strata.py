"""Stratified ensemble benchmark: England by IMD quintile against England, in the same run (issue 14).

The evidence-range scenario (``scenarios/england-evidence.yaml``: 30 uncertainty groups,
dt = 0.2, 36 months) as a 10,000-member ensemble, once on the England model and once on
``models/england-imd.yaml`` (every group in five deprivation quintiles: five times the
paths). Both are warmed up, then timed alternately ``--repeat`` times; the ratio of the
best times is the figure (target <= 5).

Prints ``name: value unit`` lines. Run ``python benchmarks/bench_strata.py [--members N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "england-evidence.yaml"


def _scenarios():
    from simulator.files._scenarios import load_scenario

    text = SCENARIO.read_text(encoding="utf-8")
    assert "\nmodel: england\n" in text
    with tempfile.TemporaryDirectory() as tmp:
        imd = Path(tmp) / "england-imd-evidence.yaml"
        imd.write_text(text.replace("\nmodel: england\n", "\nmodel: england-imd\n"), encoding="utf-8")
        return load_scenario(SCENARIO), load_scenario(imd)


def main() -> None:
    """Time both ensembles and print the figures."""
    from simulator.analysis._ensembles import scenario_ensemble
    from simulator.core._strata_transform import strata_of

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    plain, imd = _scenarios()
    assert strata_of(imd.model)[0].name == "deprivation"
    for sc in (plain, imd):
        scenario_ensemble(sc, members=256)  # warm up: imports, compilation
    best = {"plain": float("inf"), "imd": float("inf")}
    for _ in range(args.repeat):
        for key, sc in (("plain", plain), ("imd", imd)):
            t = time.perf_counter()
            r = scenario_ensemble(sc, members=args.members)
            best[key] = min(best[key], time.perf_counter() - t)
            assert r.members.sizes["member"] == args.members
    paths = len(plain.model.spec.stock("treatment").space), len(imd.model.spec.stock("treatment").space)
    print(f"paths_england: {paths[0]} paths")
    print(f"paths_england_imd_quintiles: {paths[1]} paths")
    print(f"ensemble_{args.members}_england: {best['plain']:.2f} s")
    print(f"ensemble_{args.members}_england_imd_quintiles: {best['imd']:.2f} s")
    print(f"stratified_over_unstratified: {best['imd'] / best['plain']:.2f} x")


if __name__ == "__main__":
    main()

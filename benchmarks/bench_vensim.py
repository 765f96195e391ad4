"""Vensim interop benchmark (issue: Vensim / XMILE interop through PySD).

The England surge workbook is exported to Vensim (``dt`` = 0.2: 36 months, 176
steps, 597 stock elements), then

* PySD 3.14 translates the exported file and runs it ``--pysd-runs`` times
  (each run with its own jittered parameters, as an ensemble member would);
* Upstream imports the same file through PySD's parser (no PySD code in the
  run) and runs a ``--members`` ensemble with the same kind of parameters,
  recording the monthly caseload and referrals (summed over paths);
* the first PySD members are compared with the same Upstream members.

Prints one figure per line as ``name: value unit``; ``throughput_ratio`` is
PySD's time per run over Upstream's time per member, measured in the same run.

Run: ``python benchmarks/bench_vensim.py`` (``--members``, ``--pysd-runs``, ``--dt``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from simulator import load_model, simulate
from simulator.vensim import export_mdl, import_model

warnings.filterwarnings("ignore")


JITTERED = ("success", "decay", "treat_pcnt", "split")


def jittered(defaults: dict[str, np.ndarray], members: int, seed: int = 2020) -> dict[str, np.ndarray]:
    """Success, decay, start and path split parameters scaled by U(0.8, 1.2) per member."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in JITTERED:
        v = defaults[name]
        out[name] = v * rng.uniform(0.8, 1.2, (members, v.size))
        if name != "split":
            out[name] = np.clip(out[name], 0.0, 1.0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=10_000)
    ap.add_argument("--pysd-runs", type=int, default=20)
    ap.add_argument("--dt", type=float, default=0.2)
    args = ap.parse_args()
    import pysd

    print(f"cores: {os.cpu_count()} count")
    folder = Path(tempfile.mkdtemp(prefix="bench-vensim-"))
    try:
        path = export_mdl(load_model("england"), folder / "england.mdl", dt=args.dt)
        print(f"exported_file_size: {path.stat().st_size / 1e3:.0f} kB")

        # ---------------------------------------------------------------- PySD
        t = time.perf_counter()
        ref = pysd.read_vensim(str(path))
        print(f"pysd_translate: {time.perf_counter() - t:.2f} s")
        defaults = {n: np.asarray(getattr(ref.components, n)().values).reshape(-1) for n in JITTERED}
        pysd_params = jittered(defaults, args.pysd_runs)
        runs, pysd_out = [], []
        for i in range(args.pysd_runs):
            member = {n: _as_pysd(ref, n, v[i]) for n, v in pysd_params.items()}
            t = time.perf_counter()
            df = ref.run(params=member, return_columns=["treatment", "new referral"], flatten_output=False)
            runs.append(time.perf_counter() - t)
            pysd_out.append(np.array([float(x.sum()) for x in df["treatment"]]))
        pysd_run = statistics.mean(runs)
        print(f"pysd_runs: {args.pysd_runs} count")
        print(f"pysd_run_mean: {pysd_run:.3f} s")
        print(f"pysd_run_median: {statistics.median(runs):.3f} s")

        # ---------------------------------------------------------------- Upstream
        t = time.perf_counter()
        model = import_model(path)
        model.compiled  # noqa: B018 - compile as part of loading
        print(f"upstream_import: {time.perf_counter() - t:.2f} s")
        simulate(model)
        t = time.perf_counter()
        for _ in range(5):
            simulate(model)
        print(f"upstream_single_run: {(time.perf_counter() - t) / 5 * 1e3:.1f} ms")
        params = jittered({n: model.spec.param(n).values for n in JITTERED}, args.members)
        for n, v in pysd_params.items():  # the first members are the ones PySD ran
            params[n][: args.pysd_runs] = v
        record = {"treatment": [], "new_referral": []}
        t = time.perf_counter()
        ds = simulate(model, params=params, record=record)
        ens = time.perf_counter() - t
        per_member = ens / args.members
        print(f"upstream_ensemble_{args.members}_members: {ens:.2f} s")
        print(f"upstream_per_member: {per_member * 1e3:.3f} ms")
        print(f"throughput_ratio: {pysd_run / per_member:.0f} x")

        ours = ds["treatment"].to_numpy()[: args.pysd_runs]
        diff = max(
            float(np.max(np.abs(ours[i] - p) / np.abs(p).clip(1e-300))) for i, p in enumerate(pysd_out)
        )
        print(f"max_relative_difference_vs_pysd: {diff:.1e} ratio")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _as_pysd(model, name, row):
    default = getattr(model.components, name)()
    return default.copy(data=np.asarray(row).reshape(default.shape))


if __name__ == "__main__":
    main()

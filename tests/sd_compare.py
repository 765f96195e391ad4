"""Helpers to compare Upstream runs of Vensim/XMILE models with canonical outputs and PySD."""

from __future__ import annotations

import io
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.vensim._names import normal

ROOT = Path(__file__).resolve().parent / "sd_test_models"


def read_output(path: Path) -> pd.DataFrame:
    """A canonical output (.csv or .tab, any line endings, UTF-8 or Latin-1) indexed by time."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    df = pd.read_csv(io.StringIO(text), sep="\t" if path.suffix == ".tab" else ",", index_col=0)
    df.index = df.index.astype(float)
    return df[~np.isnan(df.index)]


def column_key(col: str) -> str:
    """``Stock A[Entry 1, Column 2]`` -> ``stock_a[entry_1,column_2]`` (Vensim's matching rules)."""
    m = re.match(r"^(.*?)\[(.*)\]$", str(col))
    if m:
        return normal(m.group(1)) + "[" + ",".join(normal(x) for x in m.group(2).split(",")) + "]"
    return normal(str(col))


def upstream_frame(model, ds) -> pd.DataFrame:
    """Every variable and constant of an Upstream run of an imported model, one column per element."""
    spec = model.spec
    names = spec.meta["vensim_names"]
    lookups = set(spec.meta.get("lookups", ()))
    cols = {}
    for var, da in ds.data_vars.items():
        if var not in names:
            continue
        da = da.isel(member=0)
        dims = [d for d in da.dims if d != "time"]
        if not dims:
            cols[normal(names[var])] = da.to_numpy()
            continue
        st = da.stack(e=dims)
        for i, key in enumerate(st["e"].to_numpy()):
            key = key if isinstance(key, tuple) else (key,)
            cols[normal(names[var]) + "[" + ",".join(normal(k) for k in key) + "]"] = st.to_numpy()[:, i]
    for p in spec.params:
        if p.name not in names or p.name in lookups:
            continue
        for c, v in zip(p.space.coords, p.values):
            key = normal(names[p.name]) + ("[" + ",".join(normal(k) for k in c) + "]" if c else "")
            cols[key] = np.full(len(ds["time"]), v)
    return pd.DataFrame(cols, index=ds["time"].to_numpy())


def pysd_frame(model_file: Path, workdir: Path, columns) -> pd.DataFrame:
    """PySD's run of a model, translated in ``workdir`` (PySD writes its Python file there)."""
    import pysd

    target = workdir / model_file.name
    shutil.copy(model_file, target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pysd.read_vensim(str(target)) if target.suffix == ".mdl" else pysd.read_xmile(str(target))
        try:
            out = m.run(return_columns=list(columns))
        except KeyError:  # some XMILE files name variables differently from their canonical output
            out = m.run()
    out.columns = [column_key(c) for c in out.columns]
    return out


def mismatches(frame: pd.DataFrame, expected: pd.DataFrame, rtol: float, atol: float) -> list[str]:
    """Columns of ``expected`` that ``frame`` does not reproduce at ``expected``'s times."""
    bad = []
    idx = expected.index.to_numpy(dtype=float)
    keys = {column_key(c): c for c in expected.columns}
    for key, col in keys.items():
        if key in ("time", "final_time", "initial_time", "saveper", "time_step"):
            continue
        exp = expected[col].to_numpy(dtype=float)
        if np.all(np.isnan(exp[1:])):  # Vensim writes constants in the first row only
            exp = np.full_like(exp, exp[0])
        if key not in frame.columns:
            if not np.all(np.isnan(exp)):
                bad.append(f"{col}: not in the run")
            continue
        # canonical outputs round times to 6 digits (10.0312 for 10.03125)
        got = frame[key].reindex(idx, method="nearest", tolerance=1e-5 * np.maximum(1, np.abs(idx)))
        got = got.to_numpy(dtype=float)
        ok = (np.abs(got - exp) <= atol + rtol * np.abs(exp)) | (np.isnan(got) & np.isnan(exp))
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            bad.append(f"{col} at time {idx[i]:g}: expected {exp[i]!r}, got {got[i]!r}")
    return bad

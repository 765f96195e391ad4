"""An independent transcription of the Strategy Unit's R model (``run_model`` + deSolve Euler).

Deliberately written the R way, not the Upstream way: the parameter matrix
per path sorted by ``group|condition|treatment`` name, the ``initial_treatment_map``
0/1 matrix and matrix products for the group sums, flows computed at each output
time from the state at that time, and ``y <- y + (t[i+1] - t[i]) * f`` steps
over ``seq(0, months - 1, dt)``.  It shares no code with ``simulator``; it reads
the workbook with pandas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def r_seq(start: float, end: float, by: float) -> np.ndarray:
    """R's ``seq(start, end, by)``: ``start + (0:n) * by`` with ``n = floor((end - start) / by + 1e-10)``."""
    n = int(np.floor((end - start) / by + 1e-10))
    return start + np.arange(n + 1) * by


def run_reference(path: str, dt: float, months: int | None = None, curve: str | None = None):
    """Return a long DataFrame ``time,type,group,condition,treatment,value`` as R's model would."""
    x = pd.read_excel(path, sheet_name=None, engine="openpyxl")
    groups, g2c, c2t, tr, cu = x["groups"], x["g2c"], x["c2t"], x["treatments"], x["curves"]
    if curve is not None:
        groups = groups.assign(curve=curve)
    # get_model_params: inner join c2t with g2c, pcnt * split / sum(split) per (group, condition)
    p = c2t.merge(g2c, on=["group", "condition"], how="inner")
    p["pcnt"] = p["pcnt"] * p["split"] / p.groupby(["group", "condition"])["split"].transform("sum")
    p = p.merge(tr, on="treatment")
    # half_life_factor then 1 - exp(): 1 - exp(log(1 - decay) / months)
    with np.errstate(divide="ignore"):
        p["decay"] = 1 - np.exp(np.log(1 - p["decay"]) / p["months"])
    p["name"] = p["group"] + "|" + p["condition"] + "|" + p["treatment"]
    p = p.sort_values("name", key=lambda s: s.str.lower() if False else s).reset_index(drop=True)
    treatments = list(p["name"])
    all_initials = [n.split("|")[0] for n in treatments]
    initials = list(dict.fromkeys(all_initials))
    itm = np.array([[1.0 if a == b else 0.0 for b in initials] for a in all_initials])
    pcnt, treat, success, decay = (p[c].to_numpy() for c in ("pcnt", "treat_pcnt", "success", "decay"))
    gi = groups.set_index("group")
    n_months = len(cu) if months is None else months
    curve_x = cu["month"].to_numpy(dtype=float)

    def potential(t: float) -> np.ndarray:
        out = []
        for g in initials:
            y = cu[gi.loc[g, "curve"]].to_numpy() * gi.loc[g, "size"] * gi.loc[g, "pcnt"] / 100
            out.append(np.interp(t, curve_x, y))  # approxfun(rule = 2)
        return np.array(out)

    ni, nt = len(initials), len(treatments)

    def model(t: float, y: np.ndarray):
        initial_stocks = y[1 : 1 + ni]
        treat_stocks = y[1 + ni :]
        f_new_potential = potential(t)
        initials_matrix = itm @ initial_stocks.reshape(-1, 1)
        f_referrals = initials_matrix[:, 0] * pcnt
        f_pot_treat = f_referrals * treat
        f_no_needs = initial_stocks * (1 - (pcnt.reshape(1, -1) @ itm))[0, :]
        f_treat_pot = treat_stocks * (1 - success) * decay
        f_treat_no_needs = treat_stocks * (0 + success) * decay
        f_pot_treat_initials = (f_pot_treat.reshape(1, -1) @ itm)[0, :]
        f_treat_pot_initials = (f_treat_pot.reshape(1, -1) @ itm)[0, :]
        dy = np.concatenate(
            [
                [f_no_needs.sum() + f_treat_no_needs.sum()],
                f_new_potential + f_treat_pot_initials - f_pot_treat_initials - f_no_needs,
                f_pot_treat - f_treat_pot - f_treat_no_needs,
            ]
        )
        return dy, f_new_potential, f_referrals, f_pot_treat

    times = r_seq(0, n_months - 1, dt)
    y = np.zeros(1 + ni + nt)
    rows = []
    for i, t in enumerate(times):
        dy, fnp, fref, fpt = model(t, y)
        rows.append((t, y.copy(), fnp, fref, fpt))
        if i + 1 < len(times):
            y = y + (times[i + 1] - t) * dy
    split = [n.split("|") for n in treatments]
    recs = []
    for t, yy, fnp, fref, fpt in rows:
        recs.append((t, "no-mh-needs", "", "", "", yy[0]))
        recs += [(t, "at-risk", g, "", "", v) for g, v in zip(initials, yy[1 : 1 + ni])]
        recs += [(t, "treatment", *s, v) for s, v in zip(split, yy[1 + ni :])]
        recs += [(t, "new-at-risk", g, "", "", v) for g, v in zip(initials, fnp)]
        recs += [(t, "new-referral", *s, v) for s, v in zip(split, fref)]
        recs += [(t, "new-treatment", *s, v) for s, v in zip(split, fpt)]
    return pd.DataFrame(recs, columns=["time", "type", "group", "condition", "treatment", "value"])

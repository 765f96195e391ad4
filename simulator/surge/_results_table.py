"""The surge model's own results table (the Strategy Unit's CSV layout, ``su-csv``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from simulator.core._results import tidy

__all__ = ["SU_TYPES", "su_table"]

#: the surge model's own tidy-table types, and the variables they come from
SU_TYPES = {
    "no-mh-needs": "no_mh_needs",
    "at-risk": "at_risk",
    "treatment": "treatment",
    "new-at-risk": "new_at_risk",
    "new-referral": "new_referral",
    "new-treatment": "new_treatment",
}


def su_table(ds: xr.Dataset, member: int = 0) -> pd.DataFrame:
    """The surge model's own tidy table: ``time,type,group,condition,treatment,value``.

    One row per series per whole month, in the surge model's order (time, then
    no-mh-needs, at-risk, treatment, new-at-risk, new-referral, new-treatment);
    group/condition/treatment blank where they do not apply.

    Parameters
    ----------
    ds
        Results of a surge model run.
    member
        The ensemble member to list.

    Returns
    -------
    pandas.DataFrame
        The table (people, and referrals and starts per month), time in whole months.
    """
    missing = [v for v in SU_TYPES.values() if v not in ds]
    if missing:
        raise ValueError(f"these results lack {missing}: su-csv needs a surge model run")
    one = ds.isel(member=member)
    parts = []
    for typ, var in SU_TYPES.items():
        t = tidy(one.expand_dims("member").assign_coords(member=[member]), [var])
        t = t.rename(columns={"service": "treatment", "variable": "type"})
        t["type"] = typ
        for c in ("group", "condition", "treatment"):
            if c not in t:
                t[c] = ""
        t["_order"] = list(SU_TYPES).index(typ)
        t["_pos"] = np.arange(len(t)) % max(1, len(t) // len(one["time"]))
        parts.append(t)
    df = pd.concat(parts, ignore_index=True)
    df = df.sort_values(["time", "_order", "_pos"], kind="stable")
    df["time"] = df["time"].round().astype(int)
    return df[["time", "type", "group", "condition", "treatment", "value"]].reset_index(drop=True)

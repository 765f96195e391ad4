"""Scenarios side by side on the same draws (common random numbers).

Every scenario runs with the first scenario's ensemble size, seed and
sampler.  Draws are keyed by uncertainty-group name, so a group present in
several scenarios gets the same values in each: member ``i`` of one
scenario is member ``i`` of the other, and differences between scenarios
are computed member by member, which makes their spread much smaller than
comparing independent ensembles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from simulator.analysis._ensembles import EnsembleResult, elements, scenario_ensemble
from simulator.analysis._scenario import Scenario

__all__ = ["Comparison", "compare_scenarios"]


def _num(v: float) -> str:
    """People counts in thousands-separated whole numbers; small values (rates, shares) in 4 figures."""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.4g}"


@dataclass
class Comparison:
    """Results of several scenarios on common draws."""

    names: list[str]
    results: list[EnsembleResult]

    def table(self, output: str = "referrals_total", services: Sequence[str] | None = None) -> pd.DataFrame:
        """Per service: each scenario's median and interval, and the paired difference from the first.

        Parameters
        ----------
        output
            A per-member figure, e.g. ``referrals_total`` (people).
        services
            Services to show; default all.

        Returns
        -------
        pandas.DataFrame
            One row per service (or element), in the output's unit.
        """
        base = self.results[0]
        qs = base.quantile_names()
        lo, hi = qs[0], qs[-1]
        if output not in base.summary:
            have = [str(k) for k in base.summary.data_vars if "time" not in base.summary[k].dims]
            raise KeyError(f"no output {output!r}; outputs: {', '.join(have)}")
        if "service" in base.summary[output].dims:
            chosen = list(services) if services else list(base.summary["service"].to_numpy())
            rows_of = [(s, {"service": s}) for s in chosen]
        else:  # a model's own variables: one row per element of the output
            rows_of = [(label or output, sel) for label, sel in elements(base.summary[output])]
        rows = []
        for s, sel in rows_of:
            row: dict[str, object] = {"service": s}
            for name, r in zip(self.names, self.results):
                da = r.summary[output].sel(sel)
                row[f"{name} median"] = float(da.sel(stat="p50"))
                row[f"{name} {lo}"] = float(da.sel(stat=lo))
                row[f"{name} {hi}"] = float(da.sel(stat=hi))
            if base.members is not None:
                b = base.members[output].sel(sel).to_numpy()
                for name, r in zip(self.names[1:], self.results[1:]):
                    d = r.members[output].sel(sel).to_numpy() - b  # type: ignore[index]
                    q = np.quantile(d, [float(lo[1:]) / 100, 0.5, float(hi[1:]) / 100])
                    row[f"{name} - {self.names[0]} median"] = q[1]
                    row[f"{name} - {self.names[0]} {lo}"] = q[0]
                    row[f"{name} - {self.names[0]} {hi}"] = q[2]
            rows.append(row)
        return pd.DataFrame(rows)

    def format_table(self, output: str = "referrals_total", services=None, top: int | None = None) -> str:
        """Text table: ``median [low-high]`` per scenario and paired differences.

        Parameters
        ----------
        output, services
            As for :meth:`table`.
        top
            Show only the ``top`` rows with the largest baseline median.

        Returns
        -------
        str
        """
        df = self.table(output, services)
        base = self.results[0]
        qs = base.quantile_names()
        lo, hi = qs[0], qs[-1]
        df = df.sort_values(f"{self.names[0]} median", ascending=False)
        if top:
            df = df.head(top)
        out = pd.DataFrame({"Service": df["service"]})
        cols = [*self.names, *[f"{n} - {self.names[0]}" for n in self.names[1:]]]
        for c in cols:
            if f"{c} median" in df:
                out[c] = [
                    f"{_num(m)} [{_num(a)} to {_num(b)}]"
                    for m, a, b in zip(df[f"{c} median"], df[f"{c} {lo}"], df[f"{c} {hi}"])
                ]
        return f"{output}: median [{lo} to {hi}]\n" + out.to_string(index=False)

    def summary(self) -> xr.Dataset:
        """All summaries stacked along a ``scenario`` dimension.

        Returns
        -------
        xarray.Dataset
        """
        return xr.concat([r.summary for r in self.results], dim=pd.Index(self.names, name="scenario"))


def compare_scenarios(scenarios: Sequence[Scenario], **overrides) -> Comparison:
    """Run every scenario on the first one's members, seed and sampler.

    Parameters
    ----------
    scenarios
        The scenarios, the first being the baseline.
    **overrides
        Run options for every scenario (``members``, ``seed``, ``sampler`` ...).

    Returns
    -------
    Comparison
    """
    first = scenarios[0]
    common = {
        "members": overrides.pop("members", None) or first.members,
        "seed": overrides.pop("seed", None) if overrides.get("seed") is not None else first.seed,
        "sampler": overrides.pop("sampler", None) or first.sampler,
    }
    overrides.pop("seed", None)
    names = []
    for s in scenarios:
        name = s.name
        while name in names:
            name += "'"
        names.append(name)
    results = [scenario_ensemble(s, **common, **overrides) for s in scenarios]
    return Comparison(names, results)

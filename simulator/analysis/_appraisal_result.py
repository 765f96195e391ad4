"""The result of an intervention appraisal: per-member outcomes of every package, and their tables.

:class:`Appraisal` holds the baseline and every package run on the same members
(common random numbers) and derives from them what each package averts: member
by member, as medians and intervals, per service, as pairwise probabilities and,
for inequalities, by group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from simulator.analysis._equity_defs import METRICS

__all__ = ["BASELINE", "Appraisal"]

#: name of the run without interventions every package is compared with
BASELINE = "baseline"


@dataclass
class Appraisal:
    """Per-member outcomes of the baseline and every package on common draws.

    Attributes
    ----------
    members
        ``(package, member, ...)`` dataset: ``referrals`` / ``starts`` / ``contacts``
        totals per service, ``referrals_monthly`` (all services, per month),
        ``at_risk_months`` per group, ``crisis_referrals``, ``cost``; for capacity
        models also ``waiting_months`` (person-months on waiting lists) and
        ``escalations`` (people escalating from waiting lists) per service.
    """

    members: xr.Dataset
    packages: list[str]
    crisis: list[str]
    meta: dict[str, object] = field(default_factory=dict)
    #: stratified models: each member's gap in one metric per package (``(package, member)``:
    #: ``sii``, ``rii`` or ``range``, ``extreme_ratio``), from
    #: :func:`simulator.analysis._equity_run.equity_of_packages`; ``None`` otherwise
    equity: xr.Dataset | None = None

    OUTCOMES: ClassVar[dict[str, str]] = {
        "referrals": "referrals averted",
        "starts": "treatment starts averted",
        "at_risk": "people-months at risk averted",
        "contacts": "contacts saved",
        "crisis": "crisis referrals averted",
    }
    #: outcomes of capacity models (waiting lists)
    CAPACITY_OUTCOMES: ClassVar[dict[str, str]] = {
        "waiting": "person-months waiting averted",
        "escalations": "escalations to crisis averted",
    }

    @property
    def outcomes(self) -> dict[str, str]:
        """Outcome keys and labels (waiting lists for capacity models; variables for other models)."""
        if self.meta.get("variables"):
            variables: list[str] = self.meta["variables"]  # type: ignore[assignment]
            return {v: f"{v} (total) averted" for v in variables}
        if "waiting_months" in self.members:
            return {**self.OUTCOMES, **self.CAPACITY_OUTCOMES}
        return dict(self.OUTCOMES)

    @property
    def main_outcome(self) -> str:
        """The outcome costs are divided by: referrals, or a non-surge model's first variable."""
        return next(iter(self.outcomes)) if self.meta.get("variables") else "referrals"

    def averted(self, outcome: str = "referrals") -> xr.DataArray:
        """Baseline minus package, per member (positive = better), for an outcome.

        Parameters
        ----------
        outcome
            A key of :attr:`outcomes`.

        Returns
        -------
        xarray.DataArray
            ``(package, member)``: people, people x months or contacts averted (0 for the baseline).

        Raises
        ------
        KeyError
            If the outcome is not one of this appraisal's.
        """
        m = self.members
        if self.meta.get("variables"):
            if outcome not in self.outcomes:
                raise KeyError(f"outcome {outcome!r} is not one of {', '.join(self.outcomes)}")
            total = m[f"total_{outcome}"]
            return total.sel(package=BASELINE) - total
        total = {
            "referrals": m["referrals"].sum("service"),
            "starts": m["starts"].sum("service"),
            "contacts": m["contacts"].sum("service"),
            "at_risk": m["at_risk_months"].sum("group"),
            "crisis": m["crisis_referrals"],
            "waiting": m["waiting_months"].sum("service") if "waiting_months" in m else None,
            "escalations": m["escalations"].sum("service") if "escalations" in m else None,
        }[outcome]
        if total is None:
            raise KeyError(f"outcome {outcome!r} needs a capacity model")
        return total.sel(package=BASELINE) - total

    def table(self, quantiles: Sequence[float] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
        """Per package: every outcome and the cost, median and interval over members.

        Parameters
        ----------
        quantiles
            Low, median and high quantiles.

        Returns
        -------
        pandas.DataFrame
            One row per package: ``LABEL median/low/high`` per outcome, cost (pounds), cost
            per main outcome averted, and the share of members averting it.
        """
        rows = []
        for p in self.packages:
            if p == BASELINE:
                continue
            row: dict[str, object] = {"package": p}
            for key, label in self.outcomes.items():
                q = np.quantile(self.averted(key).sel(package=p).to_numpy(), quantiles)
                row[f"{label} median"], row[f"{label} low"], row[f"{label} high"] = q[1], q[0], q[2]
            cost = self.members["cost"].sel(package=p).to_numpy()
            q = np.quantile(cost, quantiles)
            row["cost median"], row["cost low"], row["cost high"] = q[1], q[0], q[2]
            main = self.main_outcome
            unit = "referral" if main == "referrals" else main
            averted = self.averted(main).sel(package=p).to_numpy()
            with np.errstate(divide="ignore", invalid="ignore"):
                per = np.where(averted > 0, cost / averted, np.nan)
            ok = per[np.isfinite(per)]
            q = np.quantile(ok, quantiles) if len(ok) else [np.nan] * 3
            row[f"cost per {unit} averted median"] = q[1]
            row[f"cost per {unit} averted low"], row[f"cost per {unit} averted high"] = q[0], q[2]
            row[f"share of members averting {main}"] = float(np.mean(averted > 0))
            rows.append(row)
        return pd.DataFrame(rows)

    def format_table(self) -> str:
        """The outcome table as text: ``median [low to high]``.

        The cost per unit of the main outcome averted is a ratio: when the 90%
        interval of what a package averts includes 0, it is shown as "not defined"
        with that reason instead of a number.

        Returns
        -------
        str
            One line per package.
        """
        t = self.table()
        out = pd.DataFrame({"Package": t["package"]})
        main = self.main_outcome
        noun = "referrals" if main == "referrals" else main
        per = f"cost per {'referral' if main == 'referrals' else main} averted"
        for label in [*self.outcomes.values(), "cost", per]:
            fmt = "£{:,.0f}" if label.startswith("cost") else "{:,.0f}"
            out[label] = [
                f"{fmt.format(m)} [{fmt.format(a)} to {fmt.format(b)}]"
                for m, a, b in zip(t[f"{label} median"], t[f"{label} low"], t[f"{label} high"])
            ]
        averted = self.outcomes[main]
        undefined = ~((t[f"{averted} low"] > 0) | (t[f"{averted} high"] < 0))
        out.loc[undefined.to_numpy(), per] = f"not defined (the averted {noun}' 90% interval includes 0)"
        return out.to_string(index=False)

    def service_table(self, package: str, outcome: str = "referrals") -> pd.DataFrame:
        """Per service: median and 90% interval of what a package averts.

        Parameters
        ----------
        package
            The package.
        outcome
            A per-service figure: ``referrals``, ``starts`` or ``contacts`` (or, for capacity
            models, ``waiting_months``, ``escalations``).

        Returns
        -------
        pandas.DataFrame
            ``service, low, median, high``, largest median first.
        """
        da = self.members[outcome].sel(package=BASELINE) - self.members[outcome].sel(package=package)
        q = da.quantile([0.05, 0.5, 0.95], dim="member").transpose("service", "quantile").to_numpy()
        df = pd.DataFrame(q, columns=["low", "median", "high"])
        df.insert(0, "service", self.members["service"].to_numpy())
        return df.sort_values("median", ascending=False).reset_index(drop=True)

    def beats(self, outcome: str = "referrals") -> pd.DataFrame:
        """P(row package averts more than column package), over members.

        Parameters
        ----------
        outcome
            A key of :attr:`outcomes`.

        Returns
        -------
        pandas.DataFrame
            Package x package probabilities (NaN on the diagonal).
        """
        names = [p for p in self.packages if p != BASELINE]
        av = {p: self.averted(outcome).sel(package=p).to_numpy() for p in names}
        mat = np.array([[np.mean(av[a] > av[b]) if a != b else np.nan for b in names] for a in names])
        return pd.DataFrame(mat, index=names, columns=names)

    def inequality(self) -> pd.DataFrame:
        """People-months at risk per 1,000 population by group (median), and the gap and ratio.

        Returns
        -------
        pandas.DataFrame
            Group x package, and rows for the gap and ratio between the highest and lowest group.
        """
        m = self.members
        rate = m["at_risk_months"] / m["population"] * 1000
        med = rate.median("member").to_pandas().T  # group x package
        out = med.copy()
        gap = med.max() - med.min()
        ratio = med.max() / med.min().replace(0, np.nan)
        out.loc["gap (highest - lowest)"] = gap
        out.loc["ratio (highest / lowest)"] = ratio
        return out

    # ------------------------------------------------------------------ equity

    def _gap(self) -> xr.DataArray:
        if self.equity is None:
            raise ValueError("this appraisal has no equity figures: compare packages on a stratified model")
        return abs(self.equity["sii"]) if int(self.equity.attrs["ordered"]) else self.equity["range"]

    def gap_closed(self) -> xr.DataArray:
        """How much each package narrows the gap, member by member (positive = narrower).

        The gap is the absolute SII of the equity metric (ordered strata) or its range
        (unordered strata), in the metric's unit.

        Returns
        -------
        xarray.DataArray
            ``(package, member)``: the baseline's gap minus the package's.
        """
        gap = self._gap()
        return gap.sel(package=BASELINE) - gap

    def equity_table(self, quantiles: Sequence[float] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
        """Per package: change in SII and RII (or range), probability of narrowing, cost per unit closed.

        Parameters
        ----------
        quantiles
            Low, median and high quantiles over members.

        Returns
        -------
        pandas.DataFrame
            One row per package: ``change in SII`` / ``change in RII`` (ordered strata) or
            ``change in range`` / ``change in extreme ratio`` (package minus baseline, member
            by member; median, low, high), ``gap closed`` (the same for the fall in the
            absolute SII or range), ``P(narrows the gap)`` and ``cost per unit of gap closed``
            (pounds per metric unit, over members that narrow it).
        """
        eq = self._gap().to_dataset(name="gap") if self.equity is None else self.equity
        ordered = int(eq.attrs["ordered"])
        pairs = (
            [("sii", "SII"), ("rii", "RII")]
            if ordered
            else [("range", "range"), ("extreme_ratio", "extreme ratio")]
        )
        closed = self.gap_closed()
        rows = []
        for p in self.packages:
            if p == BASELINE:
                continue
            row: dict[str, object] = {"package": p}
            for var, word in pairs:
                d = (eq[var].sel(package=p) - eq[var].sel(package=BASELINE)).to_numpy()
                row.update(_three(f"change in {word}", d, quantiles))
            c = closed.sel(package=p).to_numpy()
            row.update(_three("gap closed", c, quantiles))
            row["P(narrows the gap)"] = float(np.mean(c > 0))
            cost = self.members["cost"].sel(package=p).to_numpy()
            per = cost[c > 0] / c[c > 0]
            row.update(_three("cost per unit of gap closed", per, quantiles))
            rows.append(row)
        out = pd.DataFrame(rows)
        out.attrs.update({k: eq.attrs[k] for k in ("metric", "dim", "ordered")})
        return out

    def format_equity_table(self) -> str:
        """The equity table as text: ``median [low to high]``; what the gap is, in words.

        Returns
        -------
        str
            A heading line and one line per package.
        """
        t = self.equity_table()
        eq = self.equity
        assert eq is not None
        words = "SII (most advantaged minus most disadvantaged)" if int(eq.attrs["ordered"]) else "range"
        out = pd.DataFrame({"Package": t["package"]})
        for label in [c[: -len(" median")] for c in t.columns if c.endswith(" median")]:
            fmt = "£{:,.0f}" if label.startswith("cost") else "{:,.4g}"
            out[label] = [
                "not defined (no member narrows it)"
                if np.isnan(m)
                else f"{fmt.format(m)} [{fmt.format(a)} to {fmt.format(b)}]"
                for m, a, b in zip(t[f"{label} median"], t[f"{label} low"], t[f"{label} high"])
            ]
        out["P(narrows the gap)"] = [f"{v:.2f}" for v in t["P(narrows the gap)"]]
        m = METRICS.get(str(eq.attrs["metric"]))
        what = f"{m.label} ({m.unit})" if m else eq.attrs["metric"]
        head = f"Gap by {eq.attrs['dim']} in {what}: {words}; package minus baseline, member by member:"
        return head + "\n" + out.to_string(index=False)


def _three(label: str, values: np.ndarray, quantiles: Sequence[float]) -> dict[str, float]:
    """``label median/low/high`` of values (NaN when there are none)."""
    q = np.quantile(values, quantiles) if len(values) else [np.nan] * 3
    return {f"{label} median": float(q[1]), f"{label} low": float(q[0]), f"{label} high": float(q[2])}

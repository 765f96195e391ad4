"""Equity metrics per stratum by the three domains of *Advancing Mental Health Equality*.

The NCCMH's *Advancing Mental Health Equality* (2019) asks commissioners to measure
inequalities of **access**, **experience** and **outcome**.  :func:`equity_metrics` turns a
stratified run's quantities (each over ``member``, ``time`` and the stratum dimension) into
rates per stratum, month by month and over the horizon, and the gaps between strata:
PHE's slope and relative indices for ordered strata (deprivation), ratios and differences
to a reference stratum for unordered ones (:mod:`simulator.analysis._equity`).

Quantities (people per month unless said; any may be missing, and its metrics are left out):

=================  ===================================================================
``referrals``      referrals received
``starts``         treatment starts
``need``           people becoming in need (at risk) per month
``at_risk``        people at risk (a stock)
``recovered``      people leaving treatment well
``relapse``        people leaving treatment still in need
``waiting``        people on waiting lists (a stock; capacity models)
``over_18_weeks``  people waiting over 18 weeks (a stock; capacity models)
``exits``          people leaving waiting lists (starts, drop-outs, escalations)
``dropouts``       drop-outs from waiting lists
``escalations``    escalations to crisis from waiting lists
=================  ===================================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from simulator.analysis._equity import (
    INTERVAL,
    group_gaps,
    interval,
    poisson_se,
    simulated_interval,
    slope_index,
)
from simulator.analysis._equity_defs import DOMAINS, METRICS, Metric

__all__ = ["DOMAINS", "METRICS", "EquityResult", "Metric", "equity_metrics"]


def _step(da: xr.DataArray) -> float:
    """Months between reported times (1 when there is one time)."""
    if "time" not in da.dims or da.sizes["time"] < 2:
        return 1.0
    return float(np.diff(da["time"].to_numpy()).mean())


def _divide(num: xr.DataArray, den: xr.DataArray) -> xr.DataArray:
    """``num / den`` with NaN where the denominator is 0 (no such people: no rate)."""
    return num / den.where(den != 0)


def _metric(m: Metric, q: Mapping[str, xr.DataArray], pop: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    """One metric per month and over the horizon."""
    num = q[m.numerator]
    if m.kind == "population":
        total = num.sum("time") * _step(num) if "time" in num.dims else num
        return num / pop * m.scale, total / pop * m.scale
    den = q[m.denominator]
    if m.kind == "cumulative" and "time" in num.dims:
        monthly = _divide(num.cumsum("time"), den.cumsum("time")) * m.scale
        return monthly, monthly.isel(time=-1, drop=True)
    over = (lambda d: d.sum("time")) if "time" in num.dims else (lambda d: d)
    return _divide(num, den) * m.scale, _divide(over(num), over(den)) * m.scale


@dataclass
class EquityResult:
    """Rates per stratum by domain, month by month and over the horizon, and their gaps.

    Attributes
    ----------
    monthly, horizon
        Datasets of the metrics (:data:`METRICS` keys present) over ``(member, time, DIM)``
        and ``(member, DIM)``.
    population
        People per stratum.
    dim
        The stratum dimension; ``ordered`` says whether its strata are ordered (first =
        most disadvantaged), ``reference`` the stratum unordered gaps are taken to.
    """

    monthly: xr.Dataset
    horizon: xr.Dataset
    population: xr.DataArray
    dim: str
    ordered: bool
    reference: str | None = None
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def metrics(self) -> list[str]:
        """The metrics computed, in domain order."""
        return [k for k in METRICS if k in self.horizon]

    def gradient(self, monthly: bool = False) -> xr.Dataset:
        """SII/RII (ordered strata) or gaps (unordered), per metric and member.

        Parameters
        ----------
        monthly
            Month by month (``time`` kept) instead of over the horizon.

        Returns
        -------
        xarray.Dataset
            Ordered: ``<metric>_sii``, ``<metric>_rii``, ``<metric>_intercept``.
            Unordered: ``<metric>_ratio``, ``<metric>_difference`` (over the strata),
            ``<metric>_range``, ``<metric>_extreme_ratio``.
        """
        src = self.monthly if monthly else self.horizon
        out = {}
        for k in self.metrics:
            stats = (
                slope_index(src[k], self.population, self.dim)
                if self.ordered
                else group_gaps(src[k], self.dim, self.reference)
            )
            out.update({f"{k}_{s}": v for s, v in stats.data_vars.items()})
        return xr.Dataset(out)

    def sii_over_time(self, metric: str, bounds: Sequence[float] = INTERVAL) -> xr.DataArray:
        """The SII of a metric each month, median and interval over members (ordered strata).

        Parameters
        ----------
        metric
            A key of :data:`METRICS` that was computed.
        bounds
            Low and high quantiles.

        Returns
        -------
        xarray.DataArray
            ``(stat, time)`` in the metric's unit.
        """
        self._check(metric)
        if not self.ordered:
            raise ValueError(f"{self.dim} strata are not ordered: the slope index needs ordered strata")
        out = interval(slope_index(self.monthly[metric], self.population, self.dim)["sii"], bounds=bounds)
        assert isinstance(out, xr.DataArray)
        return out

    def simulated_intervals(
        self, repetitions: int = 100_000, confidence: float = 0.95, seed: int = 0
    ) -> pd.DataFrame:
        """PHE's simulation intervals of the SII and RII of a single run, counts taken as Poisson.

        For the metrics that are counts per head (``kind`` ``population``): each stratum's
        count over the horizon is treated as a Poisson observation (standard error
        ``sqrt(count)``), as if the modelled counts had been observed, and
        :func:`~simulator.analysis._equity.simulated_interval` draws the rates and refits.
        This is the uncertainty of *observing* such counts, not of the model: an ensemble
        gives the model's.

        Parameters
        ----------
        repetitions, confidence, seed
            As :func:`~simulator.analysis._equity.simulated_interval` (PHE: 100,000 and 95%).

        Returns
        -------
        pandas.DataFrame
            ``metric, sii, sii_low, sii_high, rii, rii_low, rii_high`` for ordered strata
            (empty otherwise).
        """
        rows: list[dict[str, object]] = []
        if not self.ordered:
            return pd.DataFrame(rows)
        for k in self.metrics:
            m = METRICS[k]
            if m.kind != "population":
                continue
            rate = (
                self.horizon[k].isel(member=0, drop=True)
                if "member" in self.horizon[k].dims
                else self.horizon[k]
            )
            se = poisson_se(rate, self.population, m.scale)
            ci = simulated_interval(
                rate, se, self.population, self.dim, repetitions=repetitions, confidence=confidence, seed=seed
            )
            fit = slope_index(rate, self.population, self.dim)
            rows.append(
                {"metric": m.label, "sii": float(fit["sii"]), "sii_low": float(ci["sii_low"]),
                 "sii_high": float(ci["sii_high"]), "rii": float(fit["rii"]), "rii_low": float(ci["rii_low"]),
                 "rii_high": float(ci["rii_high"])}
            )  # fmt: skip
        return pd.DataFrame(rows)

    def _check(self, metric: str) -> None:
        if metric not in self.metrics:
            raise KeyError(f"metric {metric!r} was not computed; computed: {', '.join(self.metrics)}")

    def table(self, bounds: Sequence[float] = INTERVAL) -> pd.DataFrame:
        """Over the horizon: every metric per stratum and its gap summary, median and interval.

        Parameters
        ----------
        bounds
            Low and high quantiles over members.

        Returns
        -------
        pandas.DataFrame
            Columns ``domain, metric, unit, stratum, median, low, high``, arranged by
            domain; the strata's rows are followed by the metric's SII and RII (ordered)
            or ranges and ratios to the reference (unordered).
        """
        rates = interval(self.horizon, bounds=bounds)
        grad = interval(self.gradient(), bounds=bounds)
        rows: list[dict[str, object]] = []
        for k in self.metrics:
            m = METRICS[k]
            base = {"domain": m.domain, "metric": m.label, "unit": m.unit}
            for c in rates[self.dim].to_numpy():
                v = rates[k].sel({self.dim: c})
                rows.append({**base, "stratum": str(c), **_stats(v)})
            for name, what in _gap_rows(self.ordered, self.reference):
                v = grad[f"{k}_{name}"]
                if self.dim in v.dims:
                    for c in v[self.dim].to_numpy():
                        if str(c) != str(grad.attrs.get("reference", self.reference)):
                            rows.append({**base, "stratum": f"{what} {c}", **_stats(v.sel({self.dim: c}))})
                else:
                    rows.append({**base, "stratum": what, **_stats(v)})
        return pd.DataFrame(rows)


def _stats(v: xr.DataArray) -> dict[str, float]:
    return {s: float(v.sel(stat=s)) for s in ("median", "low", "high")}


def _gap_rows(ordered: bool, reference: str | None) -> list[tuple[str, str]]:
    """Summary rows of the table: (variable suffix, row label)."""
    if ordered:
        return [
            ("sii", "SII (most advantaged minus most disadvantaged)"),
            ("rii", "RII (most advantaged / most disadvantaged)"),
        ]
    ref = reference or "the first stratum"
    return [
        ("range", "range (highest minus lowest)"),
        ("extreme_ratio", "ratio highest / lowest"),
        ("ratio", f"ratio to {ref}:"),
        ("difference", f"difference from {ref}:"),
    ]


def equity_metrics(
    quantities: Mapping[str, xr.DataArray],
    population: xr.DataArray | Sequence[float],
    dim: str,
    *,
    ordered: bool,
    reference: str | None = None,
    metrics: Sequence[str] | None = None,
) -> EquityResult:
    """Access, experience and outcome rates per stratum, and their gaps.

    Parameters
    ----------
    quantities
        Named quantities (see the module notes), each over ``dim`` and optionally
        ``member`` and ``time`` (months); other dimensions are summed.
    population
        People per stratum, in the order of ``dim``'s strata.
    dim
        The stratum dimension (e.g. ``deprivation``).
    ordered
        Strata ordered from most to least disadvantaged (slope indices), else unordered
        (gaps to ``reference``).
    reference
        Unordered strata: the stratum compared with (default the most populous).
    metrics
        Keys of :data:`METRICS` to compute (default every one whose quantities are given).

    Returns
    -------
    EquityResult
        The rates and, through its methods, the gaps and tables.

    Raises
    ------
    KeyError
        If a metric asked for lacks a quantity, or is unknown.
    ValueError
        If a quantity has no ``dim``, or the population does not match the strata.
    """
    q = {}
    for name, da in quantities.items():
        if dim not in da.dims:
            raise ValueError(
                f"quantity {name!r} has no {dim!r} dimension (it has {', '.join(map(str, da.dims))})"
            )
        extra = [d for d in da.dims if d not in ("member", "time", dim)]
        q[name] = da.sum(extra) if extra else da
    if "recovered" in q and "relapse" in q:
        q["finished"] = q["recovered"] + q["relapse"]
    cats = next(iter(q.values()))[dim] if q else None
    if cats is None:
        raise ValueError("no quantities given")
    pop = (
        population
        if isinstance(population, xr.DataArray)
        else xr.DataArray(np.asarray(population, float), dims=dim)
    )
    if pop.sizes.get(dim) != cats.size:
        raise ValueError(
            f"the population has {pop.sizes.get(dim)} {dim} strata; the quantities have {cats.size}"
        )
    pop = pop.assign_coords({dim: cats.to_numpy()})
    wanted = list(metrics) if metrics else [k for k, m in METRICS.items() if _has(m, q)]
    monthly, horizon = {}, {}
    for k in wanted:
        if k not in METRICS:
            raise KeyError(f"unknown metric {k!r}; metrics: {', '.join(METRICS)}")
        if not _has(METRICS[k], q):
            need = [n for n in (METRICS[k].numerator, METRICS[k].denominator) if n and n not in q]
            raise KeyError(f"metric {k!r} needs {', '.join(need)}, which this run does not give")
        monthly[k], horizon[k] = _metric(METRICS[k], q, pop)
    if reference is None and not ordered:
        reference = str(cats.to_numpy()[int(np.argmax(pop.to_numpy()))])
    return EquityResult(xr.Dataset(monthly), xr.Dataset(horizon), pop, dim, ordered, reference)


def _has(m: Metric, q: Mapping[str, xr.DataArray]) -> bool:
    return m.numerator in q and (not m.denominator or m.denominator in q)

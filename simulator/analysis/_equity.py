"""Summary measures of inequality between strata: PHE's slope and relative indices, and gaps.

Pure functions on labelled arrays: each takes values with a stratum dimension (``dim``,
e.g. ``deprivation``) and any other dimensions (``member``, ``time``, ...), and reduces
the stratum dimension, element by element over the others (never a Python loop over
members or months).

**Slope index of inequality (SII) and relative index (RII)**, by the method of Public
Health England's indicator methods (``PHEindicatormethods::phe_sii``; Low & Low, *J Public
Health* 2004;26:388-395).  The strata are taken in their given order, **first = most
disadvantaged** (IMD decile or quintile 1, most deprived).  Each stratum's *relative rank*
``x`` is the midpoint of its range in the cumulative population share (the first stratum
of share ``a1`` has ``x = a1 / 2``, the second ``a1 + a2 / 2``, ...), and the rate ``y`` is
regressed on ``x`` by least squares weighted by the population shares ``a`` (PHE fits
``y sqrt(a) ~ sqrt(a) + x sqrt(a)`` with no constant: the same estimator).  Then

* ``intercept`` is the fitted rate at ``x = 0`` (the most disadvantaged end);
* ``SII`` is the slope: fitted rate at ``x = 1`` (most advantaged) minus at ``x = 0``, so a
  rate **higher in the more deprived strata gives a negative SII** (PHE's sign);
* ``RII = (intercept + SII) / intercept``, the fitted rate at the most advantaged end over
  that at the most disadvantaged end (below 1 when the rate is higher among the deprived).

Intervals come from an ensemble (the spread over ``member`` of each member's SII) or, for a
single run, from PHE's simulation (:func:`simulated_interval`): every stratum's rate is
drawn from a normal distribution with its standard error, the SII refitted for each draw,
and the interval read from the draws' quantiles.

**Unordered strata** (ethnic group, sex): rate ratios and differences to a reference stratum,
and the range (highest minus lowest stratum) and the ratio of the highest to the lowest
(:func:`group_gaps`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

__all__ = [
    "INTERVAL",
    "cumulative_midpoints",
    "group_gaps",
    "interval",
    "poisson_se",
    "simulated_interval",
    "slope_index",
]

#: default interval: the 5% and 95% quantiles (a 90% interval), as elsewhere in Upstream
INTERVAL = (0.05, 0.95)


def _shares(population: xr.DataArray, dim: str) -> xr.DataArray:
    """Population shares along ``dim`` (each stratum's share of the total); errors on empty strata."""
    pop = xr.DataArray(population) if not isinstance(population, xr.DataArray) else population
    if dim not in pop.dims:
        raise ValueError(f"the population has no {dim!r} dimension (it has {', '.join(map(str, pop.dims))})")
    if bool((pop <= 0).any()) or bool(pop.isnull().any()):
        raise ValueError(f"every {dim} stratum needs a positive population (PHE's method needs all of them)")
    return pop / pop.sum(dim)


def cumulative_midpoints(population: xr.DataArray, dim: str) -> xr.DataArray:
    """Each stratum's relative rank: the midpoint of its range in the cumulative population share.

    Parameters
    ----------
    population
        People per stratum along ``dim`` (any other dimensions broadcast), strata in order,
        first = most disadvantaged.
    dim
        The stratum dimension.

    Returns
    -------
    xarray.DataArray
        Relative ranks in ``(0, 1)``, same shape as ``population``.

    Raises
    ------
    ValueError
        If a stratum has no people, or ``dim`` is missing.
    """
    a = _shares(population, dim)
    return a.cumsum(dim) - a / 2


def slope_index(values: xr.DataArray, population: xr.DataArray, dim: str) -> xr.Dataset:
    """SII, RII and intercept of a rate across ordered strata (PHE's weighted regression).

    Parameters
    ----------
    values
        The rate per stratum (any unit: per 100,000, a share, months ...), with ``dim`` and
        any other dimensions, which are kept.
    population
        People per stratum (the regression weights and the ranks), along ``dim``.
    dim
        The stratum dimension, strata in order, first = most disadvantaged.

    Returns
    -------
    xarray.Dataset
        ``sii`` (rate units; fitted most advantaged minus most disadvantaged), ``rii``
        (ratio; NaN where the intercept is 0) and ``intercept`` (rate units: fitted rate at
        the most disadvantaged end), over the dimensions of ``values`` other than ``dim``.

    Raises
    ------
    ValueError
        If fewer than two strata, or a stratum has no people.
    """
    if values.sizes.get(dim, 0) < 2:
        raise ValueError(f"the slope index needs at least two {dim} strata")
    a = _shares(population, dim)
    x = a.cumsum(dim) - a / 2
    xbar = (a * x).sum(dim)
    ybar = (a * values).sum(dim)
    sxx = (a * (x - xbar) ** 2).sum(dim)
    sii = (a * (x - xbar) * (values - ybar)).sum(dim) / sxx
    intercept = ybar - sii * xbar
    rii = (intercept + sii) / intercept.where(intercept != 0)
    out = xr.Dataset({"sii": sii, "rii": rii, "intercept": intercept})
    out["sii"].attrs["description"] = "slope index of inequality: most advantaged minus most disadvantaged"
    out["rii"].attrs["description"] = "relative index of inequality: (intercept + SII) / intercept"
    return out


def poisson_se(rate: xr.DataArray, population: xr.DataArray, per: float) -> xr.DataArray:
    """Standard error of a rate of counts per ``per`` people, counts taken as Poisson.

    Parameters
    ----------
    rate
        Events per ``per`` people.
    population
        People per stratum.
    per
        The rate's base (100,000, 1,000 ...).

    Returns
    -------
    xarray.DataArray
        ``sqrt(count) / population * per``, in the rate's unit.
    """
    count = rate * population / per
    return np.sqrt(count.clip(min=0)) / population * per


def simulated_interval(
    values: xr.DataArray,
    se: xr.DataArray,
    population: xr.DataArray,
    dim: str,
    *,
    repetitions: int = 100_000,
    confidence: float = 0.95,
    seed: int = 0,
    chunk: int = 10_000,
) -> xr.Dataset:
    """PHE's simulation interval of the SII and RII of a single run.

    Each repetition draws every stratum's rate from ``Normal(value, se)``, refits the
    weighted regression and keeps the SII and RII; the interval is the ``(1 - confidence)
    / 2`` and ``(1 + confidence) / 2`` quantiles of the repetitions (PHE's default:
    100,000 repetitions, 95%).  Repetitions run in chunks of ``chunk`` (memory bounded).

    Parameters
    ----------
    values, se
        Rate per stratum and its standard error (same unit), over ``dim`` and any other
        dimensions (but not ``member``: an ensemble has its own intervals).
    population
        People per stratum.
    dim
        The stratum dimension.
    repetitions, confidence, seed, chunk
        Number of draws, interval level in ``(0, 1)``, seed and draws per chunk.

    Returns
    -------
    xarray.Dataset
        ``sii_low``, ``sii_high``, ``rii_low``, ``rii_high`` over the other dimensions.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    if repetitions < 1000:
        raise ValueError(f"use at least 1,000 repetitions (PHE's minimum), not {repetitions}")
    rng = np.random.default_rng(seed)
    values, se = xr.broadcast(values, se)
    sii, rii = [], []
    for start in range(0, repetitions, chunk):
        n = min(chunk, repetitions - start)
        noise = rng.standard_normal((n, *values.shape))
        drawn = xr.DataArray(values.to_numpy() + noise * se.to_numpy(), dims=("rep", *values.dims))
        drawn = drawn.assign_coords({d: values[d] for d in values.dims if d in values.coords})
        fit = slope_index(drawn, population, dim)
        sii.append(fit["sii"])
        rii.append(fit["rii"])
    qs = [(1 - confidence) / 2, (1 + confidence) / 2]
    s = xr.concat(sii, "rep").quantile(qs, "rep")
    r = xr.concat(rii, "rep").quantile(qs, "rep")
    out = xr.Dataset(
        {
            "sii_low": s.isel(quantile=0, drop=True),
            "sii_high": s.isel(quantile=1, drop=True),
            "rii_low": r.isel(quantile=0, drop=True),
            "rii_high": r.isel(quantile=1, drop=True),
        }
    )
    out.attrs.update(method=f"simulation, {repetitions:,} repetitions", confidence=confidence)
    return out


def group_gaps(values: xr.DataArray, dim: str, reference: str | None = None) -> xr.Dataset:
    """Gaps between unordered strata: ratios and differences to a reference, range and extreme ratio.

    Parameters
    ----------
    values
        The rate per stratum over ``dim`` and any other dimensions.
    dim
        The stratum dimension.
    reference
        The stratum compared with (default the first).

    Returns
    -------
    xarray.Dataset
        ``ratio`` and ``difference`` (each stratum to the reference, over ``dim``),
        ``range`` (highest minus lowest stratum, rate units) and ``extreme_ratio`` (highest
        over lowest; NaN where the lowest is 0).

    Raises
    ------
    KeyError
        If the reference is not a stratum.
    """
    cats = [str(c) for c in values[dim].to_numpy()]
    ref = cats[0] if reference is None else str(reference)
    if ref not in cats:
        raise KeyError(f"reference {ref!r} is not a {dim} stratum: {', '.join(cats)}")
    base = values.sel({dim: values[dim].to_numpy()[cats.index(ref)]})
    hi, lo = values.max(dim), values.min(dim)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = values / base.where(base != 0)
        extreme = hi / lo.where(lo != 0)
    out = xr.Dataset(
        {"ratio": ratio, "difference": values - base, "range": hi - lo, "extreme_ratio": extreme}
    )
    out.attrs["reference"] = ref
    return out


def interval(
    da: xr.DataArray | xr.Dataset, dim: str = "member", bounds: Sequence[float] = INTERVAL
) -> xr.DataArray | xr.Dataset:
    """Median and interval over an ensemble, as a ``stat`` dimension (``median``, ``low``, ``high``).

    Parameters
    ----------
    da
        Values with an ensemble dimension (absent: one run, all three equal).
    dim
        The ensemble dimension.
    bounds
        Low and high quantiles (default 5% and 95%).

    Returns
    -------
    xarray.DataArray or xarray.Dataset
        ``da`` with ``dim`` replaced by ``stat``.
    """
    if dim not in da.dims:
        da = da.expand_dims({dim: 1})
    q = da.quantile([0.5, bounds[0], bounds[1]], dim, skipna=True)
    q = q.rename(quantile="stat").assign_coords(stat=["median", "low", "high"])
    q.attrs["interval"] = f"{bounds[0]:.0%} to {bounds[1]:.0%} over {dim}s"
    return q

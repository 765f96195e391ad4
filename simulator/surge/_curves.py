"""Scenario curves: when a group's at-risk people arrive, as a share per month summing to 1.

The surge workbooks ship named curves (England: Sudden Shock, Prolonged
Pandemic, Even Ebb, Incubating Impact, Fluctuating Fears).  Planners can also
generate their own with a few numbers they can reason about:

========================  ====================================================================
generator                 parameters (months)
========================  ====================================================================
``sudden_shock``          ``peak_month`` (5), ``decay_months`` (4): linear rise to the peak,
                          then exponential decline with that time constant
``prolonged_wave``        ``peak_month`` (12), ``width`` (6): a broad bell around the peak
``plateau``               ``rise_months`` (6), ``hold_months`` (12), ``fall_months`` (6):
                          ramp up, stay level, ramp down
``repeating_waves``       ``first_peak`` (4), ``period`` (9), ``waves`` (3), ``decay`` (0.6),
                          ``width`` (2): waves every ``period`` months, each ``decay`` times the last
``table``                 ``months``, ``values``: a user table, interpolated to whole months
========================  ====================================================================

Every generator also takes ``start`` (month the curve begins; 0 before it, as
the workbook curves start at 0 in month 0 by default start = 1) and is
normalised over the horizon so the shares sum to 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

__all__ = ["GENERATORS", "CurveError", "generate", "normalise"]


class CurveError(ValueError):
    """A curve definition is invalid (message names the parameter)."""


def normalise(v: np.ndarray) -> np.ndarray:
    """Shares summing to 1 (raises if the curve is all zero or negative anywhere).

    Parameters
    ----------
    v
        Curve values, one per month (any scale).

    Returns
    -------
    numpy.ndarray
        ``v / v.sum()`` (share per month).

    Raises
    ------
    CurveError
        If a value is negative or not finite, or all are zero.
    """
    v = np.asarray(v, dtype=float)
    if np.any(v < 0) or not np.all(np.isfinite(v)):
        raise CurveError("curve values must be finite and not negative")
    total = v.sum()
    if total <= 0:
        raise CurveError("the curve is zero over the whole horizon")
    return v / total


def _t(months: int, start: float) -> np.ndarray:
    return np.arange(months, dtype=float) - start


def sudden_shock(months: int, peak_month: float = 5, decay_months: float = 4, start: float = 1) -> np.ndarray:
    """Linear rise to ``peak_month``, then exponential decline (time constant ``decay_months``).

    Parameters
    ----------
    months, start
        Horizon, and the month the curve begins (0 before it).
    peak_month
        Month of the peak.
    decay_months
        Time constant of the decline (months).

    Returns
    -------
    numpy.ndarray
        Curve values per month, not normalised (the peak is 1).
    """
    t = _t(months, start)
    rise = max(peak_month - start, 1e-9)
    return np.where(t < 0, 0.0, np.where(t <= rise, (t + 1) / (rise + 1), np.exp(-(t - rise) / decay_months)))


def prolonged_wave(months: int, peak_month: float = 12, width: float = 6, start: float = 1) -> np.ndarray:
    """A broad bell-shaped wave centred on ``peak_month`` (standard deviation ``width``).

    Parameters
    ----------
    peak_month
        Month at the centre of the wave.
    width
        Standard deviation of the bell (months).
    months, start
        Horizon, and the month the curve begins (0 before it).

    Returns
    -------
    numpy.ndarray
        Curve values per month, not normalised (1 at the centre).
    """
    t = np.arange(months, dtype=float)
    return np.where(t < start, 0.0, np.exp(-0.5 * ((t - peak_month) / width) ** 2))


def plateau(
    months: int, rise_months: float = 6, hold_months: float = 12, fall_months: float = 6, start: float = 1
) -> np.ndarray:
    """Ramp up over ``rise_months``, hold for ``hold_months``, ramp down over ``fall_months``.

    Parameters
    ----------
    months, start
        Horizon, and the month the curve begins (0 before it).
    rise_months, hold_months, fall_months
        Lengths of the ramp up, the level stretch and the ramp down (months).

    Returns
    -------
    numpy.ndarray
        Curve values per month, not normalised (the plateau is 1).
    """
    t = _t(months, start)
    up = np.clip((t + 1) / max(rise_months, 1e-9), 0, 1)
    down = np.clip(1 - (t - rise_months - hold_months) / max(fall_months, 1e-9), 0, 1)
    return np.where(t < 0, 0.0, np.minimum(up, down))


def repeating_waves(
    months: int,
    first_peak: float = 4,
    period: float = 9,
    waves: int = 3,
    decay: float = 0.6,
    width: float = 2,
    start: float = 1,
) -> np.ndarray:
    """``waves`` bell-shaped waves every ``period`` months, each ``decay`` times the previous one.

    Parameters
    ----------
    months, start
        Horizon, and the month the curve begins (0 before it).
    first_peak
        Month of the first peak.
    period
        Months between peaks.
    waves
        Number of waves.
    decay
        Height of each wave relative to the one before.
    width
        Standard deviation of each wave (months).

    Returns
    -------
    numpy.ndarray
        Curve values per month, not normalised (the first peak is about 1).
    """
    t = np.arange(months, dtype=float)
    out = np.zeros(months)
    for k in range(int(waves)):
        out += decay**k * np.exp(-0.5 * ((t - first_peak - k * period) / width) ** 2)
    return np.where(t < start, 0.0, out)


def table(months: int, values: list[float], times: list[float] | None = None, start: float = 0) -> np.ndarray:
    """A user table of values at ``times`` (default 0, 1, 2, ...), interpolated to whole months.

    Parameters
    ----------
    months, start
        Horizon, and the month the curve begins (0 before it).
    values
        The table's values (any scale).
    times
        Months of the values, increasing; ``None``: 0, 1, 2, ...

    Returns
    -------
    numpy.ndarray
        Curve values per month, 0 outside the table, not normalised.
    """
    vals = np.asarray(values, dtype=float)
    ts = np.arange(len(vals), dtype=float) if times is None else np.asarray(times, dtype=float)
    if len(ts) != len(vals) or len(vals) == 0:
        raise CurveError("table needs as many times as values")
    if np.any(np.diff(ts) <= 0):
        raise CurveError("table times must increase")
    t = np.arange(months, dtype=float)
    return np.where(t < start, 0.0, np.interp(t, ts, vals, left=0.0, right=0.0))


GENERATORS: dict[str, Callable[..., np.ndarray]] = {
    "sudden_shock": sudden_shock,
    "prolonged_wave": prolonged_wave,
    "plateau": plateau,
    "repeating_waves": repeating_waves,
    "table": table,
}


def generate(definition: Mapping[str, object], months: int) -> np.ndarray:
    """Monthly shares (summing to 1) for ``{generator: name, <parameters>}`` over ``months`` months.

    Parameters
    ----------
    definition
        ``generator`` (a name of :data:`GENERATORS`) and that generator's parameters.
    months
        Horizon (months).

    Returns
    -------
    numpy.ndarray
        Share of the group's at-risk people arriving in each month, shape ``(months,)``.

    Raises
    ------
    CurveError
        If the generator is unknown, or a parameter unknown or not allowed.
    """
    import inspect

    if not isinstance(definition, Mapping) or "generator" not in definition:
        raise CurveError(f"a curve needs 'generator', one of {', '.join(GENERATORS)}")
    name = definition["generator"]
    fn = GENERATORS.get(str(name))
    if fn is None:
        raise CurveError(f"generator {name!r} is not known; allowed: {', '.join(GENERATORS)}")
    allowed = [p for p in inspect.signature(fn).parameters if p != "months"]
    kw = {k: v for k, v in definition.items() if k != "generator"}
    unknown = [k for k in kw if k not in allowed]
    if unknown:
        raise CurveError(f"{name} does not take {', '.join(unknown)}; it takes {', '.join(allowed)}")
    for k, v in kw.items():
        if k in ("values", "times"):
            if not isinstance(v, list) or not all(isinstance(x, int | float) for x in v):
                raise CurveError(f"{k} must be a list of numbers")
        elif isinstance(v, bool) or not isinstance(v, int | float):
            raise CurveError(f"{k} must be a number, not {v!r}")
        elif k in ("width", "decay_months", "period") and v <= 0:
            raise CurveError(f"{k} must be positive")
        elif k == "decay" and not 0 < v <= 1:
            raise CurveError("decay must be in (0, 1]")
    return normalise(fn(months, **kw))

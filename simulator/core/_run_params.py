"""Run preparation: the time grid a model reports on, and parameter arrays with a member axis."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from simulator.core._compiler import CompiledModel
from simulator.core._spec import ModelSpec

__all__ = ["MAX_STEPS", "RunError", "TimeGrid", "model_grid", "prepare_params", "time_grid"]

#: most integration steps of one run (months / dt): more is refused before any work
MAX_STEPS = 1_000_000


class RunError(ValueError):
    """Arguments of a run are inconsistent (bad dt, unknown parameter, wrong shape)."""


@dataclass(frozen=True)
class TimeGrid:
    """Integration steps and the report times that fall on them.

    Step ``k`` is at ``t0 + k * dt`` (as R's ``seq(t0, t_end, dt)``); reports
    are whole months on the grid (within 1e-9).
    """

    t0: float
    dt: float
    n_steps: int
    report_steps: tuple[int, ...]
    report_times: tuple[float, ...]


def time_grid(
    months: int, dt: float, t0: float = 0.0, every: float = 1.0, max_dt: float | None = None
) -> tuple[TimeGrid, list[str]]:
    """The grid from ``t0`` to ``t0 + (months - 1) * every`` in steps of ``dt``, and any warnings.

    The horizon follows the surge model: ``months`` reporting months
    ``0 .. months - 1``.  If ``dt`` does not divide a month, only the whole
    months that fall on the grid are reported (a warning says which).
    Imported models report every ``every`` time units (Vensim's SAVEPER) from
    their own start time ``t0``.  A model may declare the largest step it is
    built for (``max_dt``: a capacity model's narrowest wait band); a larger
    ``dt`` is warned about.

    Parameters
    ----------
    months
        Number of reports (months for surge models).
    dt
        Integration step (months, or the model's own time unit).
    t0
        Start time.
    every
        Report interval (same unit as ``dt``).
    max_dt
        The largest step the model is built for, or ``None``.

    Returns
    -------
    tuple
        The :class:`TimeGrid` and a list of warning messages.
    """
    if not (isinstance(dt, int | float) and math.isfinite(dt) and dt > 0):
        raise RunError(f"dt must be a positive number of months, not {dt!r}")
    if months < 1:
        raise RunError(f"months must be at least 1, not {months}")
    t_end = t0 + (months - 1) * every
    ratio = (t_end - t0) / dt
    if not math.isfinite(ratio) or ratio > MAX_STEPS:
        raise RunError(
            f"dt={dt:g} over {months:,} reports gives {ratio:,.0f} steps; at most {MAX_STEPS:,} "
            f"steps are run: use a larger dt or fewer months (e.g. dt >= {(t_end - t0) / MAX_STEPS:.3g})"
        )
    n_steps = math.floor(ratio + 1e-9)
    steps, times = [], []
    for k in range(n_steps + 1):
        t = t0 + k * dt
        r = (t - t0) / every
        if abs(r - round(r)) < 1e-9:
            steps.append(k)
            # report times as written (0.3, not 0.30000000000000004)
            times.append(
                float(round(t)) if every == 1.0 and t0 == 0.0 else float(f"{t0 + round(r) * every:.12g}")
            )
    msgs = []
    expected = months
    if len(times) < expected:
        unit, what = ("a month", "months") if every == 1.0 else (f"the report interval {every:g}", "times")
        msgs.append(
            f"dt={dt:g} does not divide {unit}: only {what} {', '.join(f'{t:g}' for t in times[:8])}"
            f"{' ...' if len(times) > 8 else ''} fall on the step grid and are reported"
        )
    if max_dt is not None and dt > max_dt + 1e-12:
        msgs.append(
            f"dt={dt:g} is longer than the model's narrowest wait band ({max_dt:g} months): "
            "wait bands may be overdrawn; use dt <= the narrowest band"
        )
    return TimeGrid(t0, float(dt), n_steps, tuple(steps), tuple(times)), msgs


def model_grid(spec: ModelSpec, months: int, dt: float | None = None) -> tuple[TimeGrid, list[str]]:
    """A model's time grid: its own clock for imported models, whole months otherwise.

    Imported models carry their start time, step and report interval in
    ``spec.meta["clock"]``; ``dt=None`` takes the model's own step (1 month for
    surge models).  Capacity models declare the largest step their wait bands
    allow (``spec.meta["max_dt"]``).

    Parameters
    ----------
    spec
        The model's spec.
    months
        Number of reports.
    dt
        Integration step (months or the model's time unit), or ``None`` for the model's own.

    Returns
    -------
    tuple
        The :class:`TimeGrid` and a list of warning messages.
    """
    clock = spec.meta.get("clock") or {}
    if dt is None:
        dt = float(clock.get("dt", 1.0))
    return time_grid(
        months,
        dt,
        float(clock.get("t0", 0.0)),
        float(clock.get("every", 1.0)),
        max_dt=spec.meta.get("max_dt"),
    )


def prepare_params(
    cm: CompiledModel, params: Mapping[str, object] | None = None
) -> tuple[dict[str, np.ndarray], int]:
    """Every parameter as ``(1 or members, n)``, checked against its space and bounds.

    ``params`` maps names to a scalar (every element), an array ``(n,)``, or
    an array ``(members, n)`` / ``(members,)`` for a scalar parameter... with a member axis.

    Parameters
    ----------
    cm
        The compiled model (its defaults fill parameters not given).
    params
        Parameter values by name, in each parameter's own unit.

    Returns
    -------
    tuple
        Every parameter's array ``(1 or members, n)`` by name, and the number of members.
    """
    out = dict(cm.defaults)
    members = 1
    problems = []
    specs = {p.name: p for p in cm.spec.params}
    for name, value in (params or {}).items():
        if name not in specs:
            problems.append(f"unknown parameter {name!r}; parameters: {', '.join(specs)}")
            continue
        p = specs[name]
        n = len(p.space)
        a = np.asarray(value, dtype=float)
        if a.ndim == 0:
            a = np.full((1, n), float(a))
        elif a.ndim == 1:
            if a.shape[0] == n:
                a = a[None, :]
            elif n == 1:
                a = a[:, None]
            else:
                problems.append(f"parameter {name}: {a.shape[0]} values for {n} elements")
                continue
        elif a.ndim == 2 and a.shape[1] != n:
            problems.append(f"parameter {name}: shape {a.shape}, expected (members, {n})")
            continue
        elif a.ndim > 2:
            problems.append(f"parameter {name}: shape {a.shape} has too many axes")
            continue
        if not np.all(np.isfinite(a)):
            problems.append(f"parameter {name}: values must be finite")
        lo, hi = p.bounds
        if lo is not None and np.any(a < lo):
            problems.append(f"parameter {name}: values below the allowed minimum {lo:g} ({a.min():g})")
        if hi is not None and np.any(a > hi):
            problems.append(f"parameter {name}: values above the allowed maximum {hi:g} ({a.max():g})")
        if a.shape[0] > 1:
            # column-major like the state: gathers are block copies and no evaluation copies
            a = np.asfortranarray(a)
            if members not in (1, a.shape[0]):
                problems.append(f"parameter {name}: {a.shape[0]} members, but others have {members}")
            members = max(members, a.shape[0])
        out[name] = a
    if problems:
        raise RunError("; ".join(problems))
    return out, members

"""The run-time feasibility guard: a stock that goes negative or a value that is not finite stops the run.

The recording step checks the whole state of a chunk at every report step
(:func:`check_state`: two reductions over ``(members, stocks)``, nothing per
element unless something is wrong), and the run checks each recorded
quantity once per chunk (:func:`check_recorded`).  A problem raises
:class:`~simulator.core._run_params.RunError` naming the stock or quantity,
its element, the month and the likely cause (an outflow rate x dt above 1,
or a formula dividing by zero).  A model whose stocks may legitimately go
negative declares it: ``spec.meta["allow_negative"]`` (a network YAML field
``allow_negative: true``); non-finite values always stop the run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from simulator.core._compiler import CompiledModel
from simulator.core._kernel_chunk import Chunk, loss_of
from simulator.core._run_params import RunError
from simulator.core._spaces import Space

__all__ = ["NEGATIVE_TOLERANCE", "allows_negative", "check_recorded", "check_state"]

#: a stock below ``-NEGATIVE_TOLERANCE x max(1, largest stock)`` is negative (rounding aside)
NEGATIVE_TOLERANCE = 1e-9

_DIVIDE = "a formula divides by zero (or a value overflows)"


def allows_negative(cm: CompiledModel) -> bool:
    """Whether the model declares that its stocks may go negative (``meta["allow_negative"]``).

    Parameters
    ----------
    cm
        The compiled model.

    Returns
    -------
    bool
        ``True`` if negative stocks are allowed.
    """
    return bool(cm.spec.meta.get("allow_negative", False))


def _when(cm: CompiledModel, t: float | None) -> str:
    """The time in words: ``month 7`` (with the calendar month when the model has a start)."""
    if t is None:
        return "the start of the run"
    clock = cm.spec.meta.get("clock")
    if clock:
        unit = str(clock.get("unit") or "")
        return f"time {t:g}" + (f" ({unit})" if unit else "")
    start = cm.spec.start
    if start and float(t).is_integer():
        try:
            n = int(str(start)[:4]) * 12 + int(str(start)[5:7]) - 1 + int(t)
            return f"month {t:g} ({n // 12:04d}-{n % 12 + 1:02d})"
        except ValueError:
            pass
    return f"month {t:g}"


def _element(space: Space, i: int) -> str:
    """Element ``i`` of ``space`` in words: ``service=IAPT, stage=0-1`` (empty for a scalar)."""
    if not space.dims:
        return ""
    return ", ".join(f"{d}={lab}" for d, lab in zip(space.dims, space.coords[i]))


def _stock_at(cm: CompiledModel, col: int) -> tuple[str, str]:
    """The stock family and element (in words) of state column ``col``."""
    for name, sl in cm.slices.items():
        if sl.start <= col < sl.stop:
            return name, _element(cm.spec.stock(name).space, col - sl.start)
    return f"column {col}", ""


def _loss_times_dt(chunk: Chunk, t: float, member: int, col: int) -> tuple[float, list[str]]:
    """The outflow rate x dt of state column ``col`` at ``t`` and the flows leaving it."""
    cm = chunk.cm
    try:
        coefs = dict(chunk.static_coef)
        with np.errstate(all="ignore"):
            if chunk.dynamic_t:
                coefs.update(chunk.dynamic_coef(chunk.context(t, chunk.x)))
            loss = loss_of(coefs, cm.transfers, cm.n_stocks)
    except Exception:  # only a diagnosis: without it the message names no rate
        return float("nan"), []
    flows = [b.name for b in cm.transfers if b.loss and col in set(b.of.tolist())]
    row = member if loss.shape[0] > 1 else 0
    return float(loss[row, col] * chunk.dt), flows


def _negative_cause(chunk: Chunk, t: float | None, member: int, col: int) -> str:
    """The likely cause of a negative stock, in words."""
    if t is None:
        return "its initial value is negative"
    rate_dt, flows = _loss_times_dt(chunk, t, member, col)
    if np.isfinite(rate_dt) and rate_dt > 1.0:
        via = f" ({', '.join(flows)})" if flows else ""
        return (
            f"outflow rate x dt = {rate_dt:.3g} > 1{via}, so more than everyone leaves in one step: "
            "use a smaller dt or RK4"
        )
    return (
        "flows take more out of it than it holds (e.g. a fixed outflow not proportional to the stock, "
        "or rates x dt above 1 earlier); use a smaller dt or RK4, or declare allow_negative: true "
        "if the stock may go negative"
    )


def check_state(chunk: Chunk, t: float | None) -> None:
    """Stop the run if a stock of ``chunk`` is negative or not finite at time ``t``.

    Two reductions over the state; the element is found only when something is wrong.

    Parameters
    ----------
    chunk
        The chunk of members (its state ``x`` ``(members, stocks)``, people).
    t
        The time of the state (months); ``None`` for the initial state.

    Raises
    ------
    RunError
        Naming the stock, element, month, value and likely cause.
    """
    x = chunk.x
    if x.size == 0:
        return
    lo, hi = float(x.min()), float(x.max())
    allow = allows_negative(chunk.cm)
    if np.isfinite(lo) and np.isfinite(hi) and (allow or lo >= -NEGATIVE_TOLERANCE * max(1.0, hi)):
        return
    cm = chunk.cm
    bad = ~np.isfinite(x)
    if bad.any():
        member, col = (int(v) for v in np.argwhere(bad)[0])
        stock, element = _stock_at(cm, col)
        where = f"stock {stock!r}" + (f" [{element}]" if element else "")
        raise RunError(
            f"{where} is {x[member, col]} at {_when(cm, t)}; likely cause: {_DIVIDE} "
            "(check formulas with '/' for denominators that can be 0)"
        )
    member, col = (int(v) for v in np.unravel_index(int(np.argmin(x)), x.shape))
    stock, element = _stock_at(cm, col)
    where = f"stock {stock!r}" + (f" [{element}]" if element else "")
    raise RunError(
        f"{where} goes negative ({x[member, col]:,.6g}) at {_when(cm, t)}; likely cause: "
        + _negative_cause(chunk, t, member, col)
    )


def check_recorded(cm: CompiledModel, values: Mapping[str, np.ndarray], times: Sequence[float]) -> None:
    """Stop the run if a recorded quantity holds a value that is not finite.

    Parameters
    ----------
    cm
        The compiled model.
    values
        Recorded quantity -> ``(members, reports, n_out)`` (one chunk's).
    times
        The report times (months).

    Raises
    ------
    RunError
        Naming the quantity, element, month and the likely cause.
    """
    for name, v in values.items():
        if v.size == 0 or np.isfinite(v.sum()):
            continue
        bad = ~np.isfinite(v)
        if not bad.any():
            continue  # the sum overflowed, every value is finite
        _, j, k = (int(i) for i in np.argwhere(bad)[0])
        element = ""
        if name in cm.recordable:
            space = cm.space_of(name)
            if v.shape[2] == len(space):
                element = _element(space, k)
        where = f"{name!r}" + (f" [{element}]" if element else "")
        when = _when(cm, times[j]) if j < len(times) else f"report {j}"
        raise RunError(f"{where} is {v[:, j, k][bad[:, j, k]][0]} at {when}; likely cause: {_DIVIDE}")

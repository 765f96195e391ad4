"""An ensemble's memory and time, estimated and checked before anything is allocated.

:func:`ensemble_budget` is called by :func:`~simulator.analysis._ensembles.run_ensemble`
(so the Python API refuses an ensemble the machine cannot hold, as the command line
does) and by the ``sweep`` and ``compare`` commands (which add the ensembles they run
side by side).  The refusal is a :class:`~simulator.core._budget.BudgetError` (a
``RunError``: the command line shows its message with exit status 2).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from simulator.core._budget import Estimate, check_budget, ensemble_estimate, output_values, parse_memory
from simulator.core._model import Model
from simulator.core._outputs import OutputDef
from simulator.core._run_params import TimeGrid

__all__ = ["KEEP_LIMIT", "check_ensemble", "ensemble_budget", "stream_advice"]

#: ensembles up to this size keep every member's reduced outputs by default
KEEP_LIMIT = 20_000


def ensemble_budget(
    model: Model,
    members: int,
    grid: TimeGrid,
    outputs: Sequence[OutputDef],
    *,
    keep: bool,
    varied: set[str] | None,
    identical: bool = False,
    workers: int | None = None,
    what: str = "",
) -> Estimate:
    """The memory and time of an ensemble of ``model``.

    Parameters
    ----------
    model
        The model.
    members
        Ensemble size.
    grid
        Its time grid.
    outputs
        The reduced outputs.
    keep
        Every member's reduced outputs are kept (else streamed).
    varied
        Parameters given a member axis (``None``: every parameter, an upper bound).
    identical
        The members are identical (no uncertainty): one member runs and is repeated,
        so only the kept copies grow with ``members``.
    workers
        Worker processes (default: every core).
    what
        What is estimated (default ``ensemble of <model>``).

    Returns
    -------
    Estimate
        Bytes and seconds (approximate; see :mod:`simulator.core._budget`).
    """
    cm = model.compiled
    what = what or f"ensemble of {model.name}"
    if not identical:
        return ensemble_estimate(
            cm, members, grid, outputs, keep=keep, varied=varied, workers=workers, what=what
        )
    one = ensemble_estimate(cm, 1, grid, outputs, keep=True, varied=varied, workers=workers, what=what)
    copies = members * output_values(cm, outputs, len(grid.report_steps)) * 8 if keep else 0
    return dataclasses.replace(one, members=members, kept_bytes=one.kept_bytes + copies)


def stream_advice(estimates: Sequence[Estimate]) -> list[str]:
    """How to proceed when kept members are what is too large: stream them.

    Parameters
    ----------
    estimates
        The ensembles' estimates.

    Returns
    -------
    list of str
        The advice, or nothing when no ensemble keeps its members.
    """
    if not any(e.kept_bytes for e in estimates):
        return []
    return [
        f"stream the members (with more than {KEEP_LIMIT:,} members, or keep_members=False, only running "
        "sums and a quantile sketch are kept, not every member)"
    ]


def check_ensemble(
    estimate: Estimate,
    max_memory: int | str | None,
    on_estimate: Callable[[Estimate], None] | None = None,
) -> None:
    """Show the estimate to ``on_estimate`` and refuse the ensemble if it does not fit.

    Parameters
    ----------
    estimate
        From :func:`ensemble_budget`.
    max_memory
        A limit (bytes, or a size such as ``"8GB"``); ``None``: the memory available now.
    on_estimate
        Called with the estimate first (``None``: not shown).

    Raises
    ------
    BudgetError
        With the estimate and how to proceed; nothing has been allocated.
    """
    if on_estimate is not None:
        on_estimate(estimate)
    limit = None if max_memory is None else parse_memory(max_memory)
    check_budget(estimate, limit, advice=stream_advice([estimate]))

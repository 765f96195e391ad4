"""The vectorised integrator: arrays in, arrays out.

:func:`integrate` advances the state ``x`` of shape ``(members, stocks)``
(people; stored column-major, so each stock's members are contiguous and
gathering stocks is a block copy) from ``t0`` in fixed steps of ``dt``
(months).  A step is a handful of numpy operations per *flow family*; no
Python loop runs over members or individual flows.

The integration methods are stepper objects, in the spirit of diffrax's
``AbstractSolver``: ``init(chunk)`` builds a method's state for one chunk of
members, ``step(state, x, t)`` advances ``x`` by one ``dt`` in place.

* :class:`~simulator.core._kernel_euler.EulerMatrix` (Euler, the surge model's
  method, when no coefficient varies by member or in time): one constant
  sparse product per step;
* :class:`~simulator.core._kernel_fused.EulerFused` (Euler, more than
  :data:`~simulator.core._kernel_fused.FUSE_FAMILIES` transfer families): every
  first-order flow in one buffer;
* :class:`~simulator.core._kernel_euler.EulerGeneric` (Euler otherwise):
  family by family; every gain is computed from the state at the start of the
  step, then ``x *= 1 - dt * loss`` and the gains are added;
* :class:`~simulator.core._kernel_rk4.RK4`: the full derivative four times.

When the model has a single absorbing sink (a one-element stock that only
receives people, like the surge model's ``no_mh_needs``) in an otherwise
closed system, the Euler steppers (but the matrix one) do not step its level:
it is recovered exactly from conservation of people, ``sink = people at start
+ cumulative inflow - all other stocks`` (Euler preserves linear invariants,
so this is the same number to rounding).  Every stepper shares one recording
step (:class:`~simulator.core._kernel_record.Recorder`): values are recorded
only at the requested report steps, already reduced to the requested
dimensions.  The shared pieces of a step (transfer plans, the inflow loop)
are in :mod:`simulator.core._kernel_blocks`, the chunk's shared state in
:mod:`simulator.core._kernel_chunk`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from simulator.core._compiler import CompiledModel
from simulator.core._jit_backend import default_backend, resolve_backend
from simulator.core._jit_ops import Unsupported
from simulator.core._jit_run import integrate_compiled, program_for
from simulator.core._kernel_blocks import Sink
from simulator.core._kernel_chunk import Chunk, Stepper
from simulator.core._kernel_chunk import linear_matrix as _linear_matrix  # noqa: F401 (tests use it)
from simulator.core._kernel_euler import EulerGeneric, EulerMatrix
from simulator.core._kernel_fused import FUSE_FAMILIES, EulerFused
from simulator.core._kernel_record import Recorder, RecordItem
from simulator.core._kernel_rk4 import RK4
from simulator.core._memory import tune_allocator
from simulator.core._nodes import Context, Node

__all__ = [
    "RecordItem",
    "backend_note",
    "choose_stepper",
    "compiled_program",
    "evaluate_node",
    "fallback_reason",
    "integrate",
    "member_params",
]

#: why a model runs on numpy although the compiled backend was asked for, by model
_FALLBACK: dict[int, str] = {}


def member_params(params: Mapping[str, np.ndarray]) -> frozenset[str]:
    """Names of the parameters with a member axis (more than one row).

    Parameters
    ----------
    params
        Every parameter as a 2-D array ``(1 or members, n)``.

    Returns
    -------
    frozenset of str
    """
    return frozenset(k for k, v in params.items() if v.shape[0] > 1)


def compiled_program(
    cm: CompiledModel,
    record: Sequence[RecordItem],
    varying: frozenset[str],
    params: Mapping[str, np.ndarray],
    method: str,
    member: frozenset[str] | None = None,
) -> Any:
    """The compiled kernel's program for this run, or ``None`` (the reason kept for :func:`fallback_reason`).

    Parameters
    ----------
    cm, record, varying, params, method, member
        As for :func:`integrate`.

    Returns
    -------
    Program or None
    """
    if member is None:
        member = member_params(params)
    try:
        return program_for(cm, record, varying, member, method)
    except Unsupported as err:
        _FALLBACK[id(cm)] = str(err)
        return None


def fallback_reason(cm: CompiledModel, method: str = "euler") -> str | None:
    """Why ``cm`` cannot run on the compiled kernel (``None`` if it can).

    Parameters
    ----------
    cm
        The compiled model.
    method
        ``"euler"`` or ``"rk4"``.

    Returns
    -------
    str or None
        E.g. ``"the function 'foo'"``.
    """
    try:
        program_for(cm, [], frozenset(), frozenset(), method)
    except Unsupported as err:
        return str(err)
    return None


def backend_note(cm: CompiledModel, method: str = "euler", backend: str | None = None) -> str:
    """Which backend runs ``cm``, in words (for ``--verbose``).

    Parameters
    ----------
    cm
        The compiled model.
    method
        ``"euler"`` or ``"rk4"``.
    backend
        The backend asked for (``None``: the process default).

    Returns
    -------
    str
        ``"compiled"``, ``"numpy"``, or ``"numpy (...)"`` saying why the compiled kernel cannot run it.
    """
    asked = backend or default_backend()
    name = resolve_backend(backend)
    if name == "numpy":
        return "numpy" if asked == "numpy" else "numpy (numba is not installed)"
    reason = fallback_reason(cm, method)
    return "compiled" if reason is None else f"numpy (the compiled kernel cannot run {reason})"


def choose_stepper(chunk: Chunk, method: str, allow_matrix: bool) -> Stepper[Any]:
    """The stepper that integrates ``chunk`` with ``method``.

    Parameters
    ----------
    chunk
        The chunk of members.
    method
        ``"euler"``; any other value means RK4 (the caller validates it).
    allow_matrix
        Whether one constant sparse operator may step every member (decided for the
        whole run, so that results do not depend on chunking).

    Returns
    -------
    Stepper
        A fresh stepper; call its ``init`` on ``chunk``.
    """
    matrix = allow_matrix and chunk.constant
    if method != "euler":
        return RK4(matrix)
    if matrix:
        return EulerMatrix()
    if len(chunk.cm.transfers) > FUSE_FAMILIES:
        return EulerFused()
    return EulerGeneric()


def integrate(
    cm: CompiledModel,
    params: Mapping[str, np.ndarray],
    *,
    members: int,
    t0: float,
    dt: float,
    n_steps: int,
    report_steps: Sequence[int],
    record: Sequence[RecordItem],
    method: str = "euler",
    varying: frozenset[str] = frozenset(),
    param_at: Callable[[float], Mapping[str, np.ndarray]] | None = None,
    use_sink: bool = True,
    allow_matrix: bool = True,
    dest: Mapping[str, np.ndarray] | None = None,
    backend: str | None = "numpy",
    member: frozenset[str] | None = None,
) -> dict[str, np.ndarray]:
    """Integrate one chunk of ensemble members.

    Parameters
    ----------
    cm
        The compiled model.
    params
        Every parameter as a 2-D array ``(1 or members, n)``.
    members
        Number of members in this chunk.
    t0, dt, n_steps
        Start time and step (months), and number of steps; step ``k`` is at ``t0 + k * dt``.
    report_steps
        Step indices at which to record (sorted).
    record
        What to record and how to reduce it.
    method
        ``"euler"`` or ``"rk4"``.
    varying, param_at
        Names of parameters whose values change during the run, and a function
        returning every parameter at time ``t`` (time-varying interventions).
    use_sink
        Recover a single absorbing sink from conservation of people (Euler only).
    allow_matrix
        Use one constant sparse step matrix when no coefficient varies by member or
        in time.  The caller decides for the whole run (not per chunk), so results
        do not depend on how members are chunked.
    dest
        Arrays ``(members, len(report_steps), n_out)`` to record into (views of a
        caller's storage, saving a copy); others are allocated.
    backend
        ``"compiled"`` (the compiled step kernel, :mod:`simulator.core._jit_run`; a
        model it cannot run, or a chunk whose state fails the guard, runs on numpy)
        or ``"numpy"`` (the reference, the default of this low-level entry point: the
        steppers' tests call it); ``None``: the process default
        (:mod:`simulator.core._jit_backend`), which ``run_arrays`` and ``simulate`` use.
    member
        Parameters with a member axis in the whole run (default: those of ``params``
        with more than one row).  The caller decides for the whole run, so a chunk of
        one member runs the same program, and gives the same numbers, as a larger one.

    Returns
    -------
    dict
        Name -> array ``(members, len(report_steps), n_out)`` in the quantity's unit
        (stocks in people, flows in people per month); hidden items are left out.
    """
    tune_allocator()  # temporaries and workspaces reuse heap pages (see simulator.core._memory)
    if resolve_backend(backend) == "compiled":
        prog = compiled_program(cm, record, varying, params, method, member)
        if prog is not None:
            res = integrate_compiled(
                cm, prog, params, members=members, t0=t0, dt=dt, n_steps=n_steps,
                report_steps=report_steps, record=record, method=method, varying=varying,
                param_at=param_at, dest=dest,
            )  # fmt: skip
            if res is not None:
                return res
    chunk = Chunk(cm, params, members, t0, dt, varying, param_at)
    stepper = choose_stepper(chunk, method, allow_matrix)
    if use_sink and stepper.recovers_sink and cm.sink is not None:
        chunk.sink = Sink(cm.slices[cm.sink].start, chunk.x)
    state = stepper.init(chunk)
    recorder = Recorder(chunk, record, len(report_steps), dest)
    is_report = np.zeros(n_steps + 1, dtype=bool)
    is_report[list(report_steps)] = True
    slot = np.cumsum(is_report) - 1
    x, step, capture = chunk.x, stepper.step, recorder.capture
    for k in range(n_steps + 1):
        t = t0 + k * dt
        if is_report[k]:
            capture(int(slot[k]), t)
        if k < n_steps:
            step(state, x, t)
    return {r.name: recorder.out[r.name] for r in record if not r.hidden}


def evaluate_node(node: Node, params: Mapping[str, np.ndarray], t: float = 0.0) -> np.ndarray:
    """Evaluate a parameter-only node (derived values outside a run).

    Parameters
    ----------
    node
        A bound node that uses parameters (and possibly time) only.
    params
        Every parameter as a 2-D array ``(1 or members, n)``.
    t
        Time (months).

    Returns
    -------
    numpy.ndarray
        ``(1 or members, len(node.space))`` in the node's unit.
    """
    return node.eval(Context(params, t))

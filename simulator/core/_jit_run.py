"""Running one chunk of members on the compiled step kernel.

:func:`integrate_compiled` takes the same arguments as the numpy
:func:`~simulator.core._kernel.integrate` and gives the same results (to
rounding): the model's program (:mod:`simulator.core._jit_lower`, cached on
the compiled model per recording plan) runs block by block, each block's
workspace small enough to stay in cache for every step.  Static values are
evaluated by numpy once per chunk; series once per run; time-varying
parameters once per chunk, as piecewise-constant segments.  It returns
``None`` when the state fails the run-time guard, so that the caller reruns
the chunk on numpy for the exact message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from simulator.core._compiler import CompiledModel
from simulator.core._guard import allows_negative
from simulator.core._jit_lower import Program, lower
from simulator.core._kernel_record import RecordItem
from simulator.core._nodes import Context

__all__ = ["BLOCK_BYTES", "block_members", "integrate_compiled", "program_for"]

#: workspace bytes of one block of members (measured on the England model: 3-12 MB blocks, in the
#: shared L3 cache, ran 1.5x faster than 0.6 MB blocks in L2: longer member loops vectorise better;
#: since member values fixed for the run are computed in the workspace, 8 MB beat 4 MB: England
#: 10,000 jittered members on 2 workers 1.07-1.14 against 1.42-1.52 s, capacity 8.6-8.8 against 8.9-9.6 s)
BLOCK_BYTES = 8_000_000

_CACHE_SIZE = 16


def _record_key(record: Sequence[RecordItem]) -> tuple:
    key = []
    for r in record:
        mat = r.matrix
        mk = None
        if mat is not None:
            idx, wts = getattr(mat, "index", None), getattr(mat, "weights", None)
            mk = (
                (id(mat),)
                if idx is None
                else (hash(np.asarray(idx).tobytes()), hash(np.asarray(wts).tobytes()))
            )
        fi = None if r.factor_index is None else hash(np.asarray(r.factor_index).tobytes())
        key.append((r.name, r.n_out, r.base, id(r.factor), fi, r.hidden, r.source, mk))
    return tuple(key)


def program_for(
    cm: CompiledModel,
    record: Sequence[RecordItem],
    varying: frozenset[str],
    member: frozenset[str],
    method: str,
) -> Program:
    """The cached program of ``cm`` for this recording plan (lowered on first use).

    Parameters
    ----------
    cm, record, varying, member, method
        As for :func:`simulator.core._jit_lower.lower`.

    Returns
    -------
    Program

    Raises
    ------
    Unsupported
        The model has a construct the kernel cannot run.
    """
    cache = cm.__dict__.setdefault("_jit_programs", {})
    key = (_record_key(record), varying, member, method)
    prog = cache.get(key)
    if prog is None:
        prog = lower(cm, record, varying, member, method)
        if len(cache) >= _CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[key] = prog
    return prog


def block_members(prog: Program) -> int:
    """Members per block: the workspace near :data:`BLOCK_BYTES`, a multiple of 8 from 8 to 256.

    Parameters
    ----------
    prog
        The program.

    Returns
    -------
    int
    """
    m = BLOCK_BYTES // max(8 * prog.rows, 1)
    return int(min(256, max(8, m - m % 8)))


def _times(prog: Program, t0: float, dt: float, n_steps: int, report_steps: Sequence[int]):
    """Times of each step and RK4 stage, series values at them, and each step's report slot."""
    key = (t0, dt, n_steps, tuple(report_steps))
    hit = prog.cache.get(key)
    if hit is not None:
        return hit
    times = np.empty((n_steps + 1, 3))
    for k in range(n_steps + 1):
        t = t0 + k * dt
        times[k] = (t, t + 0.5 * dt, t + dt)
    ts = np.zeros((3 * (n_steps + 1), max(prog.series_width, 1)))
    for node, col, w in prog.series:
        for i, t in enumerate(times.ravel()):
            ts[i, col : col + w] = node.at(float(t))[0]
    slot = np.full(n_steps + 1, -1, dtype=np.int64)
    slot[list(report_steps)] = np.arange(len(report_steps))
    if len(prog.cache) > 8:
        prog.cache.clear()
    prog.cache[key] = (times, ts, slot)
    return times, ts, slot


def _segments(
    prog: Program, times: np.ndarray, params_at: Callable[[float], Mapping[str, np.ndarray]], rk4: bool
) -> tuple[list[Mapping[str, np.ndarray]], np.ndarray]:
    """Distinct parameter sets over time (piecewise constant: kept while the set is the same object)."""
    sets: list[Mapping[str, np.ndarray]] = []
    seg = np.zeros(times.size, dtype=np.int64)
    last: Mapping[str, np.ndarray] | None = None
    for i, t in enumerate(times.ravel()):
        if not rk4 and i % 3:
            continue
        p = params_at(float(t))
        if p is not last:
            same = last is not None and all(
                np.array_equal(p[name], last[name]) for name, _, _ in prog.vparams
            )
            if not same:
                sets.append(p)
            last = p
        seg[i] = len(sets) - 1
    return sets, seg


def _fill(v: np.ndarray, width: int, a: int, b: int) -> np.ndarray:
    """Rows ``a .. b-1`` of a value ``(1 or members, 1 or width)`` as ``(width, b - a)``."""
    v = np.asarray(v, dtype=float)
    rows = v[a:b] if v.shape[0] > 1 else v
    return np.broadcast_to(rows.T, (width, b - a)) if v.shape[1] in (1, width) else _bad(v, width)


def _bad(v: np.ndarray, width: int) -> np.ndarray:
    from simulator.core._jit_ops import Unsupported

    raise Unsupported(f"a value of {v.shape[1]} elements where {width} were expected")


#: per thread, the last program's workspaces ``{(width, segments, reports, order): buffers}``, reused
#: chunk after chunk: every row an op reads is written first in each block (the derivative rows are
#: zeroed, shared values filled once per call), so a run's chunks do not each allocate and zero them
_WORKSPACES: dict[int, tuple[Program, dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]]]] = {}


def _workspace(prog: Program, width: int, n_sets: int, n_rep: int, last: bool):
    """Workspace, time-varying parameters and recording buffers for a block of ``width`` members."""
    tid = threading.get_ident()
    hit = _WORKSPACES.get(tid)
    if hit is None or hit[0] is not prog:
        if len(_WORKSPACES) >= 16:  # threads come and go (the app's pools): keep a few
            _WORKSPACES.clear()
        hit = _WORKSPACES[tid] = (prog, {})
    key = (width, n_sets, n_rep, last)
    bufs = hit[1].get(key)
    if bufs is None:
        rw = max(prog.rec_width, 1)
        bufs = hit[1][key] = (
            np.zeros((prog.rows, width)),
            np.zeros((max(n_sets, 1), max(prog.vparam_width, 1), width)),
            np.empty((n_rep, rw, width) if last else (width, n_rep, rw)),
        )
    return bufs


def _chunk_values(cm: CompiledModel, prog: Program, params: Mapping[str, np.ndarray], ctx: Context):
    """A chunk's initial stocks, static values shared by every member and by member, and shared weights.

    Values shared by every member go into a block's workspace once; member values into every block.
    """
    initial = [(cm.slices[name], node.eval(ctx)) for name, node in cm.initial.items()]
    values = [(row, w, node.eval(ctx)) for node, row, w in prog.static]
    values += [(row, w, params[name]) for name, row, w in prog.tables]
    shared = [(row, w, v) for row, w, v in values if np.shape(v)[0] == 1]
    member = [(row, w, v) for row, w, v in values if np.shape(v)[0] != 1]
    u = np.zeros(max(prog.shared_size, 1))
    for node, off, width in prog.shared:
        u[off : off + width] = np.broadcast_to(node.eval(ctx), (1, width))[0]
    return initial, shared, member, u


def integrate_compiled(
    cm: CompiledModel,
    prog: Program,
    params: Mapping[str, np.ndarray],
    *,
    members: int,
    t0: float,
    dt: float,
    n_steps: int,
    report_steps: Sequence[int],
    record: Sequence[RecordItem],
    method: str,
    varying: frozenset[str],
    param_at: Callable[[float], Mapping[str, np.ndarray]] | None,
    dest: Mapping[str, np.ndarray] | None,
) -> dict[str, np.ndarray] | None:
    """Integrate one chunk on the compiled kernel (see :func:`simulator.core._kernel.integrate`).

    Parameters
    ----------
    cm, prog
        The compiled model and its program (:func:`program_for`).
    params, members, t0, dt, n_steps, report_steps, record, method, varying, param_at, dest
        As for :func:`simulator.core._kernel.integrate`.

    Returns
    -------
    dict or None
        Name -> ``(members, reports, n_out)``; ``None`` if a stock went negative or
        not finite (the caller reruns the chunk on numpy, which says where and why).
    """
    from simulator.core._jit_kernel import run_block

    m, s = members, prog.s
    initial, shared, values, u = _chunk_values(
        cm, prog, params, Context(params, t0, static={}, varying=varying, dt=dt)
    )
    times, ts, slot = _times(prog, t0, dt, n_steps, report_steps)
    rk4 = method == "rk4"
    if prog.vparams:
        sets, vseg = _segments(prog, times, (lambda t: params) if param_at is None else param_at, rk4)
    else:
        sets, vseg = [], np.zeros(times.size, dtype=np.int64)
    dest = dest or {}
    n_rep = len(report_steps)
    # record in the storage order of the caller's arrays (ensembles keep members last)
    last = any(v.ndim == 3 and v.shape[0] > 1 and v.strides[0] == v.itemsize for v in dest.values())
    out = {
        n: dest[n]
        if n in dest
        else (np.empty((n_rep, k, m)).transpose(2, 0, 1) if last else np.empty((m, n_rep, k)))
        for n, _, k, _ in prog.record
    }
    n_blocks = -(-m // block_members(prog))
    blk = -(-m // n_blocks)  # blocks of equal width (one workspace), the last perhaps narrower
    allow = allows_negative(cm)
    filled: set[int] = set()
    for a in range(0, m, blk):
        b = min(m, a + blk)
        w, vp, rec = _workspace(prog, b - a, len(sets), n_rep, last)
        if id(w) not in filled:  # values shared by every member: once per workspace and call
            filled.add(id(w))
            for row, width, v in shared:
                w[row : row + width] = _fill(v, width, 0, b - a)
        w[:s] = 0.0
        for sl, v in initial:
            w[sl] = _fill(v, sl.stop - sl.start, a, b)
        w[prog.d : prog.d + s] = 0.0
        for row, width, v in values:
            w[row : row + width] = _fill(v, width, a, b)
        for k, p in enumerate(sets):
            for name, col, width in prog.vparams:
                vp[k, col : col + width] = _fill(p[name], width, a, b)
        bad = run_block(
            prog.ops, prog.ix, prog.fl, u, w, times, slot, ts, vp, vseg, prog.rec, rec,
            s, prog.d, prog.lrow, dt, 1 if rk4 else 0, allow, last,
        )  # fmt: skip
        if bad >= 0:
            return None
        for (name, _, n, _), (_, off, _) in zip(prog.record, prog.rec):
            out[name][a:b] = rec[:, off : off + n, :].transpose(2, 0, 1) if last else rec[:, :, off : off + n]
    return {r.name: out[r.name] for r in record if not r.hidden}

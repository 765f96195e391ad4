"""The compiled step kernel: one generic numba function that interprets a lowered model.

Compiled once (``numba.njit(cache=True)``: the machine code is kept on disk,
so a second process does not compile again) and driven by data: the op table
of :mod:`simulator.core._jit_ops` built by :mod:`simulator.core._jit_lower`.
:func:`run_block` advances one block of members (the workspace ``W``
``(rows, members)``, members innermost) through every step, recording at the
report steps, with explicit Euler (``method`` 0) or classical RK4 (1).
Nothing here allocates per step.
"""

from __future__ import annotations

import numpy as np

from simulator.core._jit_ops import (
    BINARY,
    CONTRACT,
    COPY,
    FLOW,
    FLOWADD,
    GATHER,
    GATHERZ,
    LOOKUP,
    LOSSADD,
    MULGATHER,
    SCALE,
    SCATTER,
    SEGRED,
    SERIES,
    SPMV,
    TERNARY,
    TIME,
    TIMEFN,
    UNARY,
    VPARAM,
    ZERO,
)
from simulator.core._jit_scalar import (
    binary,
    jit,
    lookup_interval,
    maximum,
    minimum,
    ternary,
    timefn,
    unary,
)

__all__ = ["run_block"]


@jit
def _exec(ops, ix, fl, u, w, t: float, tidx: int, ts, vp, vseg, want: int, done) -> None:
    """Run the ops of the program whose mask meets ``want`` (1: step, 2: record, 4: once).

    An op flagged 8 (its value changes only with the time-varying parameters' segment)
    runs once per segment: ``done`` holds the segment each op last ran for.
    """
    m = w.shape[1]
    seg = vseg[tidx]
    for q in range(ops.shape[0]):
        if (ops[q, 1] & want) == 0:
            continue
        if ops[q, 1] & 8:
            if done[q] == seg:
                continue
            done[q] = seg
        code, sub, out, n = ops[q, 0], ops[q, 2], ops[q, 3], ops[q, 4]
        a, sa, b, sb = ops[q, 5], ops[q, 6], ops[q, 7], ops[q, 8]
        c, sc, i0, i1, f0 = ops[q, 9], ops[q, 10], ops[q, 11], ops[q, 12], ops[q, 13]
        if code == FLOW and sub == 1:  # into the destination only (the loss-rate rows drain the source)
            for i in range(n):  # a loop of its own, not a branch per element: England ~10% faster
                cr, xr, dr = a + i * sa, ix[i0 + i], b + ix[i1 + i]
                for j in range(m):
                    w[dr, j] += w[cr, j] * w[xr, j]
        elif code == FLOW:
            _flow_out(sub, n, a, sa, b, c, i0, i1, ix, w)
        elif code == LOSSADD:
            for i in range(n):
                lr, cr = out + ix[i0 + i], a + i * sa
                for j in range(m):
                    w[lr, j] += w[cr, j]
        elif code == MULGATHER:
            for i in range(n):
                o, cr, xr = out + i, a + i * sa, ix[i0 + i]
                for j in range(m):
                    w[o, j] = w[cr, j] * w[xr, j]
        elif code == FLOWADD:
            for i in range(n):
                dr, vr = c + ix[i0 + i], a + i * sa
                if sub == 0:
                    for j in range(m):
                        w[dr, j] += w[vr, j]
                else:
                    for j in range(m):
                        w[dr, j] -= w[vr, j]
        elif code == BINARY:
            for i in range(n):
                o, xr, yr = out + i, a + i * sa, b + i * sb
                if sub == 0:
                    for j in range(m):
                        w[o, j] = w[xr, j] + w[yr, j]
                elif sub == 1:
                    for j in range(m):
                        w[o, j] = w[xr, j] - w[yr, j]
                elif sub == 2:
                    for j in range(m):
                        w[o, j] = w[xr, j] * w[yr, j]
                else:
                    for j in range(m):
                        w[o, j] = binary(sub, w[xr, j], w[yr, j])
        elif code == COPY:
            for i in range(n):
                for j in range(m):
                    w[out + i, j] = w[a + i * sa, j]
        elif code == GATHER or code == GATHERZ:
            for i in range(n):
                k = ix[i0 + i]
                for j in range(m):
                    w[out + i, j] = 0.0 if k < 0 else w[a + k, j]
        elif code == ZERO:
            for i in range(n):
                for j in range(m):
                    w[out + i, j] = 0.0
        else:
            _rest(code, sub, out, n, a, sa, b, sb, c, sc, i0, i1, f0, ix, fl, u, w, t, tidx, ts, vp, vseg)


@jit
def _flow_out(sub, n, a, sa, b, c, i0, i1, ix, w) -> None:
    """A flow out of its source (``sub`` 2), or out of its source and into its destination (3)."""
    m = w.shape[1]
    for i in range(n):
        cr, xr = a + i * sa, ix[i0 + i]
        if sub == 3:
            dr, sr = b + ix[i1 + i], b + ix[c + i]
            for j in range(m):
                f = w[cr, j] * w[xr, j]
                w[dr, j] += f
                w[sr, j] -= f
        elif sub == 2:
            sr = b + ix[c + i]
            for j in range(m):
                w[sr, j] -= w[cr, j] * w[xr, j]


@jit
def _rest(code, sub, out, n, a, sa, b, sb, c, sc, i0, i1, f0, ix, fl, u, w, t, tidx, ts, vp, vseg) -> None:
    """The ops other than flows and arithmetic (see :mod:`simulator.core._jit_ops`)."""
    m = w.shape[1]
    if code == UNARY:
        for i in range(n):
            for j in range(m):
                w[out + i, j] = unary(sub, w[a + i * sa, j])
    elif code == TERNARY:
        for i in range(n):
            for j in range(m):
                w[out + i, j] = ternary(sub, w[a + i * sa, j], w[b + i * sb, j], w[c + i * sc, j])
    elif code == TIMEFN:
        for i in range(n):
            for j in range(m):
                w[out + i, j] = timefn(sub, t, w[a + i * sa, j], w[b + i * sb, j], w[c + i * sc, j])
    elif code == TIME:
        for j in range(m):
            w[out, j] = t
    elif code == SERIES:
        for i in range(n):
            v = ts[tidx, i0 + i]
            for j in range(m):
                w[out + i, j] = v
    elif code == VPARAM:
        seg = vseg[tidx]
        for i in range(n):
            for j in range(m):
                w[out + i, j] = vp[seg, i0 + i, j]
    elif code == SPMV:
        for r in range(n):
            for j in range(m):
                w[out + r, j] = 0.0
            for p in range(ix[i0 + r], ix[i0 + r + 1]):
                xr, cf = a + ix[i1 + p], fl[f0 + p]
                for j in range(m):
                    w[out + r, j] += cf * w[xr, j]
    elif code == SEGRED:
        for s in range(n):
            p0 = ix[i0 + s]
            for j in range(m):
                w[out + s, j] = w[a + ix[i1 + p0], j]
            for p in range(p0 + 1, ix[i0 + s + 1]):
                xr = a + ix[i1 + p]
                for j in range(m):
                    if sub == 0:
                        w[out + s, j] = w[out + s, j] * w[xr, j]
                    elif sub == 1:
                        w[out + s, j] = minimum(w[out + s, j], w[xr, j])
                    else:
                        w[out + s, j] = maximum(w[out + s, j], w[xr, j])
    elif code == SCALE:
        for i in range(n):
            cf = fl[f0 + i]
            for j in range(m):
                w[out + i, j] = w[a + i * sa, j] * cf
    elif code == SCATTER:
        for i in range(n):
            for j in range(m):
                w[out + ix[i0 + i], j] = w[a + i * sa, j]
    elif code == LOOKUP:
        for i in range(n):
            base = b + ix[i0 + i]
            for j in range(m):
                if c == 1:
                    w[out + i, j] = w[base, j]
                    continue
                pos, wt = lookup_interval(w[a + i * sa, j], fl, f0, c)
                y0, y1 = w[base + pos - 1, j], w[base + pos, j]
                w[out + i, j] = y0 + wt * (y1 - y0)
    elif code == CONTRACT:
        for i in range(n):
            for j in range(m):
                w[out + i, j] = 0.0
        for p in range(c):
            cf = u[f0 + p]
            if cf != 0.0:
                o, xr = out + ix[i0 + p], a + ix[i1 + p]
                for j in range(m):
                    w[o, j] += cf * w[xr, j]


@jit
def _bad_state(w, s: int, allow_negative: bool, lo, hi, nan) -> bool:
    """Whether a stock is not finite, or negative beyond rounding (see ``simulator.core._guard``).

    Members are reduced side by side (``lo``, ``hi``, ``nan``: one value per member), so the
    loops vectorise; ``v * 0`` is 0 for every finite value and NaN otherwise.
    """
    m = w.shape[1]
    for j in range(m):
        lo[j], hi[j], nan[j] = np.inf, -np.inf, 0.0
    for r in range(s):
        for j in range(m):
            v = w[r, j]
            lo[j] = v if v < lo[j] else lo[j]
            hi[j] = v if v > hi[j] else hi[j]
            nan[j] += v * 0.0
    low, high = np.inf, -np.inf
    for j in range(m):
        if nan[j] != 0.0:
            return True
        low, high = min(low, lo[j]), max(high, hi[j])
    return not allow_negative and low < -1e-9 * max(1.0, high)


@jit
def run_block(
    ops,
    ix,
    fl,
    u,
    w,
    times,
    report_slot,
    ts,
    vp,
    vseg,
    rec,
    out,
    s: int,
    d: int,
    lrow: int,
    dt: float,
    method: int,
    allow_negative: bool,
    member_last: bool,
) -> int:
    """Advance one block of members through every step; ``-1`` when done, else the failing step.

    Parameters
    ----------
    ops, ix, fl, u
        The program: op table, index arrays, constants, member-shared weights.
    w
        Workspace ``(rows, members)``: rows ``0 .. s-1`` hold the state at the start
        (people), rows ``d .. d+s-1`` the derivative; RK4 uses ``d+s .. d+3s-1``.
    times
        ``(steps + 1, 3)``: each step's time and its RK4 mid and end times (months).
    report_slot
        Report slot of each step, -1 where nothing is recorded.
    ts, vp, vseg
        Series values by time index, time-varying parameters by segment, and the
        segment of each time index (time index ``3k + stage``).
    rec, out
        Record rows ``(row, slot offset, n)`` and the recording: ``(reports, slots, members)``
        with ``member_last``, else ``(members, reports, slots)`` (the caller's storage order).
    s, d, lrow, dt, method, allow_negative, member_last
        Stocks, derivative row, loss-rate row (-1: none), step (months), 0 Euler / 1 RK4,
        whether stocks may go negative, the order of ``out``.

    Returns
    -------
    int
        -1, or the step whose state failed the guard (the caller reruns on numpy for the message).
    """
    n_steps = times.shape[0] - 1
    m = w.shape[1]
    x0, acc = d + s, d + 2 * s
    lo, hi, nan = np.empty(m), np.empty(m), np.empty(m)
    done = np.full(ops.shape[0], -1, dtype=np.int64)
    _exec(ops, ix, fl, u, w, times[0, 0], 0, ts, vp, vseg, 4, done)
    for k in range(n_steps + 1):
        slot = report_slot[k]
        step = k < n_steps
        want = 1 if step else 0
        if (slot >= 0 or k == 0) and _bad_state(w, s, allow_negative, lo, hi, nan):
            return k
        if slot >= 0:
            want |= 2
        if want == 0:
            continue
        _exec(ops, ix, fl, u, w, times[k, 0], 3 * k, ts, vp, vseg, want, done)  # derivative rows start at 0
        if step and method == 1:
            _losses(w, d, s, lrow)
        if slot >= 0:
            _record(w, rec, out, slot, member_last)
        if not step:
            continue
        if method == 0:
            _euler(w, d, s, lrow, dt)
            continue
        for stage in range(3):
            h = dt if stage == 2 else 0.5 * dt
            for r in range(s):
                for j in range(m):
                    if stage == 0:
                        w[x0 + r, j] = w[r, j]
                        w[acc + r, j] = w[d + r, j]
                    else:
                        w[acc + r, j] += 2.0 * w[d + r, j]
                    w[r, j] = w[x0 + r, j] + h * w[d + r, j]
            _zero(w, d, s)
            e = 1 if stage < 2 else 2
            _exec(ops, ix, fl, u, w, times[k, e], 3 * k + e, ts, vp, vseg, 1, done)
            _losses(w, d, s, lrow)
        for r in range(s):
            for j in range(m):
                w[r, j] = w[x0 + r, j] + (dt / 6.0) * (w[acc + r, j] + w[d + r, j])
                w[d + r, j] = 0.0
    return -1


@jit
def _record(w, rec, out, slot: int, member_last: bool) -> None:
    """Copy the recorded rows into report ``slot`` of ``out`` (see :func:`run_block`)."""
    m = w.shape[1]
    if member_last:
        for r in range(rec.shape[0]):
            for i in range(rec[r, 2]):
                for j in range(m):
                    out[slot, rec[r, 1] + i, j] = w[rec[r, 0] + i, j]
        return
    for j in range(m):
        for r in range(rec.shape[0]):
            for i in range(rec[r, 2]):
                out[j, slot, rec[r, 1] + i] = w[rec[r, 0] + i, j]


@jit
def _euler(w, d: int, s: int, lrow: int, dt: float) -> None:
    """``x += dt * (gains - loss * x)``, leaving the derivative rows at 0 for the next step."""
    m = w.shape[1]
    for r in range(s):
        if lrow >= 0:
            for j in range(m):
                w[r, j] += dt * (w[d + r, j] - w[lrow + r, j] * w[r, j])
                w[d + r, j] = 0.0
        else:
            for j in range(m):
                w[r, j] += dt * w[d + r, j]
                w[d + r, j] = 0.0


@jit
def _losses(w, d: int, s: int, lrow: int) -> None:
    """People leaving the stocks their flows follow: ``dx -= loss * x``."""
    if lrow < 0:
        return
    for r in range(s):
        for j in range(w.shape[1]):
            w[d + r, j] -= w[lrow + r, j] * w[r, j]


@jit
def _zero(w, d: int, s: int) -> None:
    for r in range(d, d + s):
        for j in range(w.shape[1]):
            w[r, j] = 0.0

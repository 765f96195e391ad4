"""The vectorised integrator: arrays in, arrays out.

:func:`integrate` advances the state ``x`` of shape ``(members, stocks)``
(stored column-major, so each stock's members are contiguous and gathering
stocks is a block copy) from ``t0`` in fixed steps of ``dt``.  A step is a
handful of numpy operations per *flow family*; no Python loop runs over
members or individual flows.

Euler (the surge model's method) is fused: every gain is computed from the
state at the start of the step, then ``x *= 1 - dt * loss`` and the gains are
added.  When the model has a single absorbing sink (a one-element stock that
only receives people, like the surge model's ``no_mh_needs``) in an otherwise
closed system, its level is not stepped but recovered exactly from
conservation of people: ``sink = people at start + cumulative inflow - all
other stocks`` (Euler preserves linear invariants, so this is the same number
to rounding).  RK4 evaluates the full derivative four times.  Values are
recorded only at the requested report steps, already reduced to the
requested dimensions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from simulator.core._bind import Context, Node
from simulator.core._compiler import CompiledModel, InflowBlock, Scatter, TransferBlock
from simulator.core._memory import tune_allocator

__all__ = ["RecordItem", "integrate"]


@dataclass(frozen=True)
class RecordItem:
    """One recorded quantity: its name and an optional segment sum to the kept dimensions.

    With ``base`` set, the value is ``record[base] * factor`` on the kept elements:
    ``factor`` (a parameter-only node) gathered by ``factor_index``.  ``hidden``
    items are computed (as bases) but not returned.
    """

    name: str
    matrix: object | None
    n_out: int
    base: str | None = None
    factor: Node | None = None
    factor_index: np.ndarray | None = None
    hidden: bool = False
    source: str | None = None

    @property
    def variable(self) -> str:
        """The model quantity evaluated for this item."""
        return self.source or self.name


def _f(a: np.ndarray) -> np.ndarray:
    """Column-major copy of a member-varying 2-D array (matches the state layout)."""
    return np.asfortranarray(a) if a.ndim == 2 and a.shape[0] > 1 else a


def _full(a: np.ndarray, n: int) -> np.ndarray:
    """``a`` (rows, 1 or n) broadcast to ``(rows, n)``."""
    a = np.asarray(a, dtype=float)
    return a if a.shape[1] == n else np.broadcast_to(a, (a.shape[0], n))


def _compact(scatter: Scatter, v: np.ndarray) -> np.ndarray:
    """Reduce values to what ``scatter`` adds."""
    if scatter.kind == "single":
        return v.sum(axis=1)
    if scatter.kind == "segments":
        return scatter.matrix(v)
    return v


def _apply(scatter: Scatter, out: np.ndarray, c: np.ndarray, sign: float = 1.0) -> None:
    """Add (or subtract) compact values into the state columns of ``scatter``."""
    if scatter.kind == "slice":
        if sign > 0:
            out[:, scatter.slice] += c
        else:
            out[:, scatter.slice] -= c
        return
    if sign < 0:
        c = -c
    if scatter.kind == "single":
        out[:, scatter.target] += c
    elif scatter.kind == "unique":
        out[:, scatter.idx] += c
    else:
        out[:, scatter.targets] += c


class _Plan:
    """A transfer block's per-chunk plan: a buffer and pre-folded weights.

    ``levels`` gathers the stock levels the flow is proportional to into the
    buffer (a block copy per element in the column-major layout);
    ``values`` multiplies them by the coefficient in place.
    """

    def __init__(self, block: TransferBlock, m: int, static_c: np.ndarray | None):
        self.block = block
        self.buf = np.empty((m, len(block.of)), order="F")
        self.gather = block.of_slice is None
        self.only_dst = block.src_scatter is None and block.dst_scatter is not None and not block.tally
        self.weighted = None
        sc = block.dst_scatter
        if self.only_dst and static_c is not None and static_c.shape[0] == 1:
            if sc.kind == "segments":
                self.weighted = sc.matrix.scaled(static_c[0])
            elif sc.kind == "single":
                self.weighted = static_c[0].copy()

    def levels(self, x: np.ndarray, xt: np.ndarray) -> np.ndarray:
        if self.gather:
            np.take(xt, self.block.of, axis=0, out=self.buf.T)
            return self.buf
        return x[:, self.block.of_slice]

    def values(self, x: np.ndarray, xt: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Flow values ``coef * level`` (in the plan's buffer)."""
        return np.multiply(self.levels(x, xt), c, out=self.buf)

    def contributions(self, x: np.ndarray, xt: np.ndarray, c: np.ndarray, pending: list) -> None:
        """Append ``(scatter, values, sign)`` computed from the state before the step."""
        b = self.block
        if self.only_dst:
            sc = b.dst_scatter
            if sc.kind == "single":
                lv = self.levels(x, xt)
                if self.weighted is not None:
                    s = lv @ self.weighted
                elif c.shape[0] == 1:
                    s = lv @ c[0]
                else:
                    s = np.einsum("ij,ij->i", lv, c)
                pending.append((sc, s, 1.0))
                return
            if self.weighted is not None:
                pending.append((sc, self.weighted(self.levels(x, xt)), 1.0))
                return
        v = self.values(x, xt, c)
        if b.dst_scatter is not None:
            pending.append((b.dst_scatter, _compact(b.dst_scatter, v), 1.0))
        if b.src_scatter is not None:
            pending.append((b.src_scatter, _compact(b.src_scatter, v).copy(), -1.0))
        for sc in b.tally_scatters:
            pending.append((sc, _compact(sc, v).copy(), 1.0))


def _linear_matrix(cm: CompiledModel, coefs: Mapping[str, np.ndarray], scale: float, blocks):
    """Sparse ``J`` with ``dx = J x`` for first-order flows (rows of ``coefs`` must be 1).

    Built once per chunk: gains ``J[dst, of] += c``, losses ``J[src, of] -= c``.
    """
    from scipy import sparse

    rows, cols, vals = [], [], []
    for b in blocks:
        c = np.broadcast_to(coefs[b.name], (1, len(b.of)))[0] * scale
        if b.dst is not None:
            rows.append(b.dst)
            cols.append(b.of)
            vals.append(c)
        if b.src is not None:
            rows.append(b.src)
            cols.append(b.of)
            vals.append(-c)
    n = cm.n_stocks
    if not rows:
        return sparse.csr_matrix((n, n))
    return sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )


#: models with more transfer families than this step with :class:`_Fused` (one gather, one
#: multiply and one sparse product per step) instead of family by family
FUSE_FAMILIES = 8


class _Fused:
    """Every first-order flow of a chunk in one buffer: an Euler step in a handful of calls.

    ``coef`` ``(m, K)`` holds every flow element's coefficient x dt (column-major);
    a step gathers the stock each element is proportional to, multiplies, and
    adds the products into their targets with one sparse matrix ``G (S x K)``
    (+1 at the target, -1 at a source other than the one it is proportional
    to).  Losses ``x * dt * rate`` from the source it is proportional to are
    ``L (S x K) @ coef``, one product in a fixed order whether coefficients are
    static or change during the run.
    """

    def __init__(self, cm: CompiledModel, m: int, dt: float, static: Mapping[str, np.ndarray], dynamic):
        from scipy import sparse

        blocks = [b for b in cm.transfers if b.dst is not None or b.src is not None or b.tally]
        self.dt = dt
        self.of = np.concatenate([b.of for b in blocks])
        self.cols: dict[str, slice] = {}
        k = 0
        rows_g, cols_g, vals_g, rows_l, cols_l = [], [], [], [], []
        for b in blocks:
            n = len(b.of)
            self.cols[b.name] = slice(k, k + n)
            idx = np.arange(k, k + n)
            if b.dst is not None:
                rows_g.append(b.dst)
                cols_g.append(idx)
                vals_g.append(np.ones(n))
            if b.src is not None and not b.loss:
                rows_g.append(b.src)
                cols_g.append(idx)
                vals_g.append(-np.ones(n))
            for extra in b.tally:
                rows_g.append(extra)
                cols_g.append(idx)
                vals_g.append(np.ones(n))
            if b.loss:
                rows_l.append(b.src)
                cols_l.append(idx)
            k += n
        s_total = cm.n_stocks
        self.G = sparse.csr_matrix(
            (np.concatenate(vals_g), (np.concatenate(rows_g), np.concatenate(cols_g))), shape=(s_total, k)
        )
        if rows_l:
            rl, cl = np.concatenate(rows_l), np.concatenate(cols_l)
            self.L = sparse.csr_matrix((np.ones(len(rl)), (rl, cl)), shape=(s_total, k))
        else:
            self.L = sparse.csr_matrix((s_total, k))
        rows = max([1, *(v.shape[0] for v in static.values())])
        rows = m if dynamic else rows
        self.coef = np.zeros((rows, k), order="F")
        for b in blocks:
            c = static.get(b.name)
            if c is not None:
                self.coef[:, self.cols[b.name]] = c * dt
        self.buf = np.empty((m, k), order="F")
        self.names = {b.name for b in blocks}
        self._keep()

    def _keep(self) -> None:
        self.keep = np.asfortranarray(1.0 - np.asarray(self.L @ self.coef.T).T)

    def update(self, coef: Mapping[str, np.ndarray]) -> None:
        """New coefficients (per month) for some flows; refreshes the losses."""
        for name, c in coef.items():
            if name in self.names:
                self.coef[:, self.cols[name]] = c * self.dt
        self._keep()

    def write(self, name: str, c: np.ndarray) -> None:
        """A flow's new coefficient (per month, any broadcastable shape) straight into the buffer.

        One pass, no intermediate copies; call :meth:`refresh` after the last one.
        """
        if name in self.names:
            np.multiply(c, self.dt, out=self.coef[:, self.cols[name]])

    def refresh(self) -> None:
        """Recompute the losses after :meth:`write`."""
        self._keep()

    def gains(self, x: np.ndarray) -> np.ndarray:
        """People moved into each stock this step, ``(m, S)`` (losses from sources excluded)."""
        np.take(x.T, self.of, axis=0, out=self.buf.T)
        np.multiply(self.buf, self.coef, out=self.buf)
        return np.asfortranarray(np.asarray(self.G @ self.buf.T).T)


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
        Start time, step (months) and number of steps; step ``k`` is at ``t0 + k * dt``.
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

    Returns
    -------
    dict
        Name -> array ``(members, len(report_steps), n_out)``.
    """
    tune_allocator()  # temporaries reuse heap pages step after step (see simulator.core._memory)
    m = members
    s_total = cm.n_stocks
    x = np.zeros((m, s_total), order="F")
    xt = x.T
    static: dict[int, np.ndarray] = {}
    ctx0 = Context(params, t0, static=static, varying=varying, dt=dt)
    for name, node in cm.initial.items():
        x[:, cm.slices[name]] = node.eval(ctx0)

    def params_at(t: float) -> Mapping[str, np.ndarray]:
        return params if param_at is None else param_at(t)

    def context(t: float, xx: np.ndarray) -> Context:
        return Context(params_at(t), t, xx, static=static, varying=varying, dt=dt)

    def n_of(b: InflowBlock) -> int:
        return len(cm.flow_spaces[b.name])

    recorded = {r.name for r in record} | _flows_in_outputs(cm, record)
    static_t = [b for b in cm.transfers if not b.coef.dynamic(varying)]
    dynamic_t = [b for b in cm.transfers if b.coef.dynamic(varying)]
    static_coef = {b.name: _f(_full(b.coef.eval(ctx0), len(b.of))) for b in static_t}

    def loss_of(coefs: Mapping[str, np.ndarray], blocks: Sequence[TransferBlock]) -> np.ndarray:
        rows = max([1, *(coefs[b.name].shape[0] for b in blocks if b.loss)])
        loss = np.zeros((rows, s_total), order="F")
        for b in blocks:
            if b.loss:
                b.of_scatter.add(loss, np.broadcast_to(coefs[b.name], (rows, len(b.of))))
        return loss

    loss_static = loss_of(static_coef, static_t)
    loss_blocks = [b for b in cm.transfers if b.loss]
    dyn_loss = [b for b in dynamic_t if b.loss]
    has_loss = bool(np.any(loss_static)) or bool(dyn_loss)
    inflows = [b for b in cm.inflows if b.moves]

    # A single linear operator when no coefficient varies by member or in time:
    # one sparse product per step (or per RK4 stage).
    matrix_mode = allow_matrix and not dynamic_t and all(c.shape[0] == 1 for c in static_coef.values())
    if matrix_mode:
        from scipy import sparse

        jac = _linear_matrix(cm, static_coef, 1.0, cm.transfers)
        step_matrix = (sparse.identity(cm.n_stocks, format="csr") + dt * jac).tocsr()
    sink = cm.sink if (use_sink and method == "euler" and not matrix_mode) else None
    if sink is not None:
        sink_col = cm.slices[sink].start
        people0 = x.sum(axis=1)
        cum_in = np.zeros(m)
    movers = [
        b
        for b in cm.transfers
        if (b.dst is not None or b.src_scatter is not None or b.tally)
        and not (
            sink is not None
            and b.loss
            and b.dst_scatter.kind == "single"
            and b.dst_scatter.target == sink_col
        )
    ]

    # ------------------------------------------------------------------ Euler
    dt_coef: dict[str, np.ndarray] = {}
    keep = None
    if method == "euler":
        keep = _f(1.0 - dt * loss_static)
        dt_coef = {k: _f(v * dt) for k, v in static_coef.items()}
    plans = {
        b.name: _Plan(b, m, dt_coef.get(b.name))
        for b in cm.transfers
        if not matrix_mode or b.name in recorded
    }
    mover_plans = [] if matrix_mode else [plans[b.name] for b in movers]

    def add_inflows(xx: np.ndarray, ctx: Context, scale: float) -> None:
        for ib in inflows:
            v = _full(ib.value.eval(ctx), n_of(ib)) * scale
            _apply(ib.dst_scatter, xx, _compact(ib.dst_scatter, v))

    def euler_matrix(xx: np.ndarray, t: float) -> None:
        ctx = context(t, xx)
        # inflows may depend on the state: evaluate them all before the state changes
        gains = [(ib, _full(ib.value.eval(ctx), n_of(ib)) * dt) for ib in inflows]
        xx[...] = (step_matrix @ xt).T
        for ib, v in gains:
            _apply(ib.dst_scatter, xx, _compact(ib.dst_scatter, v))

    def deriv_matrix(xx: np.ndarray, t: float) -> np.ndarray:
        dx = np.asfortranarray((jac @ xx.T).T)
        add_inflows(dx, context(t, xx), 1.0)
        return dx

    # coefficients that change only when time-varying parameters do (interventions) are
    # re-evaluated only when params_at returns a new parameter set
    dyn_moves_alone = any(b.coef.time or b.coef.state for b in dynamic_t)
    last: dict[str, object] = {"p": None}

    def step_context(xx: np.ndarray, t: float) -> tuple[Mapping[str, np.ndarray], Context]:
        """The context of a step at ``t``.

        The one recording just used at this time, if any (its cached auxiliaries
        and coefficients are this step's too), else a new one.
        """
        p = params_at(t)
        ctx = reported.pop("ctx", None)
        if ctx is None or ctx.t != t or ctx.params is not p or ctx.x is not xx:
            ctx = Context(p, t, xx, static=static, varying=varying, dt=dt)
        return p, ctx

    reported: dict[str, Context] = {}

    def euler(xx: np.ndarray, t: float) -> None:
        nonlocal cum_in
        p, ctx = step_context(xx, t)
        if dyn_moves_alone or last["p"] is not p:
            coef = {b.name: _f(_full(b.coef.eval(ctx), len(b.of))) for b in dynamic_t}
            dyn = {k: v * dt for k, v in coef.items()}
            # the same sum, in the same order, as the static case: a time-varying parameter
            # that does not move gives bit-identical results
            step_keep = _f(1.0 - dt * loss_of({**static_coef, **coef}, loss_blocks)) if dyn_loss else keep
            last.update(p=p, dyn=dyn, keep=step_keep, coef=coef)
        else:
            dyn, step_keep = last["dyn"], last["keep"]  # type: ignore[assignment]
        pending: list[tuple[Scatter, np.ndarray, float]] = []
        for plan in mover_plans:
            c = dt_coef.get(plan.block.name)
            plan.contributions(xx, xt, dyn[plan.block.name] if c is None else c, pending)
        for ib in inflows:
            v = _full(ib.value.eval(ctx), n_of(ib)) * dt
            if sink is not None:
                cum_in = cum_in + v.sum(axis=1)
                if ib.dst_scatter.kind == "single" and ib.dst_scatter.target == sink_col:
                    continue
            if ib.dst_scatter is not None:
                pending.append((ib.dst_scatter, _compact(ib.dst_scatter, v), 1.0))
            for sc in ib.tally_scatters:
                pending.append((sc, _compact(sc, v), 1.0))
        if has_loss:
            xx *= step_keep
        for sc, c, sign in pending:
            _apply(sc, xx, c, sign)

    # ------------------------------------------------------------------ derivative (RK4)
    def deriv(xx: np.ndarray, t: float) -> np.ndarray:
        if matrix_mode:
            return deriv_matrix(xx, t)
        ctx = context(t, xx)
        coefs = dict(static_coef)
        for b in dynamic_t:
            coefs[b.name] = _full(b.coef.eval(ctx), len(b.of))
        dx = np.zeros_like(xx, order="F")
        xxt = xx.T
        for b in movers:
            v = plans[b.name].values(xx, xxt, coefs[b.name])
            if b.dst_scatter is not None:
                _apply(b.dst_scatter, dx, _compact(b.dst_scatter, v))
            if b.src_scatter is not None:
                _apply(b.src_scatter, dx, _compact(b.src_scatter, v), -1.0)
            for sc in b.tally_scatters:
                _apply(sc, dx, _compact(sc, v))
        for ib in inflows:
            v = _full(ib.value.eval(ctx), n_of(ib))
            if ib.dst_scatter is not None:
                _apply(ib.dst_scatter, dx, _compact(ib.dst_scatter, v))
            for sc in ib.tally_scatters:
                _apply(sc, dx, _compact(sc, v))
        if has_loss:
            loss = loss_static if not dyn_loss else loss_static + loss_of(coefs, dyn_loss)
            dx -= xx * loss
        return dx

    def rk4(xx: np.ndarray, t: float) -> None:
        k1 = deriv(xx, t)
        k2 = deriv(xx + (0.5 * dt) * k1, t + 0.5 * dt)
        k3 = deriv(xx + (0.5 * dt) * k2, t + 0.5 * dt)
        k4 = deriv(xx + dt * k3, t + dt)
        xx += (dt / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)

    # ------------------------------------------------------------------ recording
    inflow_by_name = {b.name: b for b in cm.inflows}
    dest = dest or {}
    out = {
        r.name: dest[r.name] if r.name in dest else np.empty((m, len(report_steps), r.n_out)) for r in record
    }
    ordered = [r for r in record if r.base is None] + [r for r in record if r.base is not None]

    def flow_value(ctx: Context, name: str) -> np.ndarray:
        key = hash(("flow", name))
        v = ctx.cache.get(key)
        if v is None:
            plan = plans.get(name)
            if plan is None and name in cm.flow_spaces and name not in inflow_by_name:
                block = next(b for b in cm.transfers if b.name == name)
                plan = plans[name] = _Plan(block, m, None)
            if plan is not None:
                c = static_coef.get(name)
                if c is None and not dyn_moves_alone and last.get("p") is ctx.params:
                    c = last["coef"].get(name)  # type: ignore[union-attr]
                if c is None:
                    c = _full(plan.block.coef.eval(ctx), len(plan.block.of))
                v = plan.values(ctx.x, ctx.x.T, c)
            else:
                b = inflow_by_name[name]
                v = _full(b.value.eval(ctx), n_of(b))
            ctx.cache[key] = v
        return v

    def capture(j: int, t: float) -> None:
        if sink is not None:
            x[:, sink_col] = 0.0
            x[:, sink_col] = people0 + cum_in - x.sum(axis=1)
        ctx = context(t, x)
        ctx.flow = flow_value
        reported["ctx"] = ctx
        for r in ordered:
            if r.base is not None:
                f = r.factor.eval(ctx)
                f = f if r.factor_index is None else f[:, r.factor_index]
                np.multiply(out[r.base][:, j, :], f, out=out[r.name][:, j, :])
                continue
            var = r.variable
            if var in cm.slices:
                v = x[:, cm.slices[var]]
            elif var in cm.flow_spaces:
                v = flow_value(ctx, var)
            elif var in cm.outputs:
                v = cm.outputs[var].eval(ctx)
            else:
                v = cm.auxes[var].eval(ctx)
            if r.matrix is not None:
                v = r.matrix(v)
            out[r.name][:, j, :] = v

    # ------------------------------------------------------------------ fused Euler (many families)
    fused = None
    if method == "euler" and not matrix_mode and len(cm.transfers) > FUSE_FAMILIES:
        fused = _Fused(cm, m, dt, static_coef, dynamic_t)

    def euler_fused(xx: np.ndarray, t: float) -> None:
        nonlocal cum_in
        p, ctx = step_context(xx, t)
        if dynamic_t and dyn_moves_alone:  # coefficients follow the state: written in place
            for b in dynamic_t:
                fused.write(b.name, b.coef.eval(ctx))
            fused.refresh()
        elif dynamic_t and last["p"] is not p:  # kept: recording reuses them until params change
            coef = {b.name: _f(_full(b.coef.eval(ctx), len(b.of))) for b in dynamic_t}
            fused.update(coef)
            last.update(p=p, coef=coef)
        gains = fused.gains(xx)
        for ib in inflows:
            v = _full(ib.value.eval(ctx), n_of(ib)) * dt
            if sink is not None:  # the sink is recovered from conservation when recorded
                cum_in = cum_in + v.sum(axis=1)
            _apply(ib.dst_scatter, gains, _compact(ib.dst_scatter, v))
            for sc in ib.tally_scatters:
                _apply(sc, gains, _compact(sc, v))
        xx *= fused.keep
        xx += gains

    if fused is not None:
        step = euler_fused
    else:
        step = (euler_matrix if matrix_mode else euler) if method == "euler" else rk4
    is_report = np.zeros(n_steps + 1, dtype=bool)
    is_report[list(report_steps)] = True
    slot = np.cumsum(is_report) - 1
    for k in range(n_steps + 1):
        t = t0 + k * dt
        if is_report[k]:
            capture(int(slot[k]), t)
        if k < n_steps:
            step(x, t)
    return {r.name: out[r.name] for r in record if not r.hidden}


def _flows_in_outputs(cm: CompiledModel, record: Sequence[RecordItem]) -> set[str]:
    from simulator.core._formulas import refs

    names: set[str] = set()
    for o in cm.spec.outputs:
        if any(r.name == o.name for r in record):
            names |= {n for n in refs(o.expr) if n in cm.flow_spaces}
    return names


def evaluate_node(node: Node, params: Mapping[str, np.ndarray], t: float = 0.0) -> np.ndarray:
    """Evaluate a parameter-only node (derived values outside a run)."""
    return node.eval(Context(params, t))

"""The state of one import and what the translator asks of it.

:class:`ImportState` holds what an import has built so far (parameters, stocks,
flows and derived values of the Upstream spec, hidden names, the model's
clock) and answers the questions the equation translator (:mod:`._translate`)
and the stateful-function builder (:mod:`._stateful`) ask while they work: what
a reference means, whether a value changes during the run, the number a
constant expression gives, a hidden stock for a SMOOTH or DELAY stage.  It
implements :class:`~simulator.vensim._context.ImportContext`; the reading and
defining of variables is in :mod:`._import_build`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulator.core._elementwise import BINARY as _BINARY
from simulator.core._elementwise import ELEMENTWISE as _ELEMENTWISE
from simulator.core._formulas import Assemble, Binary, Call, Expr, IfElse, Num, Ref, Unary, refs
from simulator.core._problems import Problems
from simulator.core._spaces import SCALAR, Space
from simulator.core._spec import Aux, Flow, Param, Stock
from simulator.vensim._context import HIDDEN, Unsupported, Var
from simulator.vensim._names import Namespace, normal
from simulator.vensim._subscripts import Piece, SubscriptError, Subscripts
from simulator.vensim._translate import Translator

__all__ = ["ImportState"]


@dataclass
class ImportState:
    """What one import has built so far, and the questions the translator asks of it."""

    abstract: Any  # PySD's AbstractModel
    path: Path
    problems: Problems
    sub: Subscripts = field(default_factory=Subscripts)
    vars: dict[str, Var] = field(default_factory=dict)
    vars_by_ref: dict[str, Var] = field(default_factory=dict)
    clock_refs: dict[str, float] = field(default_factory=dict)
    params: list[Param] = field(default_factory=list)
    stocks: list[Stock] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    auxes: list[Aux] = field(default_factory=list)
    table_dims: dict[str, tuple[str, ...]] = field(default_factory=dict)
    stock_names: set[str] = field(default_factory=set)
    ns: Namespace = field(default_factory=Namespace)
    t0: float = 0.0
    dt: float = 1.0
    _init_aux: dict[str, str] = field(default_factory=dict)
    _init_active: list[str] = field(default_factory=list)
    _hidden_count: dict[tuple[str, str], int] = field(default_factory=dict)
    _static: dict[str, bool] = field(default_factory=dict)
    _translating: set[str] = field(default_factory=set)
    structural: set[str] = field(default_factory=set)
    _positions: dict[str, str] = field(default_factory=dict)

    # ------------------------------------------------------------------ variables
    def var_by_ref(self, ref: str, owner: str) -> Var:
        """The variable a reference in an equation names.

        Parameters
        ----------
        ref, owner
            The reference as written, and the variable whose equation has it (for the error message).

        Returns
        -------
        Var
        """
        var = self.vars_by_ref.get(normal(ref))
        if var is None:
            raise SubscriptError(f"{owner}: unknown name {ref!r}")
        return var

    def dim_names(self, var: Var) -> tuple[str, ...]:
        """Upstream dimensions of a variable."""
        return tuple(self.sub.dim[d] for d in var.dims)

    def piece_space(self, var: Var, piece: Piece) -> Space:
        """The elements one equation of ``var`` defines."""
        dims = self.dim_names(var)
        return Space(dims, piece.coords) if dims else SCALAR

    def value_of(self, var: Var, mode: str, owner: str) -> Expr:
        """What a bare reference to ``var`` means in ``mode`` (dynamic or initial).

        Parameters
        ----------
        var, mode, owner
            The variable, ``"dynamic"`` or ``"initial"``, and the variable whose equation refers to it.

        Returns
        -------
        Expr
        """
        if var.kind in ("constant", "lookup") or mode == "dynamic":
            return Ref(var.ident)
        if var.kind == "stock":
            return Ref(var.ident + HIDDEN + "init")
        if self.is_static(var):
            return Ref(var.ident)
        return Ref(self.init_aux(var))

    def dynamic_exprs(self, var: Var) -> list[Expr]:
        """The translated equations of an auxiliary (translated once).

        Parameters
        ----------
        var
            An auxiliary.

        Returns
        -------
        list of Expr
            One expression per equation piece.
        """
        if var.dyn is None:
            self._translating.add(var.ident)
            try:
                var.dyn = [Translator(self, var, p).top(p.ast) for p in var.pieces]
            finally:
                self._translating.discard(var.ident)
        return var.dyn

    def depends_on_run(self, e: Expr) -> bool:
        """Whether an expression changes during a run (uses stocks, time or such auxiliaries)."""
        if _uses_time(e):
            return True
        for r in refs(e):
            if r in self.stock_names or r == "time":
                return True
            if r in self.vars and not self.is_static(self.vars[r]):
                return True
        return False

    def position(self, ref: str) -> Expr | None:
        """A subscript range (each element's position, 1, 2, ...) or element (its position) as a number.

        Parameters
        ----------
        ref
            A name in an equation.

        Returns
        -------
        Expr or None
            ``None`` when ``ref`` is neither a range nor an element.
        """
        key = normal(ref)
        sub = self.sub
        if key in sub.elements:
            if key not in self._positions:
                main = sub.main_range(key)
                values = [float(sub.elements[main].index(lab) + 1) for lab in sub.elements[key]]
                name = self.ns.fresh(sub.dim[key] + HIDDEN + "position")
                space = Space((sub.dim[key],), tuple((lab,) for lab in sub.elements[key]))
                desc = f"position of each element of {sub.names[key]} in {sub.names[main]}"
                self.params.append(Param(name, space, np.array(values), "", self.path.name, desc))
                self._positions[key] = name
            return Ref(self._positions[key])
        if key in sub.label:
            lab = sub.label[key]
            main = sub.main_range(next(k for k, v in sub.elements.items() if lab in v))
            return Num(float(sub.elements[main].index(lab) + 1))
        return None

    def piece_values(self, var: Var, piece: Piece) -> str:
        """A hidden parameter holding one equation's table of numbers (in a mixed definition).

        Parameters
        ----------
        var, piece
            The variable and the equation whose numbers to hold.

        Returns
        -------
        str
            The hidden parameter's name.
        """
        name = self.ns.fresh(var.ident + HIDDEN + "values")
        v = np.asarray(piece.ast, dtype=float).reshape(-1)
        space = self.piece_space(var, piece)
        if v.size != len(space):
            raise ValueError(f"{v.size} numbers for {len(space)} elements")
        self.params.append(Param(name, space, v, var.units, f"{self.path.name}: {var.name}", var.name))
        return name

    def is_static(self, var: Var, seen: frozenset[str] = frozenset()) -> bool:
        """Whether an auxiliary depends on parameters only (not on stocks or time).

        Parameters
        ----------
        var, seen
            The variable, and the names on the path so far (a loop counts as static).

        Returns
        -------
        bool
        """
        if var.kind in ("constant", "lookup"):
            return True
        if var.kind == "stock":
            return False
        if var.ident in self._static:
            return self._static[var.ident]
        if var.ident in self._translating:
            return False  # being translated: evaluate it at INITIAL TIME on its own
        if var.ident in seen:
            return True  # a loop; reported when the model is compiled
        ok = True
        for e in self.dynamic_exprs(var):
            if _uses_time(e):
                ok = False
            for r in refs(e):
                if r in self.stock_names or r == "time":
                    ok = False
                elif r in self.vars and not self.is_static(self.vars[r], seen | {var.ident}):
                    ok = False
        self._static[var.ident] = ok
        return ok

    def init_aux(self, var: Var) -> str:
        """A hidden derived value holding ``var`` at INITIAL TIME.

        Parameters
        ----------
        var
            An auxiliary that changes during a run.

        Returns
        -------
        str
            The hidden derived value's name.
        """
        if var.ident in self._init_aux:
            return self._init_aux[var.ident]
        if var.ident in self._init_active:
            chain = " -> ".join([*self._init_active, var.ident])
            raise ValueError(f"initial values depend on each other in a loop: {chain}")
        self._init_active.append(var.ident)
        try:
            name = var.ident + HIDDEN + "init"
            exprs = [Translator(self, var, p, "initial").top(p.ast) for p in var.pieces]
        finally:
            self._init_active.pop()
        self._init_aux[var.ident] = name
        self.auxes.append(Aux(name, self._assemble(var, exprs), var.space if var.dims else None))
        return name

    def _assemble(self, var: Var, exprs: list[Expr]) -> Expr:
        if not var.dims:
            return exprs[0]
        return Assemble(tuple(exprs), tuple(self.piece_space(var, p) for p in var.pieces))

    def _add_table(self, name: str, var: Var | None, tables, unit: str, desc: str) -> None:
        grid = np.unique(np.concatenate([x for x, _, _ in tables]))
        axis = name + HIDDEN + "x"
        labels = tuple(repr(float(g)) for g in grid)
        self.table_dims[axis] = labels
        dims = (*self.dim_names(var), axis) if var is not None and var.dims else (axis,)
        elems = var.space.coords if var is not None and var.dims else ((),)
        ys = {}
        for x, y, coords in tables:
            order = np.argsort(x, kind="stable")
            yy = np.interp(grid, x[order], y[order])
            for c in coords:
                ys[tuple(c)] = yy
        values = np.concatenate([ys[tuple(c)] for c in elems])
        space = Space(dims, tuple((*c, lab) for c in elems for lab in labels))
        self.params.append(Param(name, space, values, unit, f"{self.path.name}: lookup {desc!r}", desc))

    def inline_table(self, var: Var, lookups) -> str:
        """A table parameter for a WITH LOOKUP in ``var``'s equation (``<variable>_lookup``).

        Parameters
        ----------
        var, lookups
            The variable and its parsed WITH LOOKUP (``x``, ``y`` points).

        Returns
        -------
        str
            The table parameter's name.
        """
        name = self.ns.fresh(var.ident + "_lookup")
        x, y = np.asarray(lookups.x, dtype=float), np.asarray(lookups.y, dtype=float)
        self._add_table(name, None, [(x, y, [()])], "", f"WITH LOOKUP of {var.name}")
        return name

    def hidden_names(self, var: Var, kind: str, order: int) -> list[str]:
        """Fresh names ``<var>__<kind><n>_<stage>`` for one stateful call's stages.

        Parameters
        ----------
        var, kind, order
            The variable, the function's kind (``delay``, ``smooth`` ...) and how many stages it has.

        Returns
        -------
        list of str
            ``order`` names.
        """
        n = self._hidden_count.get((var.ident, kind), 0) + 1
        self._hidden_count[(var.ident, kind)] = n
        return [f"{var.ident}{HIDDEN}{kind}{n}_{k + 1}" for k in range(order)]

    def add_hidden_stock(self, name: str, var: Var, piece: Piece, initial: Expr, rate: Expr) -> None:
        """A hidden stock on the elements of ``piece`` with one net inflow.

        Parameters
        ----------
        name, var, piece
            The stock's name, and the variable and equation it belongs to.
        initial, rate
            Its initial value and net inflow (per time unit of the model).
        """
        space = self.piece_space(var, piece)
        self.stock_names.add(name)
        init_name = name + HIDDEN + "init"
        self.auxes.append(Aux(init_name, _on(initial, space), space if space.dims else None))
        self.stocks.append(
            Stock(name, space, Ref(init_name), "", f"stage of a stateful function in {var.name}")
        )
        self.flows.append(Flow(name + HIDDEN + "net", "inflow", _on(rate, space), target=name))

    def constant_value(self, e: Expr, what: str) -> float:
        """The number a parameter-only scalar expression gives with the default values.

        Parameters
        ----------
        e, what
            The expression, and what it is for (for the error message).

        Returns
        -------
        float
        """

        def ev(x: Expr) -> float:
            if isinstance(x, Num):
                return x.value
            if isinstance(x, Ref):
                name = x.name[: -len(HIDDEN + "init")] if x.name.endswith(HIDDEN + "init") else x.name
                var = self.vars.get(name)
                if var is not None and not var.dims and var.kind == "constant":
                    return float(np.asarray(var.pieces[0].ast, dtype=float).reshape(-1)[0])
                if var is not None and not var.dims and var.kind in ("aux", "stock"):
                    node = var.pieces[0].ast
                    if var.kind == "stock":
                        node = node.initial
                    return ev(Translator(self, var, var.pieces[0], "initial").top(node))
            if isinstance(x, Unary):
                v = ev(x.a)
                return -v if x.op == "-" else float(v == 0)
            if isinstance(x, Binary):
                return float(_BINARY[x.op](np.float64(ev(x.a)), np.float64(ev(x.b))))
            if isinstance(x, IfElse):
                return ev(x.a) if ev(x.cond) != 0 else ev(x.b)
            if isinstance(x, Call) and x.fn in _ELEMENTWISE and x.over is None:
                return float(_ELEMENTWISE[x.fn](*(np.float64(ev(a)) for a in x.args)))
            raise Unsupported(f"{what} with a value that is not a constant scalar", str(x))

        return ev(e)


def _on(e: Expr, space: Space) -> Expr:
    """``e`` spread over ``space`` (a one-piece assembly broadcasts scalars)."""
    return Assemble((e,), (space,)) if space.dims else e


def _uses_time(e: Expr) -> bool:
    if isinstance(e, Call) and e.fn in ("step", "ramp", "pulse"):
        return True
    if isinstance(e, Ref):
        return e.name in ("time", "t")
    children: list[Expr] = []
    if isinstance(e, Unary):
        children = [e.a]
    elif isinstance(e, Binary):
        children = [e.a, e.b]
    elif isinstance(e, Call):
        children = list(e.args)
    elif isinstance(e, IfElse):
        children = [e.cond, e.a, e.b]
    elif isinstance(e, Assemble):
        children = list(e.parts)
    elif hasattr(e, "a"):
        children = [e.a]  # Take
    return any(_uses_time(c) for c in children)

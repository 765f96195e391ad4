"""PySD's abstract syntax trees (``pysd.translators.structures``) to Upstream formulas.

The translator walks one equation's tree and returns an Upstream
:class:`~simulator.core._formulas.Expr`.  Functions keep Vensim's own definitions where
they differ from Upstream's (``XIDZ`` treats a denominator below 1e-6 as zero,
``STEP`` switches half a time step early, ``PULSE`` includes its start), so an
imported model gives PySD's and Vensim's numbers.  Stateful functions
(``SMOOTH``, ``DELAY1``, ``DELAY3``, ``DELAY FIXED``) are handed to the
importer, which builds hidden stocks for them; anything else raises
:class:`Unsupported` naming the construct.

Two modes: ``dynamic`` (values during the run) and ``initial`` (values at the
start: stocks are their initial values, ``Time`` is INITIAL TIME,
``ACTIVE INITIAL`` takes its initial argument), used for stocks' initial
values, ``INITIAL`` and the initial values of smooths and delays.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from pysd.translators.structures import abstract_expressions as ae

from simulator.core._formulas import Binary, Call, Expr, IfElse, Num, Ref, Unary
from simulator.vensim._context import ImportContext, Result, Unsupported, Var
from simulator.vensim._names import normal
from simulator.vensim._stateful import Stateful
from simulator.vensim._subscripts import Piece, SubscriptError

__all__ = ["SMALL_VENSIM", "Translator", "Unsupported"]

#: what Vensim (and PySD) treat as zero in XIDZ, ZIDZ, QUANTUM and the PULSE and RAMP edges
SMALL_VENSIM = 1e-6

#: Vensim/XMILE function names (as PySD spells them) that Upstream runs
ELEMENTWISE = {"abs": "abs", "exp": "exp", "sqrt": "sqrt", "ln": "log"}
TRIG = {"sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh"}
AGGREGATES = {"sum": "sum", "prod": "prod", "vmin": "min", "vmax": "max"}
STRUCTURE_NAMES = {
    "AllocateAvailableStructure": "ALLOCATE AVAILABLE",
    "AllocateByPriorityStructure": "ALLOCATE BY PRIORITY",
    "GetLookupsStructure": "GET XLS/DIRECT LOOKUPS",
    "GetDataStructure": "GET XLS/DIRECT DATA",
    "GetConstantsStructure": "GET XLS/DIRECT CONSTANTS",
    "DataStructure": "data variables (:=)",
}
FUNCTION_NAMES = {
    "get_time_value": "GET TIME VALUE",
    "random_0_1": "RANDOM 0 1",
    "random_uniform": "RANDOM UNIFORM",
    "random_normal": "RANDOM NORMAL",
    "random_exponential": "RANDOM EXPONENTIAL",
    "invert_matrix": "INVERT MATRIX",
    "vector_select": "VECTOR SELECT",
    "vector_sort_order": "VECTOR SORT ORDER",
    "vector_reorder": "VECTOR REORDER",
    "vector_rank": "VECTOR RANK",
}


#: every other function Upstream translates
KNOWN = {
    *ELEMENTWISE,
    *TRIG,
    "min",
    "max",
    "if_then_else",
    "power",
    "log",
    "integer",
    "quantum",
    "modulo",
    "xidz",
    "zidz",
    "step",
    "ramp",
    "Xramp",
    "pulse",
    "Xpulse",
    "pulse_train",
    "Xpulse_train",
}


class Translator:
    """Translate the equations of one variable piece (see the module docstring)."""

    def __init__(self, importer: ImportContext, var: Var, piece: Piece, mode: str = "dynamic"):
        self.imp, self.var, self.piece, self.mode = importer, var, piece, mode
        self.owner = var.name
        self.free_as_bang = False

    def at_start(self) -> Translator:
        """A translator of the same equation in ``initial`` mode (values at INITIAL TIME).

        Returns
        -------
        Translator
        """
        return Translator(self.imp, self.var, self.piece, "initial")

    # ------------------------------------------------------------------ entry
    def top(self, node: object) -> Expr:
        """Translate a whole right-hand side; ``!`` subscripts must all be summed inside."""
        e, bang = self.tr(node)
        if bang:
            raise SubscriptError(
                f"{self.owner}: dimensions {sorted(bang)} marked '!' outside SUM, PROD, VMIN or VMAX"
            )
        return e

    def tr(self, node: object) -> Result:
        """Translate one node; returns the expression and its ``!`` dimensions."""
        none: frozenset[str] = frozenset()
        if isinstance(node, bool):
            return Num(float(node)), none
        if isinstance(node, int | float | np.integer | np.floating):
            v = float(node)
            if math.isnan(v):
                raise Unsupported(":NA: (missing values)")
            return Num(v), none
        if isinstance(node, np.ndarray):
            if self.piece.kind == "values":
                return Ref(self.imp.piece_values(self.var, self.piece)), none
            raise Unsupported("an array of numbers inside an expression")
        if isinstance(node, str):
            raise Unsupported("text arguments")
        handler: Callable[[object], Result] | None = getattr(self, "_" + type(node).__name__, None)
        if handler is None:
            name = STRUCTURE_NAMES.get(type(node).__name__, type(node).__name__)
            raise Unsupported(name)
        return handler(node)

    # ------------------------------------------------------------------ structures
    def _ArithmeticStructure(self, node: ae.ArithmeticStructure) -> Result:
        args = [self.tr(a) for a in node.arguments]
        ops = list(node.operators)
        if ops == ["negative"]:
            e, b = args[0]
            return Unary("-", e), b
        bang = frozenset().union(*(b for _, b in args))
        exprs = [e for e, _ in args]
        # '^' groups to the right as in PySD's Python translation; the rest to the left.
        # A negative number as the base is negated after the power, as PySD's
        # Python text ``-2.0**2`` (= -4) does.
        while "^" in ops:
            k = max(i for i, op in enumerate(ops) if op == "^")
            base = exprs[k]
            if isinstance(base, Num) and base.value < 0:
                power: Expr = Unary("-", Binary("**", Num(-base.value), exprs[k + 1]))
            else:
                power = Binary("**", base, exprs[k + 1])
            exprs[k : k + 2] = [power]
            ops.pop(k)
        out = exprs[0]
        for op, e in zip(ops, exprs[1:]):
            if op not in ("+", "-", "*", "/"):
                raise Unsupported(f"operator {op!r}")
            out = Binary(op, out, e)
        return out, bang

    def _LogicStructure(self, node: ae.LogicStructure) -> Result:
        args = [self.tr(a) for a in node.arguments]
        ops = [str(o).lower() for o in node.operators]
        bang = frozenset().union(*(b for _, b in args))
        if ops in ([":not:"], ["not"]):
            return Unary("not", args[0][0]), bang
        table = {
            ":and:": "and",
            "and": "and",
            ":or:": "or",
            "or": "or",
            "=": "==",
            "<>": "!=",
            "<": "<",
            "<=": "<=",
            ">": ">",
            ">=": ">=",
        }
        out = args[0][0]
        for op, (e, _) in zip(ops, args[1:]):
            if op not in table:
                raise Unsupported(f"operator {op!r}")
            out = Binary(table[op], out, e)
        return out, bang

    def _ReferenceStructure(self, node: ae.ReferenceStructure) -> Result:
        ref = node.reference
        subs = node.subscripts.subscripts if node.subscripts is not None else None
        clock = self.imp.clock_refs
        if ref == "time" and subs is None:
            return (Num(self.imp.t0) if self.mode == "initial" else Ref("time")), frozenset()
        if ref in clock and subs is None:
            return Num(clock[ref]), frozenset()
        if ref == "pi":
            return Num(math.pi), frozenset()
        if normal(ref) not in self.imp.vars_by_ref:
            # a subscript range or element used as a number: its position (1, 2, ...)
            position = self.imp.position(ref)
            if position is not None:
                return position, frozenset()
        var = self.imp.var_by_ref(ref, self.owner)
        if var.kind == "lookup":
            raise Unsupported("a lookup used without an argument", f"{var.name!r}")
        base = self.imp.value_of(var, self.mode, self.owner)
        if not var.dims:
            if subs:
                raise SubscriptError(f"{self.owner}: {var.name!r} has no subscripts")
            return base, frozenset()
        if subs is None:
            return base, frozenset()  # XMILE may leave out subscripts: align by dimension name
        e, bang = self.imp.sub.reference(
            base,
            var.dims,
            subs,
            self.piece.lhs,
            self.var.dims,
            f"{self.owner}: {var.name}",
            self.free_as_bang,
        )
        return e, frozenset(bang)

    def _CallStructure(self, node: ae.CallStructure) -> Result:
        fn = node.function.reference
        args = list(node.arguments)
        var = self.imp.vars_by_ref.get(fn)
        if var is not None and var.kind == "lookup":
            return self._lookup_call(var, node.function, args)
        if fn == "pi":
            return Num(math.pi), frozenset()
        if fn == "elmcount":
            arg = args[0]
            key = getattr(arg, "reference", "")
            if not self.imp.sub.is_range(key):
                raise SubscriptError(f"{self.owner}: ELMCOUNT needs a subscript range")
            return Num(float(len(self.imp.sub.labels_of(key)))), frozenset()
        if fn in ("vmin_xmile", "vmax_xmile"):
            # XMILE MIN(array)/MAX(array): over every dimension of the argument
            self.free_as_bang, before = True, self.free_as_bang
            try:
                e, _ = self.tr(args[0])
            finally:
                self.free_as_bang = before
            return Call("min" if fn == "vmin_xmile" else "max", (e,), ()), frozenset()
        if fn == "active_initial":
            return self.tr(args[1] if self.mode == "initial" else args[0])
        if fn in AGGREGATES:
            e, bang = self.tr(args[0])
            if not bang:
                raise SubscriptError(f"{self.owner}: {fn.upper()} needs a subscript marked '!'")
            return Call(AGGREGATES[fn], (e,), tuple(sorted(bang))), frozenset()
        if fn not in KNOWN:
            raise Unsupported(FUNCTION_NAMES.get(fn, fn.upper().replace("_", " ")))
        tr = [self.tr(a) for a in args]
        ex = [e for e, _ in tr]
        bang = frozenset().union(*(b for _, b in tr)) if tr else frozenset()
        if fn in ELEMENTWISE:
            return Call(ELEMENTWISE[fn], (ex[0],)), bang
        if fn in TRIG:
            return Call(fn, (ex[0],)), bang
        if fn in ("min", "max"):
            return Call(fn, tuple(ex)), bang
        if fn == "if_then_else":
            return IfElse(ex[0], ex[1], ex[2]), bang
        if fn == "power":
            return Binary("**", ex[0], ex[1]), bang
        if fn == "log":
            return Binary("/", Call("log", (ex[0],)), Call("log", (ex[1],))), bang
        if fn == "integer":
            return _integer(ex[0]), bang
        if fn == "quantum":
            return _quantum(ex[0], ex[1]), bang
        if fn == "modulo":
            return Binary("-", ex[0], _quantum(ex[0], ex[1])), bang
        if fn == "xidz":
            return _xidz(ex[0], ex[1], ex[2]), bang
        if fn == "zidz":
            return _xidz(ex[0], ex[1], Num(0.0)), bang
        if fn == "step":
            # PySD: value * (time + dt/2 > tstep)
            t = self._time()
            return Binary("*", ex[0], Binary(">", t + Num(self.imp.dt / 2), ex[1])), bang
        if fn in ("ramp", "Xramp"):
            t = self._time()
            end = ex[2] if fn == "ramp" else t
            on = Binary(">", t + Num(SMALL_VENSIM), ex[1])
            return Binary("*", on, ex[0] * (Call("min", (end, t)) - ex[1])), bang
        if fn == "pulse":
            start, width = ex[0], ex[1]
            return self._pulse(start, width), bang
        if fn == "Xpulse":
            start, magnitude = ex[0], ex[1]
            return magnitude / Num(self.imp.dt) * self._pulse(start, Num(0.5 * self.imp.dt)), bang
        if fn == "active_initial":
            return (ex[1] if self.mode == "initial" else ex[0]), bang
        if fn in ("pulse_train", "Xpulse_train"):
            return self._pulse_train(fn, ex), bang
        raise Unsupported(FUNCTION_NAMES.get(fn, fn.upper().replace("_", " ")))

    def _time(self) -> Expr:
        return Num(self.imp.t0) if self.mode == "initial" else Ref("time")

    def _pulse(self, start: Expr, width: Expr) -> Expr:
        # PySD: 1 if start - SMALL <= time < start + width
        t = self._time()
        return Binary(
            "and",
            Binary(">=", t, start - Num(SMALL_VENSIM)),
            Binary("<", t, start + width),
        )

    def _pulse_train(self, fn: str, ex: list[Expr]) -> Expr:
        """PULSE TRAIN(start, width, interval, end) and XMILE PULSE(magnitude, start, interval)."""
        t = self._time()
        if fn == "pulse_train":  # PySD passes (start, interval, width, end)
            start, repeat, width, end = ex
            height: Expr = Num(1.0)
        else:
            start, repeat, height = ex
            width, end = Num(0.5 * self.imp.dt), Num(math.inf)
            height = height / Num(self.imp.dt)
        single = self._pulse(start, width)
        safe = IfElse(Binary("==", repeat, Num(0.0)), Num(1.0), repeat)
        phase = t - start + Num(SMALL_VENSIM)
        within = Binary("<", phase - safe * Call("floor", (phase / safe,)), width)
        running = Binary("and", Binary("<=", start, t), Binary("<", t, end))
        train = Binary("and", running, within)
        return height * IfElse(Binary("==", repeat, Num(0.0)), single, train)

    def _lookup_call(self, var: Var, fn: ae.ReferenceStructure, args: list) -> Result:
        if len(args) != 1:
            raise Unsupported("a lookup called with more than one argument", var.name)
        x, bang = self.tr(args[0])
        if fn.subscripts is not None and var.dims:
            probe, _ = self.imp.sub.reference(
                Ref(var.ident), var.dims, fn.subscripts.subscripts, self.piece.lhs, self.var.dims, self.owner
            )
            if probe != Ref(var.ident):
                raise Unsupported("a subscripted lookup table used with other subscripts", var.name)
        return Call("lookup", (Ref(var.ident), x)), bang

    def _InlineLookupsStructure(self, node: ae.InlineLookupsStructure) -> Result:
        x, bang = self.tr(node.argument)
        table = self.imp.inline_table(self.var, node.lookups)
        return Call("lookup", (Ref(table), x)), bang

    def _IntegStructure(self, node: ae.IntegStructure) -> Result:
        raise Unsupported("INTEG inside an expression (a stock must be defined by INTEG alone)")

    def _InitialStructure(self, node: ae.InitialStructure) -> Result:
        return self.at_start().top(node.initial), frozenset()

    def _SmoothStructure(self, node: ae.SmoothStructure) -> Result:
        return Stateful(self.imp).smooth(self, node), frozenset()

    def _DelayStructure(self, node: ae.DelayStructure) -> Result:
        return Stateful(self.imp).delay(self, node), frozenset()

    def _DelayFixedStructure(self, node: ae.DelayFixedStructure) -> Result:
        return Stateful(self.imp).delay_fixed(self, node), frozenset()

    def _SmoothNStructure(self, node: ae.SmoothNStructure) -> Result:
        return Stateful(self.imp).smooth(self, node), frozenset()

    def _DelayNStructure(self, node: ae.DelayNStructure) -> Result:
        return Stateful(self.imp).delay(self, node), frozenset()

    def _TrendStructure(self, node: ae.TrendStructure) -> Result:
        return Stateful(self.imp).trend(self, node), frozenset()

    def _ForecastStructure(self, node: ae.ForecastStructure) -> Result:
        return Stateful(self.imp).forecast(self, node), frozenset()

    def _SampleIfTrueStructure(self, node: ae.SampleIfTrueStructure) -> Result:
        return Stateful(self.imp).sample_if_true(self, node), frozenset()

    def _GameStructure(self, node: ae.GameStructure) -> Result:
        return self.tr(node.expression)  # GAME only matters in Vensim's gaming mode


def _integer(x: Expr) -> Expr:
    """Vensim INTEGER: the integer part (towards zero)."""
    return IfElse(Binary(">=", x, Num(0.0)), Call("floor", (x,)), Call("ceil", (x,)))


def _quantum(a: Expr, b: Expr) -> Expr:
    """Vensim QUANTUM: ``b * INTEGER(a / b)`` when ``b`` is not below 1e-6, else ``a``."""
    safe = IfElse(Binary("<", b, Num(SMALL_VENSIM)), Num(1.0), b)
    return IfElse(Binary("<", b, Num(SMALL_VENSIM)), a, b * _integer(a / safe))


def _xidz(a: Expr, b: Expr, x: Expr) -> Expr:
    """Vensim XIDZ: ``x`` when ``|b| < 1e-6``, else ``a / b`` (no division warnings)."""
    small = Binary("<", Call("abs", (b,)), Num(SMALL_VENSIM))
    return Call("xidz", (a, IfElse(small, Num(0.0), b), x))

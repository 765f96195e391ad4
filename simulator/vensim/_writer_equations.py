"""The second layer of the Vensim writer: Upstream formulas as Vensim equation text.

:class:`EquationWriter` writes an :class:`~simulator.core._formulas.Expr` inside
an equation over a target space: references with their subscripts (gathered
through membership tables onto sparse ranges, or taken from a full-table helper),
arithmetic, conditions as ``IF THEN ELSE``, Upstream functions as their Vensim
equivalents, sums and means over dimensions, running totals, and series that
change in steps.  Parts that Vensim cannot write inline become helper
auxiliaries.  :mod:`._writer_vars` writes the model's variables with it.
"""

from __future__ import annotations

import math

from simulator.core._formulas import (
    AGGREGATES,
    Assemble,
    Binary,
    Call,
    Expr,
    IfElse,
    Num,
    Ref,
    Take,
    Unary,
    refs,
)
from simulator.core._spaces import SCALAR, Space
from simulator.vensim._mdl_parts import ExportError, MdlVar, mdl_units
from simulator.vensim._names import vensim_name
from simulator.vensim._numbers import fmt
from simulator.vensim._writer_spaces import SpaceWriter

__all__ = ["EquationWriter"]

#: Vensim names of Upstream's elementwise functions
_FUNCS = {
    "exp": "EXP",
    "log": "LN",
    "sqrt": "SQRT",
    "abs": "ABS",
    "sin": "SIN",
    "cos": "COS",
    "tan": "TAN",
    "arcsin": "ARCSIN",
    "arccos": "ARCCOS",
    "arctan": "ARCTAN",
    "sinh": "SINH",
    "cosh": "COSH",
    "tanh": "TANH",
}
_CMP = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "=", "!=": "<>"}
_AGG = {"sum": "SUM", "prod": "PROD", "min": "VMIN", "max": "VMAX"}


class EquationWriter(SpaceWriter):
    """Writes formulas as Vensim equations (see the module docstring)."""

    def ref(self, name: str, target: Space, bang: frozenset[str]) -> str:
        """``name`` read inside an equation over ``target`` (``bang``: dims summed by an enclosing SUM).

        Parameters
        ----------
        name, target, bang
            The Upstream name, the equation's space, and dimensions summed by an enclosing SUM.

        Returns
        -------
        str
        """
        if name in ("time", "t"):
            return "Time"
        if name == "dt":
            return "TIME STEP"
        sp = self.space_of_name(name)
        if name in self.series and getattr(self.series[name], "kind", "linear") == "step":
            return self._step_series(name, sp, target, bang)
        if name in self.series:
            terms = [self._ref(t, sp, target, bang, "(Time)") for t in self.lookup_terms.get(name, [name])]
            return terms[0] if len(terms) == 1 else "(" + " + ".join(terms) + ")"
        return self._ref(name, sp, target, bang, "")

    def _ref(self, name: str, sp: Space, target: Space, bang: frozenset[str], call: str) -> str:
        vname = vensim_name(name)
        if not sp.dims:
            return vname + call
        tdims = set(target.dims) | bang
        if not set(sp.dims) <= tdims:
            raise ExportError(f"{name} over {sp.dims} does not fit an equation over {target.dims}")
        if not self.is_dense(sp):
            if self.sparse_compatible(sp, target, bang):
                return vname + self.subs(sp, bang=bang) + call
            return self.ref(self.densify(name, sp), target, bang)
        if self.is_dense(target) or set(sp.dims) <= bang:
            return vname + self.subs(sp, self.order_of(name, sp), bang) + call
        # dense values onto a sparse target: gather through the membership tables
        if bang & set(target.dims):
            raise ExportError(f"cannot gather {name} inside a sum over {sorted(bang)}")
        free = [d for d in sp.dims if d not in bang]
        maps = " * ".join(
            f"{self.map_name(target, d)}[{self.sparse_range(target).name}, {self.dim_range(d).name}!]"
            for d in free
        )
        inner = vname + self.subs(sp, self.order_of(name, sp), bang=frozenset(free) | bang) + call
        return f"SUM({maps} * {inner})"

    def sparse_compatible(self, sp: Space, target: Space, bang: frozenset[str]) -> bool:
        """Whether ``sp`` can be read on its own sparse range inside an equation over ``target``.

        Parameters
        ----------
        sp, target, bang
            The value's space, the equation's space, and dimensions summed by an enclosing SUM.

        Returns
        -------
        bool
        """
        same = set(sp.coords) == set(target.coords) and sp.dims == target.dims
        summed = set(sp.dims) <= bang
        return same or summed

    def densify(self, name: str, sp: Space) -> str:
        """A helper auxiliary holding a sparse value as a full table (zeros where no element exists).

        Parameters
        ----------
        name, sp
            The sparse value's name and space.

        Returns
        -------
        str
            The helper's Upstream name.
        """
        if name not in self.densified:
            helper = self.new_name(f"{name}_full", f"full table of {name}")
            r = self.sparse_range(sp)
            maps = " * ".join(f"{self.map_name(sp, d)}[{r.name}!, {self.dim_range(d).name}]" for d in sp.dims)
            full = self.dense(sp.dims)
            eq = f"SUM({maps} * {vensim_name(name)}[{r.name}!])"
            doc = f"{name} on every combination of {', '.join(sp.dims)} (0 where no element exists)"
            self.helpers.append(
                MdlVar(helper, full, eq, "", doc, "aux", self._lhs(helper, full), refs={name})
            )
            self.space_cache[helper] = full
            self.densified[name] = helper
        return self.densified[name]

    def helper(self, e: Expr, space: Space, what: str) -> str:
        """Materialise ``e`` as an auxiliary of its own over ``space`` (to gather or sum it).

        Parameters
        ----------
        e, space, what
            The expression, its space, and what it is part of (names the helper).

        Returns
        -------
        str
            The helper's Upstream name.
        """
        name = self.new_name(f"{what}_{len(self.helpers) + 1}", f"helper {what}")
        self.space_cache[name] = space
        eq = self.emit(e, space, frozenset())
        lhs = self._lhs(name, space)
        self.helpers.append(
            MdlVar(name, space, eq, "", f"part of the equation of {what}", "aux", lhs, set(refs(e)))
        )
        return name

    def emit(self, e: Expr, target: Space, bang: frozenset[str] = frozenset()) -> str:
        """Vensim text of ``e`` inside an equation over ``target``.

        Parameters
        ----------
        e, target, bang
            The expression, the equation's space, and dimensions summed by an enclosing SUM.

        Returns
        -------
        str
        """
        if isinstance(e, Num):
            return fmt(e.value)
        if isinstance(e, Ref):
            return self.ref(e.name, target, bang)
        if isinstance(e, Unary):
            if e.op == "-":
                return f"(-{self.emit(e.a, target, bang)})"
            return f"IF THEN ELSE({self.cond(e.a, target, bang)}, 0, 1)"
        if isinstance(e, Binary):
            if e.op in _CMP or e.op in ("and", "or"):
                return f"IF THEN ELSE({self.cond(e, target, bang)}, 1, 0)"
            op = "^" if e.op == "**" else e.op
            return f"({self.emit(e.a, target, bang)} {op} {self.emit(e.b, target, bang)})"
        if isinstance(e, IfElse):
            a, b = self.emit(e.a, target, bang), self.emit(e.b, target, bang)
            return f"IF THEN ELSE({self.cond(e.cond, target, bang)}, {a}, {b})"
        if isinstance(e, Call):
            return self.call(e, target, bang)
        if isinstance(e, Take | Assemble):
            raise ExportError(f"cannot write subscript selections ({e}) in Vensim")
        raise ExportError(f"cannot write {e!r} in Vensim")

    def cond(self, e: Expr, target: Space, bang: frozenset[str]) -> str:
        """``e`` as a Vensim condition.

        Parameters
        ----------
        e, target, bang
            The expression, the equation's space, and dimensions summed by an enclosing SUM.

        Returns
        -------
        str
        """
        if isinstance(e, Binary) and e.op in _CMP:
            return f"{self.emit(e.a, target, bang)} {_CMP[e.op]} {self.emit(e.b, target, bang)}"
        if isinstance(e, Binary) and e.op in ("and", "or"):
            op = ":AND:" if e.op == "and" else ":OR:"
            return f"({self.cond(e.a, target, bang)}) {op} ({self.cond(e.b, target, bang)})"
        if isinstance(e, Unary) and e.op == "not":
            return f":NOT: ({self.cond(e.a, target, bang)})"
        return f"{self.emit(e, target, bang)} <> 0"

    def call(self, e: Call, target: Space, bang: frozenset[str]) -> str:
        """Vensim text of a function call ``e`` inside an equation over ``target``.

        Parameters
        ----------
        e, target, bang
            The call, the equation's space, and dimensions summed by an enclosing SUM.

        Returns
        -------
        str
        """
        args = e.args
        if e.fn in ("cumsum", "rcumsum"):
            return self.running_total(e, target, bang)
        if e.over is not None and e.fn in AGGREGATES:
            return self.aggregate(e, target, bang)
        if e.fn == "lookup":
            table = args[0].name  # type: ignore[attr-defined]
            tsp = self.params[table].space
            elems = tsp.sub(tsp.dims[:-1]) if len(tsp.dims) > 1 else SCALAR
            if elems.dims and not (self.is_dense(elems) and self.is_dense(target)):
                raise ExportError(f"{e}: subscripted lookups on sparse elements are not written")
            x = self.emit(args[1], target, bang)
            calls = [f"{vensim_name(t)}{self.subs(elems, bang=bang)}({x})" for t in self.lookup_terms[table]]
            return calls[0] if len(calls) == 1 else "(" + " + ".join(calls) + ")"
        a = [self.emit(x, target, bang) for x in args]
        if e.fn in _FUNCS:
            return f"{_FUNCS[e.fn]}({a[0]})"
        if e.fn in ("min", "max"):
            out = a[0]
            for x in a[1:]:
                out = f"{e.fn.upper()}({out}, {x})"
            return out
        if e.fn == "clip":
            return f"MIN(MAX({a[0]}, {a[1]}), {a[2]})"
        if e.fn == "where":
            return f"IF THEN ELSE({self.cond(args[0], target, bang)}, {a[1]}, {a[2]})"
        if e.fn == "xidz":
            return f"XIDZ({a[0]}, {a[1]}, {a[2]})"
        if e.fn == "zidz":
            return f"ZIDZ({a[0]}, {a[1]})"
        if e.fn == "floor":
            return f"(INTEGER({a[0]}) - IF THEN ELSE({a[0]} < INTEGER({a[0]}), 1, 0))"
        if e.fn == "ceil":
            return f"(INTEGER({a[0]}) + IF THEN ELSE({a[0]} > INTEGER({a[0]}), 1, 0))"
        if e.fn == "step":
            return f"IF THEN ELSE(Time >= {a[1]}, {a[0]}, 0)"
        if e.fn == "ramp":
            return f"({a[0]} * (MIN(MAX(Time, {a[1]}), {a[2]}) - {a[1]}))"
        if e.fn == "pulse":
            return f"IF THEN ELSE((Time >= {a[0]}) :AND: (Time < {a[0]} + {a[1]}), 1, 0)"
        raise ExportError(f"function {e.fn}() has no Vensim equivalent here")

    def running_total(self, e: Call, target: Space, bang: frozenset[str]) -> str:
        """``cumsum``/``rcumsum`` over one dimension: a sum with a 0/1 triangle over a copy of it.

        Parameters
        ----------
        e, target, bang
            The ``cumsum``/``rcumsum`` call, the equation's space, and dimensions summed by an enclosing SUM.

        Returns
        -------
        str
        """
        x = e.args[0]
        if not e.over or len(e.over) != 1:
            raise ExportError(f"{e}: a running total needs over= one dimension")
        dim = e.over[0]
        sx = self.space_of(x)
        full = self.dense(sx.dims)
        if bang or not self.is_dense(target) or not isinstance(x, Ref) or not self.is_dense(sx):
            if not (isinstance(x, Ref) and self.is_dense(sx)):
                x = Ref(self.helper(x, full, "term"))
            if bang or not self.is_dense(target):
                return self.ref(self.helper(Call(e.fn, (x,), e.over), full, "total"), target, bang)
        labels = self.spec.dims[dim]
        if e.fn == "cumsum":
            rows = [[1 if j <= i else 0 for j in range(len(labels))] for i in range(len(labels))]
        else:
            rows = [[1 if j >= i else 0 for j in range(len(labels))] for i in range(len(labels))]
        what = "from the first label" if e.fn == "cumsum" else "from the last label"
        tri = self.dim_table(
            f"running total {self.dim_range(dim).name}",
            (dim, self.copy_range(dim)),
            rows,
            f"1 where the column's {dim} counts towards the row's running total ({what})",
        )
        subs = {d: self.dim_range(d).name for d in sx.dims}
        subs[dim] = self.copy_range(dim) + "!"
        inner = vensim_name(x.name) + "[" + ", ".join(subs[d] for d in self.order_of(x.name, sx)) + "]"
        row, col = self.dim_range(dim).name, self.copy_range(dim)
        return f"SUM({tri}[{row}, {col}!] * {inner})"

    def aggregate(self, e: Call, target: Space, bang: frozenset[str]) -> str:
        """A sum, product, minimum, maximum or mean over dimensions (``SUM(x[Group!])``).

        Parameters
        ----------
        e, target, bang
            The aggregate call, the equation's space, and dimensions summed by an enclosing SUM.

        Returns
        -------
        str
        """
        x = e.args[0]
        sx = self.space_of(x)
        over = tuple(e.over or sx.dims)
        result = self.space_of(e)
        nested = bool(bang) or (not self.is_dense(target) and bool(result.dims))
        if nested:
            # a sum inside a gather or another sum: give it an equation of its own
            full = self.dense(result.dims)
            return self.ref(self.helper(e, full, "sum"), target, bang)
        if self.is_dense(sx):
            fn = "SUM" if e.fn == "mean" else _AGG[e.fn]
            inner = self.emit(x, self.dense(tuple(d for d in sx.dims if d not in over)), frozenset(over))
            text = f"{fn}({inner})"
            if e.fn == "mean":
                text = f"({text} / {math.prod(len(self.spec.dims[d]) for d in over)})"
            return text
        if e.fn not in ("sum", "mean"):
            raise ExportError(f"{e}: {e.fn} over a sparse set of elements is not written")
        name = x.name if isinstance(x, Ref) else self.helper(x, sx, "term")
        r = self.sparse_range(sx)
        keep = [d for d in sx.dims if d not in over]
        factors = [f"{self.map_name(sx, d)}[{r.name}!, {self.dim_range(d).name}]" for d in keep]
        text = "SUM(" + " * ".join([*factors, f"{vensim_name(name)}[{r.name}!]"]) + ")"
        if e.fn == "mean":
            count = "SUM(" + " * ".join([*factors, "1"]) + ")" if factors else str(len(sx))
            text = f"ZIDZ({text}, {count})"
        return text

    def _step_series(self, name: str, sp: Space, target: Space, bang: frozenset[str]) -> str:
        s = self.step_series[name]
        if sp.dims and not self.is_dense(sp):
            raise ExportError(f"series {name}: step series over a sparse set of elements are not written")
        if name not in self.step_helpers:
            helper = self.new_name(f"{name}_now", f"value of {name}")
            self.step_helpers[name] = helper
            pieces = []
            for i, c in enumerate(sp.coords):
                y = s.values[i]
                terms = [fmt(y[0])]
                for k in range(1, len(s.times)):
                    if y[k] != y[k - 1]:
                        terms.append(f"IF THEN ELSE(Time >= {fmt(s.times[k])}, {fmt(y[k] - y[k - 1])}, 0)")
                pieces.append((f"{vensim_name(helper)}{self._element_subs(sp, c)}", " + ".join(terms)))
            doc = f"{s.description} (changes in steps at the given times)"
            var = MdlVar(helper, sp, "", mdl_units(s.unit), doc, "aux", "", pieces=pieces)
            self.helpers.append(var)
            self.space_cache[helper] = sp
        return self._ref(self.step_helpers[name], sp, target, bang, "")

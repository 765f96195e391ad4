"""Write any Upstream model as a Vensim ``.mdl`` file that PySD and Vensim read.

Layout of the file:

* every dimension becomes a subscript range (``Group: ...``); labels that are
  not plain Vensim names are written in double quotes;
* a *sparse* element set (the surge model's 580 (group, condition, service)
  paths out of 6,528 combinations) becomes a one-dimensional range of its own
  (``Path``), whose elements name their labels (``"Parents / Anxiety / IAPT"``),
  with one 0/1 membership table per dimension (``path to group[Path, Group]``);
  values move between a path and its group, condition or service with
  ``SUM(path to group[Path, Group!] * at risk[Group!])`` (a gather) and
  ``SUM(path to group[Path!, Group] * relapse[Path!])`` (a sum per group);
* parameters become constants (tables of numbers, with their bounds as Vensim
  limits), parameters over a sparse set with few missing combinations are
  written as full tables with zeros where no element exists;
* series become lookups called with ``Time``; lookup tables (imported
  ``lookup(table, x)``) become lookups;
* derived values and outputs become auxiliaries; every flow becomes an
  auxiliary (inflow: its rate; outflow: rate x stock; fraction: rate x its
  parent flow) and every stock an ``INTEG`` of its inflows minus its outflows;
* a sketch places each stock, flow (valve and pipes) and other variable, with
  influence arrows, so that Vensim opens the model.

**PySD 3.14 and dimension order.**  PySD stacks the states of all stocks in one
numpy array and crashes when two stocks of different shapes have the same
length along their first dimension (``[Group]`` beside ``[Group, Condition]``).
The exporter orders each stock's dimensions so that this never happens
(``[Condition, Group]`` there); surge models never meet it, since their paths
are one range.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

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
from simulator.core._spaces import SCALAR, Space, dense_space
from simulator.core._spec import Flow, ModelSpec
from simulator.vensim._names import normal, vensim_label, vensim_name, vensim_text
from simulator.vensim._numbers import NumberError, fmt, pysd_exact, pysd_printed, pysd_terms

__all__ = [
    "ExportError",
    "element_label",
    "export_mdl",
    "mdl_text",
    "pysd_exact",
    "pysd_printed",
    "pysd_terms",
]


class ExportError(ValueError):
    """The model uses something the Vensim writer cannot express; the message says what."""


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


@dataclass
class _Range:
    name: str  # Vensim name
    labels: tuple[str, ...]  # Vensim element names (quoted where needed)
    dims: tuple[str, ...]  # Upstream dimensions it covers
    coords: tuple[tuple[str, ...], ...]  # Upstream labels of each element
    doc: str = ""
    copy_of: str | None = None  # a copy of another range (``Stage from <-> Stage``)


@dataclass
class _Var:
    name: str  # Upstream name
    space: Space
    equation: str  # right-hand side(s), already formatted
    units: str = ""
    doc: str = ""
    kind: str = "aux"  # aux, constant, lookup, stock, flow
    lhs: str = ""
    refs: set[str] = field(default_factory=set)
    flow: Flow | None = None
    pieces: list[tuple[str, str]] = field(default_factory=list)


class _Writer:
    """Builds the text of one ``.mdl`` file (see the module docstring)."""

    def __init__(self, spec: ModelSpec, dt: float, t0: float, final: float, every: float, unit: str):
        self.spec, self.dt, self.t0, self.final, self.every, self.unit = spec, dt, t0, final, every, unit
        self.params = {p.name: p for p in spec.params}
        self.series = {s.name: s for s in spec.series}
        self.auxes = {a.name: a for a in spec.auxes}
        self.stocks = {s.name: s for s in spec.stocks}
        self.flows = {f.name: f for f in spec.flows}
        self.outputs = {o.name: o for o in spec.outputs}
        self.ranges: dict[tuple, _Range] = {}
        self.vars: dict[str, _Var] = {}
        self.helpers: list[_Var] = []
        self.maps: dict[tuple[str, str], str] = {}
        self.names: dict[str, str] = {}  # normal key -> what uses it
        self.space_cache: dict[str, Space] = {}
        self.stock_order: dict[str, tuple[str, ...]] = {}
        self.lookup_tables: set[str] = set()
        self.lookup_terms: dict[str, list[str]] = {}
        from simulator.core._bind import Binder

        self.binder = Binder(spec)
        self.tables: dict[tuple, str] = {}
        self.step_series: dict[str, object] = {}
        self.step_helpers: dict[str, str] = {}
        self.densified: dict[str, str] = {}
        self._check_names()

    # ------------------------------------------------------------------ names
    def _claim(self, vname: str, what: str) -> None:
        key = normal(vname)
        if key in self.names and self.names[key] != what:
            raise ExportError(
                f"{what} and {self.names[key]} have the same Vensim name {vname!r} "
                "(Vensim ignores case, spaces and underscores)"
            )
        self.names[key] = what

    def _check_names(self) -> None:
        for kind, items in (
            ("parameter", self.params),
            ("series", self.series),
            ("derived value", self.auxes),
            ("stock", self.stocks),
            ("flow", self.flows),
            ("output", self.outputs),
        ):
            for n in items:
                self._claim(vensim_name(n), f"{kind} {n!r}")
        for d in self.spec.dims:
            if d.endswith("__x"):
                continue
            self._claim(self._dim_name(d), f"dimension {d!r}")

    def _dim_name(self, dim: str) -> str:
        v = vensim_name(dim)
        return v[:1].upper() + v[1:] if not v.startswith('"') else v

    def new_name(self, base: str, what: str) -> str:
        """A new Upstream-style name (``base``, ``base_2`` ...) whose Vensim name is still free."""
        name, i = base, 2
        while normal(vensim_name(name)) in self.names or name in self.space_cache:
            name = f"{base}_{i}"
            i += 1
        self._claim(vensim_name(name), what)
        return name

    def fresh(self, base: str, what: str) -> str:
        """A Vensim name not used yet (``base``, ``base 2``, ...)."""
        name, i = base, 2
        while normal(name) in self.names:
            name = f"{base} {i}"
            i += 1
        self._claim(name, what)
        return name

    # ------------------------------------------------------------------ spaces
    def is_dense(self, space: Space) -> bool:
        if not space.dims:
            return True
        full = math.prod(len(self.spec.dims[d]) for d in space.dims)
        return full == len(space)

    def dense(self, dims: Sequence[str]) -> Space:
        return dense_space(tuple(dims), self.spec.dims) if dims else SCALAR

    def dim_range(self, dim: str) -> _Range:
        key = ("dim", dim)
        if key not in self.ranges:
            labels = tuple(self.spec.dims[dim])
            vl = tuple(vensim_label(x) for x in labels)
            if len({normal(x) for x in vl}) != len(vl):
                raise ExportError(f"labels of dimension {dim!r} differ only in case or spaces: {labels}")
            self.ranges[key] = _Range(self._dim_name(dim), vl, (dim,), tuple((x,) for x in labels))
        return self.ranges[key]

    def sparse_range(self, space: Space) -> _Range:
        key = ("sparse", space.dims, frozenset(space.coords))
        if key not in self.ranges:
            names = self.spec.meta.get("element_names", {}) if isinstance(self.spec.meta, Mapping) else {}
            base = names.get(",".join(space.dims)) if isinstance(names, Mapping) else None
            base = base or "_".join(space.dims) + "_elements"
            name = self.fresh(self._dim_name(base), f"range of {space.dims}")
            joined = [element_label(c) for c in space.coords]
            if len({normal(j) for j in joined}) != len(joined):
                joined = [f"{name[:1]}{i + 1}" for i in range(len(space))]
            labels = tuple(vensim_label(j) for j in joined)
            doc = f"elements of ({', '.join(space.dims)}) that exist, written as " + " / ".join(space.dims)
            self.ranges[key] = _Range(name, labels, space.dims, space.coords, doc)
        return self.ranges[key]

    def subs(self, space: Space, order: Sequence[str] | None = None, bang: Sequence[str] = ()) -> str:
        """Subscripts for a variable over ``space`` (``[Group, Condition]`` or ``[Path]``)."""
        if not space.dims:
            return ""
        if self.is_dense(space):
            dims = order or space.dims
            return "[" + ", ".join(self.dim_range(d).name + ("!" if d in bang else "") for d in dims) + "]"
        r = self.sparse_range(space)
        return f"[{r.name}{'!' if set(space.dims) <= set(bang) else ''}]"

    def map_name(self, space: Space, dim: str) -> str:
        """The 0/1 membership table of a sparse range in one dimension (``path to group``)."""
        r = self.sparse_range(space)
        key = (r.name, dim)
        if key not in self.maps:
            name = self.fresh(f"{r.name.lower()} to {self.dim_range(dim).name.lower()}", f"map {key}")
            labels = self.spec.dims[dim]
            k = space.dims.index(dim)
            rows = []
            for c in r.coords:
                rows.append(", ".join("1" if c[k] == lab else "0" for lab in labels))
            eq = ";\n\t\t".join(rows) + ";"
            doc = f"1 where the element of {r.name} has this {dim}, else 0"
            lhs = f"{name}[{r.name}, {self.dim_range(dim).name}]"
            self.helpers.append(_Var(name, SCALAR, eq, "Dmnl", doc, "constant", lhs=lhs))
            self.maps[key] = name
        return self.maps[key]

    # ------------------------------------------------------------------ space inference
    def space_of_name(self, name: str) -> Space:
        if name in self.space_cache:
            return self.space_cache[name]
        if name in ("time", "t", "dt"):
            sp = SCALAR
        elif name in self.params:
            sp = self.params[name].space
        elif name in self.series:
            sp = self.series[name].space
        elif name in self.stocks:
            sp = self.stocks[name].space
        elif name in self.auxes:
            a = self.auxes[name]
            sp = a.space if a.space is not None else self.space_of(a.expr)
        elif name in self.flows:
            sp = self.flow_space(self.flows[name])
        elif name in self.outputs:
            sp = self.space_of(self.outputs[name].expr)
        else:
            raise ExportError(f"unknown name {name!r}")
        self.space_cache[name] = sp
        return sp

    def flow_space(self, f: Flow) -> Space:
        if f.space is not None:
            return f.space
        if f.kind == "outflow":
            return self.stocks[f.of or f.source].space
        if f.kind == "fraction":
            return self.flow_space(self.flows[f.of])
        return self.stocks[f.target].space

    def align(self, spaces: Sequence[Space]) -> Space:
        """The space the binder aligns terms onto (asked of :class:`simulator.core._bind.Binder` itself)."""
        from simulator.core._bind import _Placeholder

        if not any(s.dims for s in spaces):
            return SCALAR
        _, target = self.binder.align([_Placeholder(s) for s in spaces])
        return target

    def space_of(self, e: Expr) -> Space:
        if isinstance(e, Num):
            return SCALAR
        if isinstance(e, Ref):
            return self.space_of_name(e.name)
        if isinstance(e, Unary):
            return self.space_of(e.a)
        if isinstance(e, Binary):
            return self.align([self.space_of(e.a), self.space_of(e.b)])
        if isinstance(e, IfElse):
            return self.align([self.space_of(e.cond), self.space_of(e.a), self.space_of(e.b)])
        if isinstance(e, Call):
            if e.fn in ("cumsum", "rcumsum"):
                return self.space_of(e.args[0])
            if e.over is not None and e.fn in AGGREGATES:
                child = self.space_of(e.args[0])
                over = e.over or child.dims
                keep = tuple(d for d in child.dims if d not in over)
                return child.sub(keep) if keep else SCALAR
            if e.fn == "lookup":
                table = self.params[e.args[0].name].space  # type: ignore[union-attr]
                elems = table.sub(table.dims[:-1]) if len(table.dims) > 1 else SCALAR
                return self.align([elems, self.space_of(e.args[1])])
            return self.align([self.space_of(a) for a in e.args])
        raise ExportError(f"cannot write {type(e).__name__} nodes ({e}) in Vensim")

    # ------------------------------------------------------------------ expressions
    def ref(self, name: str, target: Space, bang: frozenset[str]) -> str:
        """``name`` read inside an equation over ``target`` (``bang``: dims summed by an enclosing SUM)."""
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
        same = set(sp.coords) == set(target.coords) and sp.dims == target.dims
        summed = set(sp.dims) <= bang
        return same or summed

    def densify(self, name: str, sp: Space) -> str:
        """A helper auxiliary holding a sparse value as a full table (zeros where no element exists)."""
        if name not in self.densified:
            helper = self.new_name(f"{name}_full", f"full table of {name}")
            r = self.sparse_range(sp)
            maps = " * ".join(f"{self.map_name(sp, d)}[{r.name}!, {self.dim_range(d).name}]" for d in sp.dims)
            full = self.dense(sp.dims)
            eq = f"SUM({maps} * {vensim_name(name)}[{r.name}!])"
            doc = f"{name} on every combination of {', '.join(sp.dims)} (0 where no element exists)"
            self.helpers.append(_Var(helper, full, eq, "", doc, "aux", self._lhs(helper, full), refs={name}))
            self.space_cache[helper] = full
            self.densified[name] = helper
        return self.densified[name]

    def helper(self, e: Expr, space: Space, what: str) -> str:
        """Materialise ``e`` as an auxiliary of its own over ``space`` (to gather or sum it)."""
        name = self.new_name(f"{what}_{len(self.helpers) + 1}", f"helper {what}")
        self.space_cache[name] = space
        eq = self.emit(e, space, frozenset())
        lhs = self._lhs(name, space)
        self.helpers.append(
            _Var(name, space, eq, "", f"part of the equation of {what}", "aux", lhs, set(refs(e)))
        )
        return name

    def emit(self, e: Expr, target: Space, bang: frozenset[str] = frozenset()) -> str:
        """Vensim text of ``e`` inside an equation over ``target``."""
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
        """``e`` as a Vensim condition."""
        if isinstance(e, Binary) and e.op in _CMP:
            return f"{self.emit(e.a, target, bang)} {_CMP[e.op]} {self.emit(e.b, target, bang)}"
        if isinstance(e, Binary) and e.op in ("and", "or"):
            op = ":AND:" if e.op == "and" else ":OR:"
            return f"({self.cond(e.a, target, bang)}) {op} ({self.cond(e.b, target, bang)})"
        if isinstance(e, Unary) and e.op == "not":
            return f":NOT: ({self.cond(e.a, target, bang)})"
        return f"{self.emit(e, target, bang)} <> 0"

    def call(self, e: Call, target: Space, bang: frozenset[str]) -> str:
        args = e.args
        if e.fn in ("cumsum", "rcumsum"):
            return self.running_total(e, target, bang)
        if e.over is not None and e.fn in AGGREGATES:
            return self.aggregate(e, target, bang)
        if e.fn == "lookup":
            table = args[0].name  # type: ignore[union-attr]
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
        """``cumsum``/``rcumsum`` over one dimension: a sum with a 0/1 triangle over a copy of it."""
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

    def copy_range(self, dim: str) -> str:
        """A copy of a dimension's range (``Stage from <-> Stage``), to sum along it beside itself."""
        key = ("copy", dim)
        if key not in self.ranges:
            base = self.dim_range(dim)
            name = self.fresh(f"{base.name} from", f"copy of {dim}")
            self.ranges[key] = _Range(
                name, base.labels, (dim,), base.coords, f"a copy of {base.name}", base.name
            )
        return self.ranges[key].name

    def dim_table(self, base: str, dims: tuple[str, str], rows, doc: str) -> str:
        """A 0/1 constant over a dimension and its copy (or one dimension: ``rows`` a single row)."""
        key = (base, dims, str(rows))
        if key not in self.tables:
            name = self.fresh(base, f"table {base}")
            eq = ";\n\t\t".join(", ".join(str(v) for v in r) for r in rows) + ";"
            lhs = f"{name}[{self.dim_range(dims[0]).name}, {dims[1]}]"
            self.helpers.append(_Var(name, SCALAR, eq, "Dmnl", doc, "constant", lhs=lhs))
            self.tables[key] = name
        return self.tables[key]

    def at_table(self, dim: str, label: str) -> str:
        """A 0/1 constant over one dimension: 1 at ``label`` (people arriving at a fixed label)."""
        key = ("at", dim, label)
        if key not in self.tables:
            r = self.dim_range(dim)
            name = self.fresh(f"{r.name.lower()} at {len(self.tables) + 1}", f"table at {dim}={label}")
            eq = ", ".join("1" if lab == label else "0" for lab in self.spec.dims[dim])
            doc = f"1 at {dim} {label!r}, where the flow arrives"
            self.helpers.append(_Var(name, SCALAR, eq, "Dmnl", doc, "constant", lhs=f"{name}[{r.name}]"))
            self.tables[key] = name
        return self.tables[key]

    def aggregate(self, e: Call, target: Space, bang: frozenset[str]) -> str:
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

    def order_of(self, name: str, sp: Space) -> tuple[str, ...]:
        return self.stock_order.get(name, sp.dims)

    # ------------------------------------------------------------------ variables
    def build(self) -> None:
        self._order_stocks()
        for e in self._formulas():
            self._find_tables(e)
        for p in self.params.values():
            self._param(p)
        for s in self.series.values():
            self._series(s)
        for a in self.auxes.values():
            sp = self.space_of_name(a.name)
            self._aux(a.name, a.expr, sp, a.unit, a.description)
        for o in self.outputs.values():
            self._aux(o.name, o.expr, self.space_of_name(o.name), o.unit, o.description)
        for f in self.flows.values():
            self._flow(f)
        for s in self.stocks.values():
            self._stock(s)

    def _formulas(self) -> list[Expr]:
        out: list[Expr] = [a.expr for a in self.spec.auxes] + [o.expr for o in self.spec.outputs]
        out += [f.rate for f in self.spec.flows]
        return out + [s.initial for s in self.spec.stocks if isinstance(s.initial, Expr)]

    def _find_tables(self, e: Expr) -> None:
        """Parameters used as ``lookup(table, x)`` tables are written as Vensim lookups."""
        if isinstance(e, Call) and e.fn == "lookup" and isinstance(e.args[0], Ref):
            self.lookup_tables.add(e.args[0].name)
        for child in _children(e):
            self._find_tables(child)

    def _order_stocks(self) -> None:
        """Dimension order of each stock that keeps PySD 3.14 running (see the module docstring).

        Stocks are placed from the fewest dimensions to the most; each multi-dimensional
        stock takes the first order of its dimensions whose shape clashes with no stock
        placed before it (same first length, different shape).
        """
        shapes: dict[str, tuple[int, ...]] = {}

        def clashes(shape: tuple[int, ...]) -> bool:
            return bool(shape) and any(o and o[0] == shape[0] and o != shape for o in shapes.values())

        def rank(s) -> int:
            return len(s.space.dims) if self.is_dense(s.space) else 1

        for s in sorted(self.spec.stocks, key=rank):
            sp = s.space
            if not sp.dims or not self.is_dense(sp):
                shape = (len(sp),) if sp.dims else ()
                if clashes(shape):
                    raise ExportError(f"stock {s.name}: its shape {shape} would crash PySD 3.14 (see README)")
                shapes[s.name] = shape
                continue
            for perm in itertools.permutations(sp.dims):
                shape = tuple(len(self.spec.dims[d]) for d in perm)
                if not clashes(shape):
                    self.stock_order[s.name] = perm
                    shapes[s.name] = shape
                    break
            else:
                raise ExportError(
                    f"stock {s.name}: no order of {sp.dims} avoids PySD 3.14's crash on stocks whose first "
                    "dimensions have the same length but whose shapes differ"
                )

    def _lhs(self, name: str, space: Space) -> str:
        return vensim_name(name) + self.subs(space, self.order_of(name, space))

    def _param(self, p) -> None:
        if p.name in self.lookup_tables or (p.space.dims and p.space.dims[-1].endswith("__x")):
            self._lookup_param(p)
            return
        v = p.values
        if not np.all(np.isfinite(v)):
            raise ExportError(f"parameter {p.name}: values must be finite")
        sp = p.space
        if sp.dims and not self.is_dense(sp):
            full = math.prod(len(self.spec.dims[d]) for d in sp.dims)
            if full <= 4 * len(sp) or full <= 256:
                dense = self.dense(sp.dims)
                vals = np.zeros(len(dense))
                vals[[dense.position[c] for c in sp.coords]] = v
                sp, v = dense, vals
                self.space_cache[p.name] = dense
        units = _units(p.unit, p.bounds)
        doc = p.description + (f" Source: {p.source}" if p.source else "")
        if sp.dims and not pysd_exact(v.reshape(self._shape(sp))):
            # PySD would write this table with 8 decimals: give each element its own equation
            pieces = [
                (f"{vensim_name(p.name)}{self._element_subs(sp, c)}", fmt(x)) for c, x in zip(sp.coords, v)
            ]
            self.vars[p.name] = _Var(p.name, sp, "", units, doc, "constant", "", pieces=pieces)
            return
        if not sp.dims or not self.is_dense(sp) or len(sp.dims) == 1:
            eq = ", ".join(fmt(x) for x in v)
            self.vars[p.name] = _Var(p.name, sp, eq, units, doc, "constant", self._lhs(p.name, sp))
            return
        # two or more dimensions: one table per combination of all but the last two
        arr = v.reshape([len(self.spec.dims[d]) for d in sp.dims])
        pieces = []
        lead = sp.dims[:-2]
        for idx in itertools.product(*(range(len(self.spec.dims[d])) for d in lead)):
            block = arr[idx]
            subs = [self.dim_range(d).labels[i] for d, i in zip(lead, idx)]
            subs += [self.dim_range(d).name for d in sp.dims[-2:]]
            rows = ";\n\t\t".join(", ".join(fmt(x) for x in row) for row in block) + ";"
            pieces.append((f"{vensim_name(p.name)}[{', '.join(subs)}]", rows))
        self.vars[p.name] = _Var(p.name, sp, "", units, doc, "constant", "", pieces=pieces)

    def _shape(self, sp: Space) -> tuple[int, ...]:
        if not self.is_dense(sp):
            return (len(sp),)
        return tuple(len(self.spec.dims[d]) for d in sp.dims)

    def _element_subs(self, sp: Space, coords: tuple[str, ...]) -> str:
        """Subscripts naming one element: ``[Parents, IAPT]`` or, on a sparse range, ``["a / b"]``."""
        if not sp.dims:
            return ""
        if self.is_dense(sp):
            labels = [self.dim_range(d).labels[self.spec.dims[d].index(c)] for d, c in zip(sp.dims, coords)]
            return "[" + ", ".join(labels) + "]"
        r = self.sparse_range(sp)
        return "[" + r.labels[r.coords.index(tuple(coords))] + "]"

    def _lookup_param(self, p) -> None:
        sp = p.space
        axis = sp.dims[-1]
        xs = [float(x) for x in self.spec.dims[axis]]
        elems = sp.sub(sp.dims[:-1]) if len(sp.dims) > 1 else SCALAR
        ys = p.values.reshape(len(elems), len(xs))
        self._lookups(p.name, elems, xs, ys, p.unit, p.description)
        self.space_cache[p.name] = elems

    def _series(self, s) -> None:
        if getattr(s, "kind", "linear") == "step":
            # a series that changes in steps: each element holds its value from one time to
            # the next, written as IF THEN ELSE terms (Vensim lookups only interpolate)
            self.step_series[s.name] = s
            return
        self._lookups(s.name, s.space, list(s.times), s.values, s.unit, s.description)

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
            var = _Var(helper, sp, "", _units(s.unit), doc, "aux", "", pieces=pieces)
            self.helpers.append(var)
            self.space_cache[helper] = sp
        return self._ref(self.step_helpers[name], sp, target, bang, "")

    def _lookups(self, name: str, elems: Space, xs, ys, unit: str, doc: str) -> None:
        """Lookups, one per element; digits PySD would drop go to a second lookup added to the first."""
        if elems.dims and not self.is_dense(elems):
            raise ExportError(f"lookup {name}: lookups over a sparse set of elements are not written")
        xs = np.asarray(xs, dtype=float)
        if not pysd_exact(xs):
            raise ExportError(f"lookup {name}: PySD would round its x values {xs.tolist()}")
        ys = np.asarray(ys, dtype=float).reshape(len(elems), len(xs))
        per_element = [pysd_terms(ys[i]) for i in range(len(elems))]
        n_terms = max(len(t) for t in per_element)
        names = [name] + [self.new_name(f"{name}_digits", f"digits of {name}") for _ in range(1, n_terms)]
        for k, term_name in enumerate(names):
            pieces = []
            for i, c in enumerate(elems.coords):
                terms = per_element[i]
                y = terms[k] if k < len(terms) else np.zeros(len(xs))
                pts = ",".join(f"({fmt(x)},{fmt(v)})" for x, v in zip(xs, y))
                lo, hi = f"({fmt(xs.min())},{fmt(y.min())})", f"({fmt(xs.max())},{fmt(y.max())})"
                pieces.append(
                    (f"{vensim_name(term_name)}{self._element_subs(elems, c)}", f"([{lo}-{hi}],{pts})")
                )
            text = doc if k == 0 else f"digits of {name} that PySD 3.14 would drop from a lookup (add them)"
            self.vars[term_name] = _Var(term_name, elems, "", _units(unit), text, "lookup", "", pieces=pieces)
        self.lookup_terms[name] = names

    def _aux(self, name: str, expr: Expr, space: Space, unit: str, doc: str, kind: str = "aux") -> None:
        if space.dims and not self.is_dense(space):
            self.sparse_range(space)
        eq = self.emit(expr, space)
        lhs = self._lhs(name, space)
        self.vars[name] = _Var(name, space, eq, _units(unit), doc, kind, lhs, set(refs(expr)))

    def _flow(self, f: Flow) -> None:
        sp = self.flow_space(f)
        if f.kind == "inflow":
            value: Expr = f.rate
        elif f.kind == "outflow":
            value = Binary("*", f.rate, Ref(f.of or f.source))  # type: ignore[arg-type]
        else:
            value = Binary("*", f.rate, Ref(f.of))  # type: ignore[arg-type]
        self._aux(f.name, value, sp, f.unit, f.description, "flow")
        self.vars[f.name].flow = f

    def _stock(self, s) -> None:
        sp = s.space
        terms = []
        for f in self.flows.values():
            if not f.moves:
                continue
            arrivals = []
            if f.target == s.name:
                arrivals.append((getattr(f, "relabel", {}) or {}, getattr(f, "target_at", {}) or {}))
            for stock, relabel, at in getattr(f, "tally", ()) or ():
                if stock == s.name:  # a second count of the same people (wait bands)
                    arrivals.append((relabel or {}, at or {}))
            for relabel, at in arrivals:
                terms.append(("+", self.arrival(f, sp, relabel, at)))
            if f.source == s.name:
                terms.append(("-", self.arrival(f, sp, {}, {})))
        net = " ".join(f"{sign} {t}" for sign, t in terms).lstrip("+ ").strip() or "0"
        if net.startswith("- "):
            net = "-" + net[2:]
        init = s.initial
        init_text = fmt(float(init)) if isinstance(init, int | float) else self.emit(init, sp)
        eq = f"INTEG(\n\t{net},\n\t\t{init_text})"
        self.vars[s.name] = _Var(
            s.name, sp, eq, _units(s.unit), s.description, "stock", self._lhs(s.name, sp)
        )

    def arrival(self, f: Flow, sp: Space, relabel: Mapping, at: Mapping) -> str:
        """What flow ``f`` adds to (or takes from) a stock over ``sp``, its labels mapped.

        ``relabel`` moves a label to another one (a stage to the next, a service to the
        one it escalates to), ``at`` fixes labels the flow does not have; the flow's
        other dimensions are summed.  Each mapping is a 0/1 table over the dimension and
        a copy of it, so Vensim sums ``table[Stage, Stage from!] * flow[Service, Stage from!]``.
        """
        fs = self.flow_space(f)
        relabel = {d: m for d, m in relabel.items() if d in fs.dims and d in sp.dims and d not in at}
        if not relabel and not at:
            over = tuple(d for d in fs.dims if d not in sp.dims)
            if not over:  # the same dimensions (perhaps fewer elements): element by element
                return self.emit(Ref(f.name), sp)
            return self.emit(Call("sum", (Ref(f.name),), over), sp)
        missing = [d for d in sp.dims if d not in fs.dims and d not in at]
        if missing:
            raise ExportError(f"flow {f.name}: no label for the target's {missing} (target_at)")
        name = f.name if self.is_dense(fs) else self.densify(f.name, fs)
        subs, factors = {}, []
        for d in fs.dims:
            if d in relabel:
                labels = self.spec.dims[d]
                rows = [[1 if relabel[d].get(src, src) == dst else 0 for src in labels] for dst in labels]
                col = self.copy_range(d)
                table = self.dim_table(
                    f"{self.dim_range(d).name.lower()} moves {len(self.tables) + 1}",
                    (d, col),
                    rows,
                    f"1 where {f.name} moves people from the column's {d} to the row's",
                )
                factors.append(f"{table}[{self.dim_range(d).name}, {col}!]")
                subs[d] = col + "!"
            elif d in sp.dims and d not in at:
                subs[d] = self.dim_range(d).name
            else:
                subs[d] = self.dim_range(d).name + "!"
        inner = vensim_name(name) + "[" + ", ".join(subs[d] for d in fs.dims) + "]"
        summed = any(v.endswith("!") for v in subs.values())
        text = f"SUM({' * '.join([*factors, inner])})" if summed else inner
        for d, label in at.items():
            if d in sp.dims:
                text = f"{self.at_table(d, label)}[{self.dim_range(d).name}] * {text}"
        full = self.dense(sp.dims)
        helper = self.new_name(f"{f.name}_into", f"arrivals of {f.name}")
        doc = f"{f.name} arriving where it moves people to"
        self.helpers.append(_Var(helper, full, text, "", doc, "aux", self._lhs(helper, full), {f.name}))
        self.space_cache[helper] = full
        return self.ref(helper, sp, frozenset())

    # ------------------------------------------------------------------ text
    def text(self) -> str:
        from simulator.vensim._sketch import sketch

        out = ["{UTF-8}"]
        for r in self.ranges.values():
            if r.copy_of is not None:
                out.append(f"{r.name} <-> {r.copy_of}\n\t~\t\n\t~\t{_doc(r.doc)}\n\t|\n")
                continue
            labels = ",\n\t".join(", ".join(r.labels[i : i + 6]) for i in range(0, len(r.labels), 6))
            out.append(f"{r.name}:\n\t{labels}\n\t~\t\n\t~\t{_doc(r.doc)}\n\t|\n")
        for v in [*self.vars.values(), *self.helpers]:
            pieces = v.pieces
            if pieces:
                for i, (lhs, eq) in enumerate(pieces):
                    last = i == len(pieces) - 1
                    sep = f"\n\t~\t{v.units}\n\t~\t{_doc(v.doc)}\n\t|\n" if last else " ~~|\n"
                    if v.kind == "lookup":  # name(\n\t[(x0,y0)-(x1,y1)],(x,y),...) as Vensim writes it
                        out.append(f"{lhs}(\n\t{eq[1:]}{sep}")
                    else:
                        out.append(f"{lhs}=\n\t{eq}{sep}")
                continue
            lhs = v.lhs or vensim_name(v.name)
            out.append(f"{lhs}=\n\t{v.equation}\n\t~\t{v.units}\n\t~\t{_doc(v.doc)}\n\t|\n")
        unit = self.unit or "Month"
        out.append(
            "********************************************************\n\t.Control\n"
            "********************************************************~\n"
            "\t\tSimulation Control Parameters\n\t|\n"
        )
        for name, value, doc in (
            ("FINAL TIME", self.final, "The final time for the simulation."),
            ("INITIAL TIME", self.t0, "The initial time for the simulation."),
            ("SAVEPER", self.every, "The frequency with which output is stored."),
            ("TIME STEP", self.dt, "The time step for the simulation."),
        ):
            lim = " [0,?]" if name in ("SAVEPER", "TIME STEP") else ""
            out.append(f"{name}  = {fmt(value)}\n\t~\t{unit}{lim}\n\t~\t{doc}\n\t|\n")
        out.append(sketch(self))
        return "\n".join(out)


def element_label(coords: Sequence[str]) -> str:
    """The Vensim name of an element of a sparse set: its labels joined by `` / ``."""
    return " / ".join(vensim_text(c) for c in coords)


def _children(e: Expr) -> list[Expr]:
    if isinstance(e, Unary | Take):
        return [e.a]
    if isinstance(e, Binary):
        return [e.a, e.b]
    if isinstance(e, IfElse):
        return [e.cond, e.a, e.b]
    if isinstance(e, Call):
        return list(e.args)
    if isinstance(e, Assemble):
        return list(e.parts)
    return []


def _clean(text: str) -> str:
    return " ".join(str(text).replace("~", "-").replace("|", "/").split())


def _doc(text: str) -> str:
    return _clean(text)


def _units(unit: str, bounds: tuple = (None, None)) -> str:
    u = _clean(unit).replace("[", "(").replace("]", ")")
    lo, hi = bounds
    if lo is None and hi is None:
        return u
    return f"{u} [{'?' if lo is None else fmt(lo)},{'?' if hi is None else fmt(hi)}]"


def mdl_text(
    spec: ModelSpec,
    *,
    dt: float | None = None,
    months: int | None = None,
) -> str:
    """The ``.mdl`` text of a model (see the module docstring).

    Parameters
    ----------
    spec
        The model.
    dt
        TIME STEP (months for surge models; default 1, or an imported model's own).
    months
        Reporting months ``0 .. months - 1`` (default the model's horizon): FINAL TIME
        is ``months - 1``; SAVEPER is one month (an imported model keeps its own).
    """
    clock = spec.meta.get("clock") or {} if isinstance(spec.meta, Mapping) else {}
    t0 = float(clock.get("t0", 0.0))
    every = float(clock.get("every", 1.0))
    step = float(dt if dt is not None else clock.get("dt", 1.0))
    if not (math.isfinite(step) and step > 0):
        raise ExportError(f"dt must be a positive number, not {dt!r}")
    if abs(every / step - round(every / step)) > 1e-9:
        every = step
    horizon = int(months if months is not None else spec.horizon)
    final = t0 + (horizon - 1) * float(clock.get("every", 1.0))
    unit = str(clock.get("unit") or "Month")
    w = _Writer(spec, step, t0, final, every, unit)
    try:
        w.build()
    except NumberError as err:
        raise ExportError(str(err)) from None
    return w.text()


def export_mdl(model, path: str | Path, *, dt: float | None = None, months: int | None = None) -> Path:
    """Write a model (:class:`~simulator.core._model.Model` or spec) to a Vensim ``.mdl`` file, atomically."""
    from simulator.files._writers import atomic_path

    spec = getattr(model, "spec", model)
    text = mdl_text(spec, dt=dt, months=months)
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path

"""The third layer of the Vensim writer: the model's variables as ``.mdl`` variables.

:class:`VariableWriter` writes each part of the spec (see :mod:`._writer` for the
layout): parameters as constants or lookups, series as lookups of ``Time`` (or
``IF THEN ELSE`` steps), derived values and outputs as auxiliaries, flows as
auxiliaries and stocks as ``INTEG`` of what their flows bring and take, each
stock's dimensions ordered so that PySD 3.14 runs it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

import numpy as np

from simulator.core._formulas import Assemble, Binary, Call, Expr, IfElse, Ref, Take, Unary, refs
from simulator.core._spaces import SCALAR, Space
from simulator.core._spec import Flow
from simulator.vensim._mdl_parts import ExportError, MdlVar, mdl_units
from simulator.vensim._names import vensim_name
from simulator.vensim._numbers import fmt, pysd_exact, pysd_terms
from simulator.vensim._writer_equations import EquationWriter

__all__ = ["VariableWriter"]


class VariableWriter(EquationWriter):
    """Writes every variable of a spec (see the module docstring)."""

    # ------------------------------------------------------------------ variables
    def build(self) -> None:
        """Write every part of the spec as variables (:mod:`._writer` renders them as text)."""
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
        for st in self.stocks.values():
            self._stock(st)

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
                shape: tuple[int, ...] = (len(sp),) if sp.dims else ()
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
        units = mdl_units(p.unit, p.bounds)
        doc = p.description + (f" Source: {p.source}" if p.source else "")
        if sp.dims and not pysd_exact(v.reshape(self._shape(sp))):
            # PySD would write this table with 8 decimals: give each element its own equation
            pieces = [
                (f"{vensim_name(p.name)}{self._element_subs(sp, c)}", fmt(x)) for c, x in zip(sp.coords, v)
            ]
            self.vars[p.name] = MdlVar(p.name, sp, "", units, doc, "constant", "", pieces=pieces)
            return
        if not sp.dims or not self.is_dense(sp) or len(sp.dims) == 1:
            eq = ", ".join(fmt(x) for x in v)
            self.vars[p.name] = MdlVar(p.name, sp, eq, units, doc, "constant", self._lhs(p.name, sp))
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
        self.vars[p.name] = MdlVar(p.name, sp, "", units, doc, "constant", "", pieces=pieces)

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
            self.vars[term_name] = MdlVar(
                term_name, elems, "", mdl_units(unit), text, "lookup", "", pieces=pieces
            )
        self.lookup_terms[name] = names

    def _aux(self, name: str, expr: Expr, space: Space, unit: str, doc: str, kind: str = "aux") -> None:
        if space.dims and not self.is_dense(space):
            self.sparse_range(space)
        eq = self.emit(expr, space)
        lhs = self._lhs(name, space)
        self.vars[name] = MdlVar(name, space, eq, mdl_units(unit), doc, kind, lhs, set(refs(expr)))

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
        self.vars[s.name] = MdlVar(
            s.name, sp, eq, mdl_units(s.unit), s.description, "stock", self._lhs(s.name, sp)
        )

    def arrival(self, f: Flow, sp: Space, relabel: Mapping, at: Mapping) -> str:
        """What flow ``f`` adds to (or takes from) a stock over ``sp``, its labels mapped.

        ``relabel`` moves a label to another one (a stage to the next, a service to the
        one it escalates to), ``at`` fixes labels the flow does not have; the flow's
        other dimensions are summed.  Each mapping is a 0/1 table over the dimension and
        a copy of it, so Vensim sums ``table[Stage, Stage from!] * flow[Service, Stage from!]``.

        Parameters
        ----------
        f, sp
            The flow (people per month), and the stock's space.
        relabel
            Dimension -> label mapping (to the label people arrive at).
        at
            Dimension -> the fixed label people arrive at.

        Returns
        -------
        str
            Vensim text over ``sp``.
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
        self.helpers.append(MdlVar(helper, full, text, "", doc, "aux", self._lhs(helper, full), {f.name}))
        self.space_cache[helper] = full
        return self.ref(helper, sp, frozenset())


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

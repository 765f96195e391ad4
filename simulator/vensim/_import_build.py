"""Compile PySD's abstract model of a Vensim or XMILE file into an Upstream spec.

:class:`Importer` reads the model's sections and elements, classifies each
variable (constant, lookup, stock or auxiliary), reads the clock, defines each
variable as parameters, stocks, flows and derived values, and assembles the
:class:`~simulator.core._spec.ModelSpec` (see :mod:`._importer` for what each
Vensim construct becomes).  Problems are recorded, not raised.
"""

from __future__ import annotations

import math

import numpy as np

from simulator.core._formulas import Call, Num, Ref, Unary
from simulator.core._spaces import Space, dense_space
from simulator.core._spec import Aux, Flow, ModelSpec, Param, SpecError, Stock
from simulator.vensim._context import HIDDEN, Unsupported, Var
from simulator.vensim._import_state import ImportState
from simulator.vensim._names import normal
from simulator.vensim._subscripts import Piece, SubscriptError, Subscripts
from simulator.vensim._translate import Translator

__all__ = ["CONTROL", "Importer"]

CONTROL = ("initial_time", "final_time", "time_step", "saveper")


class Importer(ImportState):
    """Compiles one abstract model (see the module docstring)."""

    # ------------------------------------------------------------------ reading
    def build(self) -> ModelSpec | None:
        """The spec, or ``None`` with the problems recorded.

        Returns
        -------
        ModelSpec or None
        """
        sections = list(self.abstract.sections)
        main = next((s for s in sections if s.type == "main"), None)
        for s in sections:
            if s is not main:
                self.problems.add(f"macro {s.name!r}: MACRO is not supported", part=str(s.name))
        if main is None:
            self.problems.add("the file has no model section")
            return None
        try:
            self.sub = Subscripts.from_abstract(main.subscripts)
        except SubscriptError as err:
            self.problems.add(str(err))
            return None
        controls = {}
        for el in main.elements:
            key = normal(el.name)
            if key in CONTROL:
                controls[key] = el
        for el in main.elements:
            if normal(el.name) not in CONTROL:
                self._classify(el)
        if self.problems.errors:
            return None
        self._clock(controls)
        if self.problems.errors:
            return None
        for var in list(self.vars.values()):
            self._guard(var, self._define, var)
        if self.problems.errors:
            return None
        return self._spec(controls)

    def _guard(self, var: Var, fn, *args) -> None:
        try:
            fn(*args)
        except Unsupported as err:
            self.problems.add(
                f"{err.construct} is not supported (in the equation of {var.name!r})",
                part=var.name,
                allowed="see the supported constructs in the README; --fallback pysd runs it through PySD",
            )
        except (SubscriptError, SpecError, ValueError, KeyError) as err:
            msg = "; ".join(err.problems) if isinstance(err, SpecError) else str(err)
            self.problems.add(msg, part=var.name)

    def _classify(self, el) -> None:
        kinds, pieces, lhs_all = set(), [], []
        for c in el.components:
            cname = type(c).__name__
            ast = c.ast
            if cname == "AbstractData":
                kinds.add("data")
            elif cname == "AbstractLookup":
                kinds.add("lookup" if type(ast).__name__ == "LookupsStructure" else "external lookup")
            elif type(ast).__name__ == "IntegStructure":
                kinds.add("stock")
            elif isinstance(ast, int | float | np.integer | np.floating | np.ndarray) and not _nan(ast):
                kinds.add("constant")
            else:
                kinds.add("aux")
            lhs, excepts = c.subscripts
            lhs_all.append(list(lhs))
            try:
                pieces.append(self.sub.piece(lhs, excepts, ast))
            except SubscriptError as err:
                self.problems.add(str(err), part=el.name)
                return
            if isinstance(ast, np.ndarray):
                pieces[-1].kind = "values"
        name = str(el.name)
        if "data" in kinds:
            self.problems.add(
                "data variables (:=) are not supported",
                part=name,
                allowed="constants, lookups, INTEG, auxiliaries; --fallback pysd runs it through PySD",
            )
            return
        if "external lookup" in kinds:
            self.problems.add(
                "GET XLS/DIRECT LOOKUPS is not supported",
                part=name,
                allowed="lookups written in the model file; --fallback pysd runs it through PySD",
            )
            return
        if len(kinds) > 1 and kinds != {"constant", "aux"}:
            self.problems.add(
                f"equations of different kinds ({', '.join(sorted(kinds))}) are not supported",
                part=name,
            )
            return
        kind = "aux" if "aux" in kinds else kinds.pop()
        try:
            dims = self.sub.final_dims(lhs_all, name)
        except SubscriptError as err:
            self.problems.add(str(err), part=name)
            return
        var = Var(
            name, self.ns.add(name), kind, dims, pieces, str(el.units or ""), str(el.documentation or "")
        )
        var.limits = tuple(el.limits) if el.limits else (None, None)
        dim_names = tuple(self.sub.dim[d] for d in dims)
        coords = [c for p in pieces for c in p.coords]
        if len(set(coords)) != len(coords):
            self.problems.add("some elements are defined more than once", part=name)
            return
        if dims:
            full = dense_space(dim_names, self.sub.dims)
            var.space = full if set(coords) == set(full.coords) else Space(dim_names, tuple(coords))
        self.vars[var.ident] = var
        self.vars_by_ref[normal(name)] = var

    def _clock(self, controls) -> None:
        values: dict[str, float] = {}

        def value(key: str, seen: tuple[str, ...] = ()) -> float:
            if key in values:
                return values[key]
            el = controls.get(key)
            if el is None:
                raise ValueError(f"the model has no {key.replace('_', ' ').upper()}")
            ast = el.components[0].ast
            if type(ast).__name__ == "ReferenceStructure":
                ref = normal(ast.reference)
                if ref in CONTROL and ref not in seen:
                    v = value(ref, (*seen, key))
                elif ref in self.vars_by_ref and self.vars_by_ref[ref].kind == "constant":
                    v = float(np.asarray(self.vars_by_ref[ref].pieces[0].ast).reshape(-1)[0])
                else:
                    raise Unsupported(f"a {key.replace('_', ' ').upper()} that changes during the run")
            elif isinstance(ast, int | float | np.integer | np.floating):
                v = float(ast)
            else:
                what = f"a {key.replace('_', ' ').upper()}"
                piece = Piece((), ((),), ast)
                var = Var(key, key, "aux", [], [piece])
                self.clock_refs = dict(values)
                if self.depends_on_run(Translator(self, var, piece).top(ast)):
                    raise Unsupported(f"{what} that changes during the run")
                v = self.constant_value(Translator(self, var, piece, "initial").top(ast), what)
            values[key] = v
            return v

        try:
            for key in CONTROL:
                value(key)
        except (Unsupported, ValueError) as err:
            self.problems.add(str(err), part="control")
            return
        self.t0, self.dt = values["initial_time"], values["time_step"]
        self.clock_refs = dict(values)
        self.final, self.saveper = values["final_time"], values["saveper"]
        if self.dt <= 0 or self.saveper <= 0 or self.final < self.t0:
            self.problems.add(
                "the clock needs TIME STEP > 0, SAVEPER > 0 and FINAL TIME >= INITIAL TIME", part="control"
            )

    def _define(self, var: Var) -> None:
        if var.kind == "constant":
            self._constant(var)
        elif var.kind == "lookup":
            self._table(var)
        elif var.kind == "stock":
            self._stock(var)
        else:
            expr = self._assemble(var, self.dynamic_exprs(var))
            self.auxes.append(
                Aux(var.ident, expr, var.space if var.dims else None, var.units, var.doc or var.name)
            )

    def _constant(self, var: Var) -> None:
        pos = {c: i for i, c in enumerate(var.space.coords)}
        values = np.full(len(var.space), np.nan)
        for p in var.pieces:
            v = np.asarray(p.ast, dtype=float).reshape(-1)
            if v.size == 1:
                v = np.full(len(p.coords), v[0])
            if v.size != len(p.coords):
                raise ValueError(f"{v.size} numbers for {len(p.coords)} elements")
            for c, x in zip(p.coords, v):
                values[pos[c]] = x
        lo, hi = var.limits if len(var.limits) == 2 else (None, None)
        lo = None if lo is None or (isinstance(lo, float) and math.isnan(lo)) else float(lo)
        hi = None if hi is None or (isinstance(hi, float) and math.isnan(hi)) else float(hi)
        if (lo is not None and np.any(values < lo)) or (hi is not None and np.any(values > hi)):
            lo = hi = None  # Vensim does not enforce its limits; keep the model loadable
        self.params.append(
            Param(
                var.ident,
                var.space,
                values,
                var.units,
                f"{self.path.name}: constant {var.name!r}",
                var.doc or var.name,
                (lo, hi),
            )
        )

    def _table(self, var: Var) -> None:
        tables = []
        for p in var.pieces:
            lk = p.ast
            tables.append((np.asarray(lk.x, dtype=float), np.asarray(lk.y, dtype=float), p.coords))
        self._add_table(var.ident, var, tables, var.units, var.doc or var.name)

    def _stock(self, var: Var) -> None:
        init_exprs, rates = [], []
        non_negative = False
        for p in var.pieces:
            integ = p.ast
            non_negative = non_negative or bool(getattr(integ, "non_negative", False))
            init_exprs.append(Translator(self, var, p, "initial").top(integ.initial))
        self.stock_names.add(var.ident)
        init_name = var.ident + HIDDEN + "init"
        self.auxes.append(Aux(init_name, self._assemble(var, init_exprs), var.space if var.dims else None))
        for p in var.pieces:
            rates.append(Translator(self, var, p).top(p.ast.flow))
        rate = self._assemble(var, rates)
        if non_negative:
            # PySD's non-negative stocks: the Euler step never takes the stock below zero
            rate = Call("max", (rate, Unary("-", Ref(var.ident)) / Num(self.dt)))
        self.stocks.append(Stock(var.ident, var.space, Ref(init_name), var.units or "", var.doc or var.name))
        self.flows.append(
            Flow(
                var.ident + HIDDEN + "net",
                "inflow",
                rate,
                target=var.ident,
                unit=f"{var.units} per time unit" if var.units else "",
                description=f"net flow into {var.name}",
            )
        )

    # ------------------------------------------------------------------ the spec
    def _spec(self, controls) -> ModelSpec | None:
        dims = {**self.sub.dims, **self.table_dims}
        every = self.saveper
        horizon = math.floor((self.final - self.t0) / every + 1e-9) + 1
        unit = str(getattr(controls.get("final_time"), "units", "") or "")
        user = [v for v in self.vars.values() if v.kind in ("stock", "aux")]
        names = {v.ident: v.name for v in self.vars.values()}
        spec = ModelSpec(
            name=self.path.stem,
            dims=dims,
            stocks=tuple(self.stocks),
            flows=tuple(self.flows),
            params=tuple(self.params),
            auxes=tuple(self.auxes),
            horizon=horizon,
            description=f"imported from {self.path.name}",
            source=str(self.path.name),
            meta={
                "kind": "vensim",
                "allow_negative": True,  # Vensim stocks are any quantity, not only counts of people
                "clock": {"t0": self.t0, "dt": self.dt, "every": every, "final": self.final, "unit": unit},
                "record": tuple(v.ident for v in user),
                "vensim_names": names,
                "vensim_dims": {self.sub.dim[k]: self.sub.names[k] for k in self.sub.elements},
                "lookups": tuple(v.ident for v in self.vars.values() if v.kind == "lookup"),
                "structural": tuple(sorted(self.structural)),
            },
        )
        for msg in spec.check():
            self.problems.add(msg)
        return None if self.problems.errors else spec


def _nan(ast: object) -> bool:
    return bool(np.any(np.isnan(np.asarray(ast, dtype=float))))

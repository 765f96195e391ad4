"""Import Vensim (``.mdl``) and XMILE (``.xmile``, ``.xml``, ``.stmx``) models into Upstream.

PySD parses the file into its abstract model
(``VensimFile(path).get_abstract_model()`` / ``XmileFile``); this module
compiles that abstract model into one Upstream :class:`~simulator.core._spec.ModelSpec`,
which runs in Upstream's vectorised integrator (no PySD code runs during a
simulation):

* subscript ranges become dimensions (:mod:`.subscripts`);
* constants become parameters under their PySD names, so ensembles,
  sensitivity analysis and interventions address them by name;
* lookups become table parameters over an x axis (``lookup(table, x)``): their
  y values are parameters too, addressable by name;
* stocks (``INTEG``) become stocks with one net inflow each, auxiliaries become
  derived values evaluated every step;
* ``SMOOTH``, ``DELAY1``/``DELAY3`` and ``DELAY FIXED`` become hidden stocks
  (:mod:`.stateful`); ``INITIAL``, ``ACTIVE INITIAL`` and initial values are
  evaluated at INITIAL TIME.

Anything else is reported as a problem naming the construct and the variable
(:class:`UnsupportedModel`); :mod:`.fallback` can run such models through PySD.
The model's clock (INITIAL TIME, FINAL TIME, TIME STEP, SAVEPER) becomes the
default time grid of :func:`simulator.simulate`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simulator.core._formulas import Assemble, Binary, Call, Expr, IfElse, Num, Ref, Unary, refs
from simulator.core._model import Model, compiled_model
from simulator.core._problems import InputError, Problems
from simulator.core._spaces import SCALAR, Space, dense_space
from simulator.core._spec import Aux, Flow, ModelSpec, Param, SpecError, Stock
from simulator.vensim._names import Namespace, normal
from simulator.vensim._stateful import Stateful
from simulator.vensim._subscripts import Piece, SubscriptError, Subscripts
from simulator.vensim._translate import Translator, Unsupported

__all__ = [
    "SUFFIXES",
    "UnsupportedModel",
    "check_import",
    "import_model",
    "read_abstract",
    "unsupported_only",
]

VENSIM_SUFFIXES = (".mdl",)
XMILE_SUFFIXES = (".xmile", ".xml", ".stmx")
SUFFIXES = VENSIM_SUFFIXES + XMILE_SUFFIXES
CONTROL = ("initial_time", "final_time", "time_step", "saveper")
HIDDEN = "__"


class UnsupportedModel(InputError):
    """The model uses constructs Upstream does not compile (each problem names one)."""


@dataclass
class Var:
    """One model variable (Vensim element) and its equations."""

    name: str
    ident: str
    kind: str  # constant, lookup, stock, aux
    dims: list[str]
    pieces: list[Piece]
    units: str = ""
    doc: str = ""
    limits: tuple = (None, None)
    space: Space = SCALAR
    dyn: list[Expr] | None = None
    non_negative: bool = False


@dataclass
class Importer:
    """Compiles one abstract model (see the module docstring)."""

    abstract: object
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

    # ------------------------------------------------------------------ reading
    def build(self) -> ModelSpec | None:
        """The spec, or ``None`` with the problems recorded."""
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
        values = {}

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

    # ------------------------------------------------------------------ variables
    def var_by_ref(self, ref: str, owner: str) -> Var:
        """The variable a reference in an equation names."""
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
        """What a bare reference to ``var`` means in ``mode`` (dynamic or initial)."""
        if var.kind in ("constant", "lookup") or mode == "dynamic":
            return Ref(var.ident)
        if var.kind == "stock":
            return Ref(var.ident + HIDDEN + "init")
        if self.is_static(var):
            return Ref(var.ident)
        return Ref(self.init_aux(var))

    def dynamic_exprs(self, var: Var) -> list[Expr]:
        """The translated equations of an auxiliary (translated once)."""
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
        """A subscript range (each element's position, 1, 2, ...) or element (its position) as a number."""
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
        """A hidden parameter holding one equation's table of numbers (in a mixed definition)."""
        name = self.ns.fresh(var.ident + HIDDEN + "values")
        v = np.asarray(piece.ast, dtype=float).reshape(-1)
        space = self.piece_space(var, piece)
        if v.size != len(space):
            raise ValueError(f"{v.size} numbers for {len(space)} elements")
        self.params.append(Param(name, space, v, var.units, f"{self.path.name}: {var.name}", var.name))
        return name

    def is_static(self, var: Var, seen: frozenset[str] = frozenset()) -> bool:
        """Whether an auxiliary depends on parameters only (not on stocks or time)."""
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
        """A hidden derived value holding ``var`` at INITIAL TIME."""
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
        """A table parameter for a WITH LOOKUP in ``var``'s equation (``<variable>_lookup``)."""
        name = self.ns.fresh(var.ident + "_lookup")
        x, y = np.asarray(lookups.x, dtype=float), np.asarray(lookups.y, dtype=float)
        self._add_table(name, None, [(x, y, [()])], "", f"WITH LOOKUP of {var.name}")
        return name

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

    # ------------------------------------------------------------------ hidden stocks
    @property
    def stateful(self) -> Stateful:
        """Builder of SMOOTH/DELAY hidden stocks."""
        return Stateful(self)

    def hidden_names(self, var: Var, kind: str, order: int) -> list[str]:
        """Fresh names ``<var>__<kind><n>_<stage>`` for one stateful call's stages."""
        n = self._hidden_count.get((var.ident, kind), 0) + 1
        self._hidden_count[(var.ident, kind)] = n
        return [f"{var.ident}{HIDDEN}{kind}{n}_{k + 1}" for k in range(order)]

    def add_hidden_stock(self, name: str, var: Var, piece: Piece, initial: Expr, rate: Expr) -> None:
        """A hidden stock on the elements of ``piece`` with one net inflow."""
        space = self.piece_space(var, piece)
        self.stock_names.add(name)
        init_name = name + HIDDEN + "init"
        self.auxes.append(Aux(init_name, _on(initial, space), space if space.dims else None))
        self.stocks.append(
            Stock(name, space, Ref(init_name), "", f"stage of a stateful function in {var.name}")
        )
        self.flows.append(Flow(name + HIDDEN + "net", "inflow", _on(rate, space), target=name))

    def constant_value(self, e: Expr, what: str) -> float:
        """The number a parameter-only scalar expression gives with the default values."""
        from simulator.core._bind import _BINARY, _ELEMENTWISE

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


def _on(e: Expr, space: Space) -> Expr:
    """``e`` spread over ``space`` (a one-piece assembly broadcasts scalars)."""
    return Assemble((e,), (space,)) if space.dims else e


def _nan(ast: object) -> bool:
    return bool(np.any(np.isnan(np.asarray(ast, dtype=float))))


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


def read_abstract(path: Path, problems: Problems):
    """PySD's abstract model of a Vensim or XMILE file, or ``None`` (problem recorded)."""
    suffix = path.suffix.lower()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if suffix in VENSIM_SUFFIXES:
                from pysd.translators.vensim.vensim_file import VensimFile

                f = VensimFile(path)
            else:
                from pysd.translators.xmile.xmile_file import XmileFile

                f = XmileFile(path)
            f.parse()
            return f.get_abstract_model()
    except Exception as err:  # PySD's parser raises many kinds of errors on bad files
        text = str(err).strip().splitlines()
        problems.add(
            f"PySD could not parse the file: {text[0] if text else type(err).__name__}",
            allowed="a Vensim .mdl or XMILE .xmile file PySD 3.14 reads",
        )
        return None


def check_import(path: Path, problems: Problems) -> Model | None:
    """Import a Vensim or XMILE file, recording every problem; ``None`` if it cannot be run."""
    problems.part_kind = "variable"
    abstract = read_abstract(path, problems)
    spec = None if abstract is None else Importer(abstract, path, problems).build()
    if spec is None:
        return None
    return compiled_model(spec, "vensim", path, problems)


def unsupported_only(problems: Problems) -> bool:
    """Whether every error is a construct Upstream does not compile (PySD may still run it)."""
    return bool(problems.errors) and all("not supported" in p.message for p in problems.errors)


def import_model(path: str | Path) -> Model:
    """Import a Vensim or XMILE file as an Upstream model.

    Raises
    ------
    UnsupportedModel
        When the model uses constructs Upstream does not compile (each problem
        names the construct and the variable).
    InputError
        When the file cannot be read.
    """
    path = Path(path)
    problems = Problems(file=path.name, part_kind="variable")
    model = check_import(path, problems)
    if model is not None:
        return model
    cls = UnsupportedModel if unsupported_only(problems) else InputError
    raise cls(problems.errors, problems.warnings)

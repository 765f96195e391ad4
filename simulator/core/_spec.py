"""The one model representation: a validated stock-and-flow specification.

Every model Upstream runs (the surge workbooks, their YAML twins, network
models written by analysts, imported Vensim files) is turned into a
:class:`ModelSpec` and compiled once by :func:`simulator.core._compiler.compile_spec`.

A spec is plain data:

* **dimensions**: named label sets (``group``, ``condition``, ``service`` ...);
* **stocks**: families of people-holding stocks, each on a :class:`~simulator.core._spaces.Space`;
* **flows**, of three linear kinds (the surge model needs nothing else):

  - ``inflow``: people per month arriving from outside (``rate`` may use series and time);
  - ``outflow``: first order, ``rate`` (per month) x the level of ``source``;
  - ``fraction``: ``rate`` (a share, 0..1) x another flow (``of``);

  a flow moves people from ``source`` to ``target`` (either may be absent:
  from outside, out of the model), or, with ``moves=False``, only measures
  (referrals: referred people stay at risk until they start treatment);
* **parameters**: named arrays on a space, each with its unit and source;
* **series**: time series, linearly interpolated between knots, flat beyond the ends;
* **derived values** (``aux``): formulas over parameters, series and time;
* **outputs**: formulas over stocks and flows recorded beside them (contacts).

Flows, parameters and formulas are matched to each other by dimension name,
as in xarray: a ``group`` parameter used in a rate on the path space
``(group, condition, service)`` applies to every path of that group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from simulator.core._formulas import Expr, FormulaError, as_expr, refs
from simulator.core._spaces import SCALAR, Space, SpaceError, dense_space

__all__ = [
    "Aux",
    "Flow",
    "FlowKind",
    "ModelSpec",
    "Output",
    "Param",
    "Series",
    "SpecError",
    "Stock",
]

FlowKind = Literal["inflow", "outflow", "fraction"]
RESERVED = {"time", "t", "dt"}


class SpecError(ValueError):
    """A specification is inconsistent; ``problems`` lists every issue found."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def _space(dims: Sequence[str] | None, coords, labels: Mapping[str, Sequence[str]]) -> Space:
    if isinstance(coords, Space):
        return coords
    dims = tuple(dims or ())
    if coords is None:
        return dense_space(dims, labels) if dims else SCALAR
    rows = []
    for c in coords:
        rows.append((c,) if isinstance(c, str) else tuple(c))
    return Space(dims, tuple(rows))


@dataclass(frozen=True)
class Param:
    """A parameter: one value per element of its space.

    Attributes
    ----------
    values
        Default values, shape ``(n,)``.  At run time any parameter may be given
        a member axis, shape ``(members, n)``.
    bounds
        Allowed range ``(low, high)`` (``None``: open); sampled values are checked against it.
    source
        Where the default values come from (provenance is required in model files).
    """

    name: str
    space: Space
    values: np.ndarray
    unit: str = ""
    source: str = ""
    description: str = ""
    bounds: tuple[float | None, float | None] = (None, None)

    def __post_init__(self) -> None:
        v = np.asarray(self.values, dtype=float).reshape(-1)
        object.__setattr__(self, "values", v)


@dataclass(frozen=True)
class Series:
    """Time series on a space: ``values[i, k]`` at ``times[k]`` (months).

    ``kind="linear"``: linearly interpolated between knots; ``kind="step"``: each
    value holds from its knot until the next (step changes, e.g. capacity).
    Flat beyond both ends either way.
    """

    name: str
    space: Space
    times: np.ndarray
    values: np.ndarray
    unit: str = ""
    source: str = ""
    description: str = ""
    kind: str = "linear"

    def __post_init__(self) -> None:
        t = np.asarray(self.times, dtype=float).reshape(-1)
        v = np.asarray(self.values, dtype=float).reshape(len(self.space), len(t))
        object.__setattr__(self, "times", t)
        object.__setattr__(self, "values", v)


@dataclass(frozen=True)
class Aux:
    """A derived value: a formula over parameters, series, time and other derived values."""

    name: str
    expr: Expr
    space: Space | None = None
    unit: str = ""
    description: str = ""


@dataclass(frozen=True)
class Stock:
    """A family of stocks (people), one per element of ``space``, starting at ``initial``."""

    name: str
    space: Space
    initial: Expr | float = 0.0
    unit: str = "people"
    description: str = ""


@dataclass(frozen=True)
class Flow:
    """A family of flows; see the module docstring for the three kinds.

    Attributes
    ----------
    rate
        ``inflow``: people per month; ``outflow``: per month; ``fraction``: share of ``of``.
    space
        Elements of the flow; defaults to the space of ``of`` (outflow: the
        source stock; fraction: the parent flow) or, for an inflow, of ``target``.
    moves
        ``False`` for a measured flow that moves nobody (its source and target are ignored).
    relabel
        Label maps applied before finding the target element: ``{"stage": {"0-1": "1-2", ...}}``
        moves people to the next stage; ``{"service": {"IAPT": "Crisis"}}`` to another service.
    target_at
        Fixed labels for target dimensions the flow does not have (``{"stage": "0-1"}``).
    tally
        Shadow stocks the flow's value is *also* added to, each ``(stock, relabel, target_at)``:
        a second count of the same people (e.g. waiting lists by wait band), not a second move.
    """

    name: str
    kind: FlowKind
    rate: Expr
    source: str | None = None
    target: str | None = None
    of: str | None = None
    space: Space | None = None
    moves: bool = True
    unit: str = "people per month"
    description: str = ""
    relabel: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    target_at: Mapping[str, str] = field(default_factory=dict)
    tally: tuple[tuple[str, Mapping[str, Mapping[str, str]], Mapping[str, str]], ...] = ()


@dataclass(frozen=True)
class Output:
    """A recorded formula over stocks, flows and parameters (e.g. contacts per month)."""

    name: str
    expr: Expr
    unit: str = ""
    description: str = ""


@dataclass(frozen=True)
class ModelSpec:
    """A whole model: dimensions, stocks, flows, parameters, series, derived values, outputs.

    Use :meth:`build` to construct one from plain Python values (formula
    strings are parsed safely, coordinates become spaces) and :meth:`check`
    to list every structural problem before compiling.
    """

    name: str
    dims: Mapping[str, tuple[str, ...]]
    stocks: tuple[Stock, ...]
    flows: tuple[Flow, ...]
    params: tuple[Param, ...] = ()
    series: tuple[Series, ...] = ()
    auxes: tuple[Aux, ...] = ()
    outputs: tuple[Output, ...] = ()
    horizon: int = 12
    start: str | None = None
    description: str = ""
    source: str = ""
    meta: Mapping[str, object] = field(default_factory=dict)

    # ------------------------------------------------------------------ lookups
    def param(self, name: str) -> Param:
        """The parameter called ``name``."""
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"no parameter {name!r}; parameters: {[p.name for p in self.params]}")

    def stock(self, name: str) -> Stock:
        """The stock family called ``name``."""
        for s in self.stocks:
            if s.name == name:
                return s
        raise KeyError(f"no stock {name!r}")

    def flow(self, name: str) -> Flow:
        """The flow family called ``name``."""
        for f in self.flows:
            if f.name == name:
                return f
        raise KeyError(f"no flow {name!r}")

    def with_params(self, **values: np.ndarray | float) -> ModelSpec:
        """A copy with new default values for some parameters."""
        params = []
        for p in self.params:
            if p.name in values:
                v = np.broadcast_to(np.asarray(values[p.name], dtype=float), p.values.shape)
                p = replace(p, values=v.copy())
            params.append(p)
        unknown = set(values) - {p.name for p in self.params}
        if unknown:
            raise KeyError(f"unknown parameters {sorted(unknown)}")
        return replace(self, params=tuple(params))

    # ------------------------------------------------------------------ construction
    @classmethod
    def build(
        cls,
        name: str,
        dims: Mapping[str, Sequence[str]] | None = None,
        stocks: Sequence[Mapping] = (),
        flows: Sequence[Mapping] = (),
        params: Sequence[Mapping] = (),
        series: Sequence[Mapping] = (),
        auxes: Sequence[Mapping] = (),
        outputs: Sequence[Mapping] = (),
        **kw,
    ) -> ModelSpec:
        """Build a spec from dictionaries (the layout of a YAML network model).

        Each entry takes ``dims`` (names) and optionally ``coords`` (a list of
        label tuples for a sparse space); formulas may be strings.

        Examples
        --------
        >>> spec = ModelSpec.build(
        ...     "decay",
        ...     stocks=[{"name": "x", "initial": 100}],
        ...     params=[{"name": "k", "values": 0.1, "unit": "per month", "source": "example"}],
        ...     flows=[{"name": "out", "kind": "outflow", "source": "x", "rate": "k"}],
        ... )
        """
        labels = {k: tuple(str(x) for x in v) for k, v in (dims or {}).items()}

        def sp(d: Mapping) -> Space:
            return _space(d.get("dims"), d.get("coords"), labels)

        def opt_sp(d: Mapping) -> Space | None:
            return sp(d) if ("dims" in d or "coords" in d) else None

        st = tuple(
            Stock(
                d["name"],
                sp(d),
                as_expr(d.get("initial", 0.0)) if isinstance(d.get("initial", 0.0), str) else _init(d),
                d.get("unit", "people"),
                d.get("description", ""),
            )
            for d in stocks
        )
        fl = tuple(
            Flow(
                d["name"],
                d["kind"],
                as_expr(d["rate"]),
                d.get("source"),
                d.get("target"),
                d.get("of"),
                opt_sp(d),
                bool(d.get("moves", True)),
                d.get("unit", "people per month"),
                d.get("description", ""),
            )
            for d in flows
        )
        pa = []
        for d in params:
            space = sp(d)
            vals = np.broadcast_to(np.asarray(d.get("values", 0.0), dtype=float), (len(space),))
            b = d.get("bounds", (None, None))
            pa.append(
                Param(
                    d["name"],
                    space,
                    vals.copy(),
                    d.get("unit", ""),
                    d.get("source", ""),
                    d.get("description", ""),
                    (b[0], b[1]),
                )
            )
        se = tuple(
            Series(
                d["name"],
                sp(d),
                d["times"],
                d["values"],
                d.get("unit", ""),
                d.get("source", ""),
                d.get("description", ""),
            )
            for d in series
        )
        au = tuple(
            Aux(
                d["name"],
                as_expr(d["expr"]),
                opt_sp(d),
                d.get("unit", ""),
                d.get("description", ""),
            )
            for d in auxes
        )
        ou = tuple(
            Output(d["name"], as_expr(d["expr"]), d.get("unit", ""), d.get("description", ""))
            for d in outputs
        )
        return cls(name, labels, st, fl, tuple(pa), se, au, ou, **kw)

    # ------------------------------------------------------------------ checks
    def check(self) -> list[str]:
        """Every structural problem: unknown names, clashing dimensions, cycles, bad kinds."""
        problems: list[str] = []
        seen: dict[str, str] = {}
        for kind, items in (
            ("stock", self.stocks),
            ("flow", self.flows),
            ("parameter", self.params),
            ("series", self.series),
            ("derived value", self.auxes),
            ("output", self.outputs),
        ):
            for it in items:
                if not it.name.isidentifier():
                    problems.append(f"{kind} name {it.name!r} is not an identifier (letters, digits, _)")
                if it.name in RESERVED:
                    problems.append(f"{kind} name {it.name!r} is reserved")
                if it.name in seen:
                    problems.append(f"name {it.name!r} is used by a {seen[it.name]} and a {kind}")
                seen[it.name] = kind
        for it in (*self.stocks, *self.params, *self.series, *self.flows, *self.auxes):
            space = getattr(it, "space", None)
            if space is None:
                continue
            for d in space.dims:
                if d not in self.dims:
                    problems.append(f"{it.name}: unknown dimension {d!r}")
                    continue
                allowed = set(self.dims[d])
                bad = sorted({lab for lab in space.labels(d) if lab not in allowed})
                if bad:
                    problems.append(f"{it.name}: labels {bad} are not in dimension {d!r}")
        for p in self.params:
            if p.values.shape != (len(p.space),):
                problems.append(f"parameter {p.name}: {p.values.size} values for {len(p.space)} elements")
            elif not np.all(np.isfinite(p.values)):
                problems.append(f"parameter {p.name}: values must be finite numbers")
            lo, hi = p.bounds
            if lo is not None and np.any(p.values < lo):
                problems.append(f"parameter {p.name}: values below the allowed minimum {lo}")
            if hi is not None and np.any(p.values > hi):
                problems.append(f"parameter {p.name}: values above the allowed maximum {hi}")
        for s in self.series:
            if s.times.size == 0 or np.any(np.diff(s.times) <= 0):
                problems.append(f"series {s.name}: times must be strictly increasing")
            if s.kind not in ("linear", "step"):
                problems.append(f"series {s.name}: kind {s.kind!r} is not linear or step")
            if not np.all(np.isfinite(s.values)):
                problems.append(f"series {s.name}: values must be finite numbers")
        stocks = {s.name for s in self.stocks}
        flows = {f.name: f for f in self.flows}
        for f in self.flows:
            if f.kind not in ("inflow", "outflow", "fraction"):
                problems.append(f"flow {f.name}: kind {f.kind!r} is not inflow, outflow or fraction")
                continue
            for role in ("source", "target"):
                v = getattr(f, role)
                if v is not None and v not in stocks:
                    problems.append(f"flow {f.name}: {role} {v!r} is not a stock")
            for stock, _, _ in f.tally:
                if stock not in stocks:
                    problems.append(f"flow {f.name}: tally {stock!r} is not a stock")
            if f.kind == "inflow" and f.source is not None:
                problems.append(f"flow {f.name}: an inflow comes from outside and has no source")
            if f.kind == "outflow" and f.source is None and f.of is None:
                problems.append(f"flow {f.name}: an outflow needs the source stock it is proportional to")
            if f.kind == "outflow" and f.of is not None and f.of not in stocks:
                problems.append(f"flow {f.name}: of {f.of!r} is not a stock")
            if f.kind == "fraction":
                if f.of not in flows:
                    problems.append(f"flow {f.name}: a fraction flow needs of= another flow")
                elif f.of == f.name:
                    problems.append(f"flow {f.name}: is a fraction of itself")
            if f.kind == "inflow" and f.target is None and f.moves:
                problems.append(f"flow {f.name}: an inflow needs a target stock")
        # fraction chains must end
        for f in self.flows:
            chain, g = [f.name], f
            while g.kind == "fraction" and g.of in flows:
                g = flows[g.of]
                if g.name in chain:
                    problems.append(f"flows {' -> '.join([*chain, g.name])} form a cycle")
                    break
                chain.append(g.name)
        known = stocks | set(flows) | {p.name for p in self.params} | {s.name for s in self.series}
        known |= {a.name for a in self.auxes} | {o.name for o in self.outputs} | RESERVED
        for owner, e in (
            *((f"flow {f.name}", f.rate) for f in self.flows),
            *((f"derived value {a.name}", a.expr) for a in self.auxes),
            *((f"output {o.name}", o.expr) for o in self.outputs),
            *((f"stock {s.name} initial", s.initial) for s in self.stocks if isinstance(s.initial, Expr)),
        ):
            for r in sorted(set(refs(e)) - known):
                if r in self.dims:
                    continue
                problems.append(f"{owner}: unknown name {r!r}")
        return problems

    def validate(self) -> ModelSpec:
        """Raise :class:`SpecError` listing every problem, or return ``self``."""
        problems = self.check()
        if problems:
            raise SpecError(problems)
        return self


def _init(d: Mapping) -> float | Expr:
    v = d.get("initial", 0.0)
    if isinstance(v, int | float):
        return float(v)
    arr = np.asarray(v, dtype=float)
    if arr.ndim == 0:
        return float(arr)
    raise SpecError([f"stock {d['name']}: give initial as a number or a formula over parameters"])


__all__ += ["FormulaError", "SpaceError"]

"""The pieces of a model spec: stocks, flows, parameters, series, derived values, outputs.

Each piece is a frozen dataclass on a :class:`~simulator.core._spaces.Space`;
``*_from_dict`` build them from the plain mappings of a YAML network model (see
:meth:`simulator.core._spec.ModelSpec.build`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from simulator.core._formulas import Expr, as_expr
from simulator.core._spaces import SCALAR, Space, dense_space

__all__ = [
    "RESERVED",
    "Aux",
    "Flow",
    "FlowKind",
    "Output",
    "Param",
    "Series",
    "SpecError",
    "Stock",
    "pieces_from_dicts",
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


def _init(d: Mapping) -> float | Expr:
    v = d.get("initial", 0.0)
    if isinstance(v, int | float):
        return float(v)
    arr = np.asarray(v, dtype=float)
    if arr.ndim == 0:
        return float(arr)
    raise SpecError([f"stock {d['name']}: give initial as a number or a formula over parameters"])


class _Spaces:
    """The space a piece's ``dims`` and ``coords`` entries describe, over the model's labels."""

    def __init__(self, labels: Mapping[str, Sequence[str]]):
        self.labels = labels

    def of(self, d: Mapping) -> Space:
        return _space(d.get("dims"), d.get("coords"), self.labels)

    def optional(self, d: Mapping) -> Space | None:
        return self.of(d) if ("dims" in d or "coords" in d) else None


def _stock(d: Mapping, sp: _Spaces) -> Stock:
    return Stock(
        d["name"],
        sp.of(d),
        as_expr(d.get("initial", 0.0)) if isinstance(d.get("initial", 0.0), str) else _init(d),
        d.get("unit", "people"),
        d.get("description", ""),
    )


def _flow(d: Mapping, sp: _Spaces) -> Flow:
    return Flow(
        d["name"],
        d["kind"],
        as_expr(d["rate"]),
        d.get("source"),
        d.get("target"),
        d.get("of"),
        sp.optional(d),
        bool(d.get("moves", True)),
        d.get("unit", "people per month"),
        d.get("description", ""),
    )


def _param(d: Mapping, sp: _Spaces) -> Param:
    space = sp.of(d)
    vals = np.broadcast_to(np.asarray(d.get("values", 0.0), dtype=float), (len(space),))
    b = d.get("bounds", (None, None))
    return Param(
        d["name"],
        space,
        vals.copy(),
        d.get("unit", ""),
        d.get("source", ""),
        d.get("description", ""),
        (b[0], b[1]),
    )


def _series(d: Mapping, sp: _Spaces) -> Series:
    return Series(
        d["name"],
        sp.of(d),
        d["times"],
        d["values"],
        d.get("unit", ""),
        d.get("source", ""),
        d.get("description", ""),
    )


def _aux(d: Mapping, sp: _Spaces) -> Aux:
    return Aux(d["name"], as_expr(d["expr"]), sp.optional(d), d.get("unit", ""), d.get("description", ""))


def _output(d: Mapping) -> Output:
    return Output(d["name"], as_expr(d["expr"]), d.get("unit", ""), d.get("description", ""))


def pieces_from_dicts(
    labels: Mapping[str, Sequence[str]],
    stocks: Sequence[Mapping] = (),
    flows: Sequence[Mapping] = (),
    params: Sequence[Mapping] = (),
    series: Sequence[Mapping] = (),
    auxes: Sequence[Mapping] = (),
    outputs: Sequence[Mapping] = (),
) -> tuple[
    tuple[Stock, ...],
    tuple[Flow, ...],
    tuple[Param, ...],
    tuple[Series, ...],
    tuple[Aux, ...],
    tuple[Output, ...],
]:
    """Build the pieces of a spec from mappings (the layout of a YAML network model).

    Parameters
    ----------
    labels
        Labels of each dimension.
    stocks, flows, params, series, auxes, outputs
        One mapping per piece: its fields by name, ``dims`` (names) and optionally
        ``coords`` (label tuples of a sparse space); formulas may be strings.

    Returns
    -------
    tuple
        Stocks, flows, parameters, series, derived values and outputs, each a tuple.
    """
    sp = _Spaces(labels)
    return (
        tuple(_stock(d, sp) for d in stocks),
        tuple(_flow(d, sp) for d in flows),
        tuple(_param(d, sp) for d in params),
        tuple(_series(d, sp) for d in series),
        tuple(_aux(d, sp) for d in auxes),
        tuple(_output(d) for d in outputs),
    )

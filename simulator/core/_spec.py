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
from typing import Any

import numpy as np

from simulator.core._formulas import FormulaError
from simulator.core._spaces import SpaceError
from simulator.core._spec_checks import spec_problems
from simulator.core._spec_parts import (
    RESERVED,
    Aux,
    Flow,
    FlowKind,
    Output,
    Param,
    Series,
    SpecError,
    Stock,
    pieces_from_dicts,
)

__all__ = [
    "RESERVED",
    "Aux",
    "Flow",
    "FlowKind",
    "FormulaError",
    "ModelSpec",
    "Output",
    "Param",
    "Series",
    "SpaceError",
    "SpecError",
    "Stock",
]


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
    meta: Mapping[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ lookups
    def param(self, name: str) -> Param:
        """The parameter called ``name``.

        Parameters
        ----------
        name
            Parameter name.

        Returns
        -------
        Param
            The parameter.
        """
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"no parameter {name!r}; parameters: {[p.name for p in self.params]}")

    def stock(self, name: str) -> Stock:
        """The stock family called ``name``.

        Parameters
        ----------
        name
            Stock name.

        Returns
        -------
        Stock
            The stock family.
        """
        for s in self.stocks:
            if s.name == name:
                return s
        raise KeyError(f"no stock {name!r}")

    def flow(self, name: str) -> Flow:
        """The flow family called ``name``.

        Parameters
        ----------
        name
            Flow name.

        Returns
        -------
        Flow
            The flow family.
        """
        for f in self.flows:
            if f.name == name:
                return f
        raise KeyError(f"no flow {name!r}")

    def with_params(self, **values: np.ndarray | float) -> ModelSpec:
        """A copy with new default values for some parameters.

        Parameters
        ----------
        **values
            New values by parameter name (broadcast to the parameter's elements, in its unit).

        Returns
        -------
        ModelSpec
            The copy.
        """
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

        Parameters
        ----------
        name
            Model name.
        dims
            Labels of each dimension.
        stocks, flows, params, series, auxes, outputs
            One mapping per piece, its fields by name (see :class:`Stock`, :class:`Flow`,
            :class:`Param`, :class:`Series`, :class:`Aux`, :class:`Output`).
        **kw
            Other fields of the spec (``horizon`` in months, ``start``, ``meta`` ...).

        Returns
        -------
        ModelSpec
            The spec (not yet checked: see :meth:`check`).

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
        pieces = pieces_from_dicts(labels, stocks, flows, params, series, auxes, outputs)
        return cls(name, labels, *pieces, **kw)

    # ------------------------------------------------------------------ checks
    def check(self) -> list[str]:
        """Every structural problem: unknown names, clashing dimensions, cycles, bad kinds.

        Returns
        -------
        list of str
            The problems in words (empty: none).
        """
        return spec_problems(
            self.dims, self.stocks, self.flows, self.params, self.series, self.auxes, self.outputs
        )

    def validate(self) -> ModelSpec:
        """Raise :class:`SpecError` listing every problem, or return ``self``.

        Returns
        -------
        ModelSpec
            ``self``, when it has no problem.

        Raises
        ------
        SpecError
            Listing every problem (see :meth:`check`).
        """
        problems = self.check()
        if problems:
            raise SpecError(problems)
        return self

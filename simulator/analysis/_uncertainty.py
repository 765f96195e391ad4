"""Uncertain parameters: groups of parameter elements with a distribution, applied per member.

An :class:`UncertaintyGroup` names a parameter, selects some of its elements
by label (``{"group": ["Parents"], "condition": ["Anxiety"]}``; nothing
selected means every element), and says how a draw changes them:

* ``apply: scale`` multiplies the model's values (the draw is a relative
  factor, e.g. triangular 0.8 / 1 / 1.2), ``set`` replaces them, ``add``
  shifts them; ``multiplier`` sets a stratified parameter's stratum multipliers
  (the draw replaces the multiplier the model's strata declaration gave the
  selected categories: value = unstratified value x draw);
* ``mode: together`` uses one draw per member for every selected element
  (they move together: "every condition rate of a group"); ``independent``
  draws each element separately.

A :class:`Design` turns uniform draws ``(members, columns)`` into parameter
arrays with a member axis, then applies the model's constraints: values are
clipped to each parameter's allowed range, and sum constraints (the surge
model's condition rates of a group total at most 1) scale offending members'
values down proportionally.  The number of values clipped or rescaled is
counted so runs can report it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from simulator.analysis._distributions import Distribution
from simulator.core._spec import ModelSpec

__all__ = ["APPLY", "MODES", "Design", "UncertaintyGroup"]

APPLY = ("scale", "set", "add", "multiplier")
MODES = ("together", "independent")


@dataclass(frozen=True)
class UncertaintyGroup:
    """One uncertain quantity (or class of quantities) of a model.

    Attributes
    ----------
    name
        Name used in reports and sensitivity indices (and to key its random draws).
    parameter
        Model parameter it changes.
    select
        Labels per dimension selecting elements; empty selects all.
    distribution
        Distribution of the draw.
    apply, mode
        See the module docstring.
    source
        How the range was derived (required in scenario files).
    """

    name: str
    parameter: str
    distribution: Distribution
    select: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    apply: str = "scale"
    mode: str = "together"
    source: str = ""


@dataclass
class _Resolved:
    group: UncertaintyGroup
    index: np.ndarray
    columns: list[str]
    own: np.ndarray | None = None  # apply: multiplier: the model's own multipliers of the selected elements


def _own_multipliers(spec: ModelSpec, g: UncertaintyGroup, space) -> np.ndarray | str:
    """The strata multipliers in each element of ``g``'s parameter (or why there are none).

    Only the stratifiers ``g`` selects on count (all the parameter's stratifiers if it selects none).
    """
    meta = spec.meta if isinstance(spec.meta, Mapping) else {}
    strata = [s for s in meta.get("strata", ()) if s.name in space.dims]
    if not strata:
        return (
            f"apply: multiplier needs a parameter a strata declaration multiplies; "
            f"{g.parameter} has dimensions {list(space.dims)} and no stratum"
        )
    chosen = [s for s in strata if s.name in g.select] or strata
    own = np.ones(len(space))
    for s in chosen:
        k = space.dims.index(s.name)
        m = np.asarray(s.multipliers.get(g.parameter, ((1.0,) * len(s.categories), ""))[0], dtype=float)
        own *= m[[s.categories.index(c[k]) for c in space.coords]]
    return own


class Design:
    """Uncertainty groups resolved against a model: columns of draws -> parameter arrays.

    Raises
    ------
    ValueError
        If a group names an unknown parameter, dimension or label (all problems listed).
    """

    def __init__(self, spec: ModelSpec, groups: Sequence[UncertaintyGroup]):
        self.spec = spec
        self.groups = list(groups)
        problems = []
        self._resolved: list[_Resolved] = []
        names = [g.name for g in groups]
        for dup in sorted({n for n in names if names.count(n) > 1}):
            problems.append(f"uncertainty group name {dup!r} is used twice")
        params = {p.name: p for p in spec.params}
        for g in groups:
            p = params.get(g.parameter)
            if p is None:
                problems.append(
                    f"{g.name}: unknown parameter {g.parameter!r}; parameters: {', '.join(params)}"
                )
                continue
            if g.apply not in APPLY:
                problems.append(f"{g.name}: apply {g.apply!r} is not one of {', '.join(APPLY)}")
            if g.mode not in MODES:
                problems.append(f"{g.name}: mode {g.mode!r} is not one of {', '.join(MODES)}")
            mask = np.ones(len(p.space), dtype=bool)
            for dim, labels in g.select.items():
                if dim not in p.space.dims:
                    problems.append(
                        f"{g.name}: parameter {p.name} has no dimension {dim!r}; it has {list(p.space.dims)}"
                    )
                    continue
                have = p.space.labels(dim)
                bad = [lab for lab in labels if lab not in set(have)]
                if bad:
                    problems.append(f"{g.name}: {dim} {bad} not in parameter {p.name}")
                mask &= np.isin(np.asarray(have, dtype=object), list(labels))
            index = np.flatnonzero(mask)
            if len(index) == 0 and not problems:
                problems.append(f"{g.name}: the selection matches no element of {p.name}")
            if g.mode == "independent":
                cols = [f"{g.name}[{', '.join(p.space.coords[i])}]" for i in index]
            else:
                cols = [g.name]
            own = _own_multipliers(spec, g, p.space) if g.apply == "multiplier" else None
            if isinstance(own, str):
                problems.append(f"{g.name}: {own}")
                own = None
            self._resolved.append(_Resolved(g, index, cols, None if own is None else own[index]))
        if problems:
            raise ValueError("; ".join(problems))
        meta = spec.meta if isinstance(spec.meta, Mapping) else {}
        # sum constraints written by the model's reader: {"param", "sum_over", "max"} mappings
        self.constraints: list[Mapping[str, Any]] = list(cast("Iterable[Any]", meta.get("constraints", ())))

    @property
    def columns(self) -> list[str]:
        """Names of the draw columns, in order."""
        return [c for r in self._resolved for c in r.columns]

    @property
    def parameters(self) -> list[str]:
        """Parameters the design changes."""
        return list(dict.fromkeys(r.group.parameter for r in self._resolved))

    def group_columns(self) -> dict[str, list[int]]:
        """Column positions of each group (for grouped sensitivity analysis).

        Returns
        -------
        dict
            Group name -> column positions in the draws.
        """
        out, k = {}, 0
        for r in self._resolved:
            out[r.group.name] = list(range(k, k + len(r.columns)))
            k += len(r.columns)
        return out

    def values(self, u: np.ndarray) -> dict[str, np.ndarray]:
        """Each group's drawn values: name -> ``(members, 1 or elements)``.

        Inverse CDFs (scipy's beta for PERT takes ~1 microsecond a value) run
        on all cores over slices of members; the result does not depend on the slicing.

        Parameters
        ----------
        u
            Uniform draws ``(members, columns)`` in 0..1.

        Returns
        -------
        dict
            Group name -> values ``(members, 1 or elements)`` in the parameter's unit.
        """
        u = np.clip(u, 1e-12, 1 - 1e-12)  # open interval: ppf(0 or 1) is infinite for unbounded laws
        jobs, k = [], 0
        for r in self._resolved:
            w = len(r.columns)
            jobs.append((r.group, k, w))
            k += w
        m = u.shape[0]
        if m * k < 200_000:
            return {g.name: g.distribution.ppf(u[:, k0 : k0 + w]) for g, k0, w in jobs}
        # large blocks: every group's columns in halves of the members, on forked workers
        # (inverse CDFs such as PERT's cost about 1 microsecond a value)
        from simulator.core._workers import parallel_map

        cuts = [0, m // 2, m]
        parts = [(g, k0, w, a, b) for g, k0, w in jobs for a, b in itertools.pairwise(cuts)]
        got = parallel_map(lambda p_: p_[0].distribution.ppf(u[p_[3] : p_[4], p_[1] : p_[1] + p_[2]]), parts)
        return {g.name: np.concatenate([got[2 * i], got[2 * i + 1]]) for i, (g, _, _) in enumerate(jobs)}

    def apply(
        self, u: np.ndarray, counts: dict[str, int] | None = None, drawn: dict[str, np.ndarray] | None = None
    ) -> dict[str, np.ndarray]:
        """Parameter arrays ``(members, n)`` for the draws ``u`` ``(members, columns)``.

        ``counts`` (if given) accumulates how many values were clipped to a
        parameter's range or rescaled by a sum constraint; ``drawn`` passes
        :meth:`values` already computed for ``u``.

        Parameters
        ----------
        u
            Uniform draws ``(members, columns)`` in 0..1.
        counts
            Parameter name -> values clipped or rescaled, added to.
        drawn
            :meth:`values` of ``u``, if already computed.

        Returns
        -------
        dict
            Parameter name -> values ``(members, n)`` in the parameter's unit.
        """
        m = u.shape[0]
        params = {p.name: p for p in self.spec.params}
        out: dict[str, np.ndarray] = {}
        if drawn is None:
            drawn = self.values(u)
        for r in self._resolved:
            g = r.group
            if g.parameter not in out:
                out[g.parameter] = np.repeat(params[g.parameter].values[None, :], m, axis=0)
            arr = out[g.parameter]
            v = drawn[g.name]
            cur = arr[:, r.index]
            if g.apply == "scale":
                arr[:, r.index] = cur * v
            elif g.apply == "multiplier":
                arr[:, r.index] = cur * (v / r.own)
            elif g.apply == "add":
                arr[:, r.index] = cur + v
            else:
                arr[:, r.index] = np.broadcast_to(v, cur.shape)
        for name, arr in out.items():
            lo, hi = params[name].bounds
            if lo is not None or hi is not None:
                clipped = np.clip(arr, lo, hi)
                if counts is not None:
                    counts[f"clipped {name}"] = counts.get(f"clipped {name}", 0) + int(np.sum(clipped != arr))
                out[name] = clipped
        for c in self.constraints:
            name = c["param"]
            if name not in out:
                continue
            p = params[name]
            keep = tuple(d for d in p.space.dims if d not in c["sum_over"])
            seg = p.space.projection(p.space.sub(keep))
            arr = out[name]
            sums = np.zeros((m, seg.max() + 1))
            for j, k in enumerate(seg):  # column by column: the order (and sums) of np.add.at, 50x faster
                sums[:, k] += arr[:, j]
            over = sums > c["max"]
            if over.any():
                factor = np.where(over, c["max"] / np.where(over, sums, 1.0), 1.0)
                arr *= factor[:, seg]
                if counts is not None:
                    counts[f"rescaled {name}"] = counts.get(f"rescaled {name}", 0) + int(over.sum())
        return out

"""Interventions resolved against a model: parameter indices, draws, effects over time, reach.

:class:`InterventionEngine` turns the interventions of the packages compared
into what a run needs: each intervention's parameter elements in scope, its
drawn effect x coverage per member, a hook that applies a package's effects as
time-varying multipliers inside the compiled model, and the recorded flows that
count the people it reaches (for per-person costs).  Which flows count people is
the model kind's answer (:meth:`~simulator.core.Model.reach_flows`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from simulator.analysis._appraisal_levers import Intervention, Package, element_weights, ramp, scoped_at_risk
from simulator.core._kernel import RecordItem
from simulator.core._model import Model
from simulator.core._spaces import aggregation_matrix
from simulator.core._strata_transform import strata_of

__all__ = ["InterventionEngine", "reached"]


def reached(raw: Mapping[str, np.ndarray], iv: Intervention) -> np.ndarray:
    """Monthly people in an intervention's reach ``(m, T)``, summed over its recorded flows.

    Parameters
    ----------
    raw
        Recorded series of a chunk of members: name -> ``(m, T, n_out)``.
    iv
        The intervention (its reach was recorded by :meth:`InterventionEngine.reach_items`).

    Returns
    -------
    numpy.ndarray
        People reached per member and reported month ``(m, T)``.
    """
    key = f"reach {iv.name}|"
    return sum(v[:, :, 0] for n, v in raw.items() if n.startswith(key))  # type: ignore[return-value]


@dataclass
class _Resolved:
    iv: Intervention
    param: str
    index: np.ndarray  # elements in scope (relative/absolute), or from-paths (diversion)
    to_index: np.ndarray | None = None  # diversion: to-paths
    to_share: np.ndarray | None = None  # diversion: share of each to-path within its (g, c)
    seg_from: np.ndarray | None = None  # diversion: (g, c) segment of each from-path
    seg_to: np.ndarray | None = None
    n_seg: int = 0
    weights: np.ndarray | None = None  # coverage of each element in index relative to the stated one (strata)


def _scope_mask(iv: Intervention, p, problems: list[str]) -> np.ndarray:
    """Elements of parameter ``p`` in the intervention's scope; problems name what does not match."""
    mask = np.ones(len(p.space), dtype=bool)
    for dim, labels in iv.scope.items():
        if dim not in p.space.dims:
            problems.append(f"{iv.name}: parameter {p.name} has no dimension {dim!r}")
            continue
        have = np.asarray(p.space.labels(dim), dtype=object)
        bad = [lab for lab in labels if lab not in set(have)]
        if bad:
            problems.append(f"{iv.name}: {dim} {bad} not in the model")
        mask &= np.isin(have, list(labels))
    return mask


def _diversion(iv: Intervention, p, mask: np.ndarray) -> _Resolved:
    """A diversion's from- and to-paths, their (group, condition) segments and the to-paths' shares."""
    svc = np.asarray(p.space.labels("service"), dtype=object)
    frm = np.flatnonzero(mask & np.isin(svc, list(iv.divert_from)))
    to = np.flatnonzero(mask & np.isin(svc, list(iv.divert_to)))
    pair = p.space.projection(p.space.sub(("group", "condition")))
    seg_ids, seg = np.unique(pair[np.r_[frm, to]], return_inverse=True)
    seg_from, seg_to = seg[: len(frm)], seg[len(frm) :]
    base = p.values[to]
    tot = np.bincount(seg_to, weights=base, minlength=len(seg_ids))
    cnt = np.bincount(seg_to, minlength=len(seg_ids)).astype(float)
    share = np.where(tot[seg_to] > 0, base / np.where(tot[seg_to] > 0, tot[seg_to], 1), 1 / cnt[seg_to])
    return _Resolved(iv, p.name, frm, to, share, seg_from, seg_to, len(seg_ids))


class InterventionEngine:
    """Interventions resolved against a model: parameter indices, draws, reach, costs.

    Parameters
    ----------
    model
        The model (already carrying every diversion's paths, see
        :meth:`~simulator.core.Model.with_diversion_paths`).
    interventions
        Every intervention of every package compared.

    Raises
    ------
    ValueError
        Listing every intervention whose parameter, dimensions or labels the model lacks.
    """

    def __init__(self, model: Model, interventions: Sequence[Intervention]):
        self.model = model
        params = {p.name: p for p in model.spec.params}
        self.resolved: dict[str, _Resolved] = {}
        problems: list[str] = []
        for iv in interventions:
            if iv.name in self.resolved:
                continue
            p = params.get(iv.target)
            if p is None:
                problems.append(f"{iv.name}: the model has no parameter {iv.target!r}")
                continue
            mask = _scope_mask(iv, p, problems)
            if iv.lever == "diversion":
                self.resolved[iv.name] = _diversion(iv, p, mask)
                continue
            idx = np.flatnonzero(mask)
            if len(idx) == 0:
                problems.append(f"{iv.name}: the scope matches no element of {p.name}")
            try:  # coverage shared between strata (proportionate universalism)
                w = element_weights(iv, p.space, strata_of(model))
            except ValueError as err:
                problems.append(str(err))
                w = None
            self.resolved[iv.name] = _Resolved(iv, p.name, idx, weights=None if w is None else w[idx])
        if problems:
            raise ValueError("; ".join(problems))

    # ------------------------------------------------------------------ draws
    def columns(self) -> list[str]:
        """Draw columns: an effect per intervention, and a coverage where it is uncertain.

        Returns
        -------
        list of str
            Column names for a :class:`~simulator.analysis.Sampler`.
        """
        cols = []
        for name, r in self.resolved.items():
            cols.append(f"intervention {name}: effect")
            if not isinstance(r.iv.coverage, float):
                cols.append(f"intervention {name}: coverage")
        return cols

    def amplitudes(self, u: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Each intervention's drawn effect x coverage, and its coverage.

        Parameters
        ----------
        u
            Uniform draws ``(m, len(columns()))``.

        Returns
        -------
        tuple of dict
            Intervention name -> effect x coverage ``(m, 1)``, and name -> coverage ``(m, 1)``.
        """
        amp, cov = {}, {}
        k = 0
        u = np.clip(u, 1e-12, 1 - 1e-12)
        for name, r in self.resolved.items():
            e = r.iv.effect.ppf(u[:, k : k + 1])
            k += 1
            if isinstance(r.iv.coverage, float):
                c = np.full_like(e, r.iv.coverage)
            else:
                c = np.clip(r.iv.coverage.ppf(u[:, k : k + 1]), 0.0, 1.0)
                k += 1
            amp[name] = e * c
            cov[name] = c
        return amp, cov

    # ------------------------------------------------------------------ parameters over time
    def hook(self, package: Package, amp: Mapping[str, np.ndarray]) -> Callable:
        """A hook applying ``package`` over time.

        Parameters
        ----------
        package
            The package whose interventions act.
        amp
            Drawn effect x coverage per intervention, from :meth:`amplitudes`.

        Returns
        -------
        callable
            ``(values, start, stop) -> (values, run_arrays kwargs)`` for members ``start .. stop - 1``.
        """
        ivs = [self.resolved[iv.name] for iv in package.interventions]
        touched = sorted({r.param for r in ivs})
        bounds = {p.name: p.bounds for p in self.model.spec.params}

        def param_hook(values: dict[str, np.ndarray], start: int, stop: int):
            if not ivs:
                return values, {}
            arrays = {f"__amp__{r.iv.name}": amp[r.iv.name][start:stop] for r in ivs}
            # one entry per chunk (chunks run on threads): the same parameter set is returned,
            # by identity, while the ramps do not move, so the kernel reuses its coefficients
            cache: dict[int, tuple[tuple[float, ...], Mapping[str, np.ndarray]]] = {}

            def at(sub: Mapping[str, np.ndarray], t: float) -> Mapping[str, np.ndarray]:
                key = tuple(float(ramp(t, r.iv.start, r.iv.ramp_months, r.iv.end)) for r in ivs)
                hit = cache.get(id(sub))
                if hit is not None and hit[0] == key:
                    return hit[1]
                out = sub if not any(key) else _apply(sub, ivs, key, touched, bounds)
                cache[id(sub)] = (key, out)
                return out

            return values, {"varying": frozenset(touched), "param_at": at, "arrays": arrays}

        return param_hook

    # ------------------------------------------------------------------ reach and costs
    def added_start_items(self, packages: Sequence[Package]) -> list[RecordItem]:
        """Starts in scope of every ``added_starts`` intervention, recorded in the baseline run.

        Parameters
        ----------
        packages
            Every package compared.

        Returns
        -------
        list of RecordItem
            Monthly starts in each such intervention's scope.
        """
        ivs = [iv for p in packages for iv in p.interventions if iv.reach == "added_starts" and iv.per_person]
        return self.reach_items(Package("added", tuple({iv.name: iv for iv in ivs}.values())))

    def reach_items(self, package: Package) -> list[RecordItem]:
        """Recorded monthly referrals or starts in each intervention's scope (for per-person costs).

        Parameters
        ----------
        package
            The package run.

        Returns
        -------
        list of RecordItem
            ``reach NAME|FLOW`` items, one per intervention costed by flows and per flow
            that counts its reach (:meth:`~simulator.core.Model.reach_flows`).
        """
        cm = self.model.compiled
        items = []
        for iv in package.interventions:
            if iv.reach == "population" or iv.per_person == 0:
                continue
            for flow in self.model.reach_flows(iv.reach):
                space = cm.flow_spaces[flow]
                mask = np.ones(len(space), dtype=bool)
                for dim, labels in iv.scope.items():
                    if dim in space.dims:
                        mask &= np.isin(np.asarray(space.labels(dim), dtype=object), list(labels))
                if iv.lever == "diversion":
                    svc = np.asarray(space.labels("service"), dtype=object)
                    mask &= np.isin(svc, list(iv.divert_from))
                weights = mask.astype(float)
                if iv.allocation is not None and iv.allocation.by in space.dims:  # coverage shared by stratum
                    w = element_weights(iv, space, strata_of(self.model))
                    weights = weights if w is None else weights * w
                matrix = aggregation_matrix(np.zeros(len(space), np.intp), 1, weights)
                items.append(RecordItem(f"reach {iv.name}|{flow}", matrix, 1, source=flow))
        return items

    def population_reach(
        self, iv: Intervention, values: Mapping[str, np.ndarray], cov: np.ndarray
    ) -> np.ndarray:
        """Coverage x the scoped groups' at-risk population (size x pcnt / 100), per member.

        Parameters
        ----------
        iv
            An intervention costed per person of the population.
        values
            The members' drawn parameter values (``size`` and ``pcnt`` if uncertain).
        cov
            The members' coverage ``(m, 1)``.

        Returns
        -------
        numpy.ndarray
            People reached per member ``(m,)``.
        """
        return cov[:, 0] * scoped_at_risk(self.model.spec, values, iv)


def _apply(sub, ivs, key, touched, bounds):
    out = dict(sub)
    arrays = {p: np.array(sub[p], dtype=float, copy=True) for p in touched}
    rows = max(a.shape[0] for a in [*arrays.values(), *(sub[f"__amp__{r.iv.name}"] for r in ivs)])
    arrays = {
        p: np.asfortranarray(np.repeat(a, rows, axis=0)) if a.shape[0] == 1 and rows > 1 else a
        for p, a in arrays.items()
    }
    # relative effects multiply, then absolute effects add, then diversions move weight
    order = sorted(
        range(len(ivs)), key=lambda i: {"relative": 0, "absolute": 1}.get(ivs[i].iv.effect_type, 0)
    )
    order = [i for i in order if ivs[i].iv.lever != "diversion"] + [
        i for i in order if ivs[i].iv.lever == "diversion"
    ]
    for i in order:
        r, k = ivs[i], key[i]
        if k == 0:
            continue
        a = sub[f"__amp__{r.iv.name}"] * k  # (rows, 1)
        if r.weights is not None:
            a = a * r.weights  # (rows, elements in scope)
        arr = arrays[r.param]
        if r.iv.lever == "diversion":
            moved = arr[:, r.index] * a
            arr[:, r.index] -= moved
            seg_moved = np.zeros((arr.shape[0], r.n_seg))
            np.add.at(seg_moved.T, r.seg_from, moved.T)
            arr[:, r.to_index] += seg_moved[:, r.seg_to] * r.to_share
        elif r.iv.effect_type == "relative":
            arr[:, r.index] *= 1.0 + a
        else:
            arr[:, r.index] += a
    for p, arr in arrays.items():
        lo, hi = bounds[p]
        if lo is not None or hi is not None:
            np.clip(arr, lo, hi, out=arr)
        out[p] = arr
    return out

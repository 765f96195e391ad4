"""The block loop of an appraisal: the baseline and every package on the same members.

Every block of members draws the scenario's uncertainty once; the baseline and
each package then run on those draws, and each chunk of a run is reduced where it
ran (:class:`_ChunkReducer`) to the per-member figures the model kind asks for
(:meth:`~simulator.core.Model.appraisal_reduce`) and the package's cost.  Nothing
of a run is kept beyond them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from simulator.analysis._appraisal_engine import InterventionEngine, reached
from simulator.analysis._appraisal_levers import Intervention, Package, ramp
from simulator.analysis._sampling import Sampler
from simulator.analysis._uncertainty import Design
from simulator.core._kernel import RecordItem
from simulator.core._kind import AppraisalMeasures
from simulator.core._model import Model
from simulator.core._run import TimeGrid, make_record, prepare_params, run_arrays
from simulator.core._workers import can_fork, shared_empty

__all__ = ["APPRAISE_BLOCK", "PackageRuns"]

#: members per block of :func:`~simulator.analysis.appraise` (every member at once up to this many)
APPRAISE_BLOCK = 16_384


@dataclass
class _ChunkReducer:
    """One run's per-member figures from a chunk's recorded series (called where the chunk ran).

    Rows ``a0 + c0 .. a0 + c1 - 1`` of the store are this chunk's members; the
    baseline run (``k == 0``) also keeps its monthly reach for interventions
    costed by added starts.
    """

    runs: PackageRuns
    k: int
    pkg: Package
    a0: int
    pop_reach: Mapping[str, np.ndarray]

    def __call__(self, c0: int, c1: int, raw: Mapping[str, np.ndarray]) -> None:
        r, st, k = self.runs, self.runs.store, self.k
        i0, i1 = self.a0 + c0, self.a0 + c1
        for name, value in r.model.appraisal_reduce(raw, r.measures).items():
            st[name][k, i0:i1] = value
        if k == 0:
            for name, iv in r.added.items():
                r.base_reach[name][i0:i1] = reached(raw, iv)
        cost = np.zeros(c1 - c0)
        for iv in self.pkg.interventions:
            cost += iv.fixed_per_month * iv.active_months(r.months)
            if iv.per_person:
                cost += iv.per_person * self._reached(iv, raw, c0, c1, i0, i1)
        st["cost"][k, i0:i1] = cost

    def _reached(self, iv: Intervention, raw, c0: int, c1: int, i0: int, i1: int) -> np.ndarray:
        """People an intervention reached, per member of the chunk (for its per-person cost)."""
        r = self.runs
        if iv.reach == "population":
            return self.pop_reach[iv.name][c0:c1]
        if iv.reach == "added_starts":
            more = reached(raw, iv) - r.base_reach[iv.name][i0:i1]
            return np.maximum(0.0, more.sum(axis=1))
        share = ramp(r.report_times, iv.start, iv.ramp_months, iv.end)
        flow = reached(raw, iv)  # (m, T) per month
        return r.cov[iv.name][i0:i1, 0] * (flow * share[None, :]).sum(axis=1)


@dataclass
class PackageRuns:
    """The baseline (first) and every package run on common draws; per-member figures in ``store``.

    Parameters
    ----------
    model
        The model, carrying every diversion's paths.
    engine
        The interventions resolved against it.
    design
        The scenario's uncertainty, resolved on ``model``.
    runs
        The baseline (an empty package) and the packages, in order.
    measures
        What the model kind measures of each run.
    members, months, grid
        Ensemble size, horizon (months) and time grid.
    sampler, seed
        How members draw the uncertainty and the interventions' effects.
    """

    model: Model
    engine: InterventionEngine
    design: Design
    runs: Sequence[Package]
    measures: AppraisalMeasures
    members: int
    months: int
    grid: TimeGrid
    sampler: str
    seed: int
    #: per-member figures, ``(run, member, ...)``, the cost ``(run, member)`` and member figures
    store: dict[str, np.ndarray] = field(default_factory=dict, init=False)
    #: the baseline's monthly reach of each intervention costed by added starts ``(member, T)``
    base_reach: dict[str, np.ndarray] = field(default_factory=dict, init=False)
    added: dict[str, Intervention] = field(default_factory=dict, init=False)
    #: dimensions of the member figures (e.g. population by group)
    member_dims: dict[str, tuple[str, ...]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.report_times = np.asarray(self.grid.report_times)
        u_iv = Sampler(self.sampler, self.seed, tuple(self.engine.columns()), self.members)
        self.amp, self.cov = self.engine.amplitudes(u_iv.draws(0, self.members))
        self.items, _ = make_record(self.model.compiled, self.measures.record)
        # per-member figures are reduced where each chunk runs (forked workers write to shared
        # memory, which starts zeroed); nothing of a run is kept beyond them
        alloc = shared_empty if can_fork() else np.zeros
        n = (len(self.runs), self.members)
        for name, dims in self.measures.figures.items():
            self.store[name] = alloc((*n, *(self._size(d) for d in dims)))
        self.store["cost"] = alloc(n)
        self.added = {
            iv.name: iv
            for p in self.runs
            for iv in p.interventions
            if iv.reach == "added_starts" and iv.per_person
        }
        # the baseline's reach, per month
        self.base_reach = {name: alloc((self.members, len(self.report_times))) for name in self.added}

    def _size(self, dim: str) -> int:
        return len(self.report_times) if dim == "time" else len(self.model.spec.dims[dim])

    def run(self, block_size: int, progress: Callable[[int], None] | None = None, **kw) -> None:
        """Run every block of members: the baseline, then each package, on the same draws.

        Parameters
        ----------
        block_size
            Members per block.
        progress
            Called with the number of members of each chunk run.
        **kw
            ``method``, ``chunk_size`` and ``workers`` for :func:`~simulator.core.run_arrays`.
        """
        smp = Sampler(self.sampler, self.seed, tuple(self.design.columns), self.members)
        for a in range(0, self.members, block_size):
            b = min(self.members, a + block_size)
            values = self.design.apply(smp.draws(a, b))
            for name, (dims, arr) in self.model.member_figures(values).items():
                if name not in self.store:
                    self.member_dims[name] = dims
                    self.store[name] = np.zeros((self.members, *(self._size(d) for d in dims)))
                self.store[name][a:b] = np.broadcast_to(arr, (b - a, *arr.shape[1:]))
            for k, pkg in enumerate(self.runs):
                self._run_one(k, pkg, values, a, b, progress, kw)

    def _run_one(self, k, pkg, values, a, b, progress, kw) -> None:
        """One package on members ``a .. b-1``, reduced chunk by chunk into the store."""
        m, cm = b - a, self.model.compiled
        vals, extra = self.engine.hook(pkg, self.amp)(dict(values), a, b)
        arrays = extra.pop("arrays", {})
        params, _ = prepare_params(cm, vals)
        params = {
            n: (np.asfortranarray(np.repeat(v, m, axis=0)) if v.shape[0] == 1 and n in vals and m > 1 else v)
            for n, v in params.items()
        }
        params.update(arrays)
        reach: list[RecordItem] = (
            self.engine.added_start_items(self.runs[1:]) if k == 0 else self.engine.reach_items(pkg)
        )
        pop_reach = {
            iv.name: self.engine.population_reach(iv, values, self.cov[iv.name][a:b])
            for iv in pkg.interventions
            if iv.per_person and iv.reach == "population"
        }
        run_arrays(
            cm,
            params,
            m,
            self.grid,
            self.items + reach,
            allow_matrix=self.model.appraisal_allow_matrix,
            after=_ChunkReducer(self, k, pkg, a, pop_reach),
            progress=progress,
            **kw,
            **extra,
        )

"""Calibration problems: a model, priors on its parameters, and observed targets.

A :class:`CalibrationProblem` turns particles in probit space ``z (n, d)`` into
model parameters (the prior of each column is a scenario's ``uncertainty:``
group: ``u = Phi(z)`` is the uniform draw that group's inverse CDF maps to a
value), runs *all* particles as one ensemble through :func:`simulator.core.simulate`,
aggregates each target's model quantity to its observed periods (a financial-year
sum of a monthly flow, a stock at a date, a mean) and scores the prediction with
the target's observation model (:mod:`simulator.analysis._likelihoods`).

Every model kind works: a target names recorded quantities and labels, and may
add data reported beside the run (a surge model's ``underlying`` and
``suppressed`` referrals from its demand sheet) so the model predicts what was
actually counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import special

from simulator.analysis._distributions import Distribution
from simulator.analysis._targets import (
    AGGREGATES,
    Period,
    Target,
    included_series,
    period_matrix,
    selection_items,
)
from simulator.analysis._uncertainty import Design, UncertaintyGroup
from simulator.core._model import Model
from simulator.core._run import model_grid, prepare_params, run_arrays
from simulator.core._workers import shared_empty

__all__ = ["AGGREGATES", "CalibrationProblem", "Period", "Target"]

#: particles per task when a generation is spread over a dask cluster
DASK_BLOCK = 4096


def _predict_block(problem: CalibrationProblem, z: np.ndarray, fit_only: bool) -> dict[str, np.ndarray]:
    return problem.predict(z, fit_only=fit_only)


class CalibrationProblem:
    """A model, priors and targets: ``z -> predictions -> log-likelihood or distance``.

    Parameters
    ----------
    model
        Any model kind.
    parameters
        The parameters to fit, as uncertainty groups (their distributions are the priors).
    targets
        Observed series.
    months, dt, method
        Horizon (default: the model's), step and integration method of every run.
    chunk_size, workers
        As for :func:`simulator.core.simulate`; results do not depend on them.
    dask_client
        A ``dask.distributed`` client: particles are sent in blocks of :data:`DASK_BLOCK` to
        its workers (results identical to a local run).
    """

    def __init__(
        self,
        model: Model,
        parameters: Sequence[UncertaintyGroup],
        targets: Sequence[Target],
        *,
        months: int | None = None,
        dt: float | None = None,
        method: str = "euler",
        chunk_size: int | None = None,
        workers: int | None = None,
        dask_client: object | None = None,
    ):
        self.dask_client = dask_client
        self.model = model
        self.design = Design(model.spec, parameters)
        self.targets = list(targets)
        self.months = months or model.spec.horizon
        self.run_options: dict = {"method": method, "chunk_size": chunk_size, "workers": workers}
        self.dt = dt
        self.extra = [(t.name, key, prior) for t in self.targets for key, prior in t.fitted()]
        self._check()
        self._plan()

    # ------------------------------------------------------------------ parameters
    @property
    def columns(self) -> list[str]:
        """Names of the fitted columns: the design's, then the targets' own (``target.sigma`` ...)."""
        return [*self.design.columns, *(f"{name}.{key}" for name, key, _ in self.extra)]

    @property
    def dims(self) -> int:
        """Number of fitted columns (the dimension of probit space)."""
        return len(self.columns)

    def priors(self) -> list[Distribution]:
        """The prior of each column, in :attr:`columns` order.

        Returns
        -------
        list of Distribution
            One per fitted column.
        """
        out = []
        for g in self.design.groups:
            out += [g.distribution] * len(self.design.group_columns()[g.name])
        return out + [prior for _, _, prior in self.extra]

    def values(self, z: np.ndarray) -> np.ndarray:
        """Parameter values of particles ``z`` (each column through its prior's inverse CDF).

        Parameters
        ----------
        z
            ``(n, d)`` particles in probit space.

        Returns
        -------
        numpy.ndarray
            ``(n, d)`` values in each parameter's own unit.
        """
        u = np.clip(special.ndtr(np.asarray(z, dtype=float)), 1e-12, 1 - 1e-12)
        return np.column_stack([p.ppf(u[:, j]) for j, p in enumerate(self.priors())]) if len(u) else u

    # ------------------------------------------------------------------ predictions
    def __getstate__(self) -> dict:
        skip = ("dask_client", "_remote")
        return {k: v for k, v in self.__dict__.items() if k not in skip} | {"dask_client": None}

    def _predict_on_dask(self, client, z: np.ndarray, fit_only: bool) -> dict[str, np.ndarray]:
        """Blocks of :data:`DASK_BLOCK` particles on the cluster (the problem is sent once per client)."""
        remote = getattr(self, "_remote", None)
        if remote is None or remote[0] is not client:
            remote = (client, client.scatter(self, broadcast=True, hash=False))
            self._remote = remote
        blocks = [z[a : a + DASK_BLOCK] for a in range(0, len(z), DASK_BLOCK)]
        futures = [client.submit(_predict_block, remote[1], b, fit_only, pure=False) for b in blocks]
        parts = client.gather(futures)
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def predict(self, z: np.ndarray, fit_only: bool = False) -> dict[str, np.ndarray]:
        """Every target's prediction ``(n, k)`` for particles ``z``: one ensemble run (or blocks on dask).

        Parameters
        ----------
        z
            ``(n, d)`` particles in probit space.
        fit_only
            Predict the fitted periods only (``NaN`` in the others): the run stops at the last
            reported time a fitted period needs (the same numbers, fewer steps).

        Returns
        -------
        dict
            Target name -> predictions in the observed unit, one column per period.
        """
        z = np.atleast_2d(np.asarray(z, dtype=float))
        client = self.dask_client
        if client is not None and len(z) > DASK_BLOCK:
            return self._predict_on_dask(client, z, fit_only)
        nd = len(self.design.columns)
        u = np.clip(special.ndtr(z[:, :nd]), 1e-12, 1 - 1e-12)
        arrays, members = prepare_params(self.model.compiled, self.design.apply(u) if nd else {})
        grid = self._fit_grid if fit_only else self._grid
        sums = self._run_sums(arrays, members, grid)
        if members != len(z):  # a design without columns runs one member for every particle
            sums = {k: np.broadcast_to(v, (len(z), *v.shape[1:])) for k, v in sums.items()}
        ex = self.extra_values(z)
        return {
            t.name: self._aggregate(t, sums, ex.get((t.name, "level")), ex.get((t.name, "growth")), fit_only)
            for t in self.targets
        }

    def _run_sums(
        self, arrays: dict[str, np.ndarray], members: int, grid
    ) -> dict[tuple[str, str], np.ndarray]:
        """One run reduced where each chunk runs to its targets' summed series, ``(members, reports)``.

        Only these leave a chunk (in memory forked workers write into), not every recorded quantity.
        """
        sums = {key: shared_empty((members, len(grid.report_steps))) for key in self._summed}

        def reduce(a: int, b: int, views: Mapping[str, np.ndarray]) -> None:
            for key, names in self._summed.items():
                sums[key][a:b] = sum(views[n][:, :, 0] for n in names)

        run_arrays(self.model.compiled, arrays, members, grid, self._items, after=reduce, **self.run_options)
        return sums

    def extra_values(self, z: np.ndarray) -> dict[tuple[str, str], np.ndarray]:
        """The targets' own fitted quantities (``sigma``, ``dispersion``, ``level``, ``growth``).

        Parameters
        ----------
        z
            ``(n, d)`` particles in probit space.

        Returns
        -------
        dict
            ``(target name, key)`` -> ``(n, 1)`` values.
        """
        nd = len(self.design.columns)
        u = np.clip(special.ndtr(np.atleast_2d(z)[:, nd:]), 1e-12, 1 - 1e-12)
        return {(name, key): prior.ppf(u[:, [j]]) for j, (name, key, prior) in enumerate(self.extra)}

    def spread_values(self, z: np.ndarray) -> dict[str, np.ndarray]:
        """Fitted likelihood spreads by target name (only targets that fit one).

        Parameters
        ----------
        z
            ``(n, d)`` particles in probit space.

        Returns
        -------
        dict
            Target name -> ``(n, 1)`` dispersion or sigma.
        """
        ex = self.extra_values(z)
        return {t.name: ex[t.name, str(t.likelihood.spread_name)] for t in self.targets if t.spread_prior}

    def loglik(self, z: np.ndarray, held_out: bool = False) -> np.ndarray:
        """Log-likelihood of the fit periods (or the held-out ones) for particles ``z``: one ensemble run.

        Parameters
        ----------
        z
            ``(n, d)`` particles in probit space.
        held_out
            Score the held-out periods instead of the fitted ones.

        Returns
        -------
        numpy.ndarray
            ``(n,)`` log-likelihoods (``-inf`` where a prediction is impossible).
        """
        pred = self.predict(z, fit_only=not held_out)
        spreads = self.spread_values(z)
        total = np.zeros(len(np.atleast_2d(z)))
        for t in self.targets:
            mask = ~t.fit_mask if held_out else t.fit_mask
            if mask.any():
                total += t.likelihood.logpdf(t.observed[mask], pred[t.name][:, mask], spreads.get(t.name))
        return total

    def simulate_observations(
        self, z: np.ndarray, rng: np.random.Generator, fit_only: bool = False
    ) -> dict[str, np.ndarray]:
        """Observations simulated from each particle's prediction and its target's observation model.

        Parameters
        ----------
        z
            ``(n, d)`` particles in probit space.
        rng
            Random generator of the observation noise.
        fit_only
            Simulate the fitted periods only (``NaN`` in the others; see :meth:`predict`).

        Returns
        -------
        dict
            Target name -> ``(n, k)`` simulated observations in the observed unit.
        """
        pred = self.predict(z, fit_only)
        spreads = self.spread_values(z)
        out = {}
        for t in self.targets:
            cols = t.fit_mask if fit_only else np.ones(len(t.periods), dtype=bool)
            out[t.name] = np.full(pred[t.name].shape, np.nan)
            out[t.name][:, cols] = t.likelihood.sample(pred[t.name][:, cols], rng, spreads.get(t.name))
        return out

    def distance(self, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """ABC distance: root mean square relative error of simulated observations over the fit periods.

        Parameters
        ----------
        z
            ``(n, d)`` particles in probit space.
        rng
            Random generator of the observation noise.

        Returns
        -------
        numpy.ndarray
            ``(n,)`` distances (dimensionless).
        """
        sims = self.simulate_observations(z, rng, fit_only=True)
        parts = []
        for t in self.targets:
            m = t.fit_mask
            parts.append(
                ((sims[t.name][:, m] - t.observed[m]) / np.maximum(np.abs(t.observed[m]), 1e-12)) ** 2
            )
        return np.sqrt(np.mean(np.concatenate(parts, axis=1), axis=1))

    # ------------------------------------------------------------------ helpers
    def _plan(self) -> None:
        """What to record, and for each target the weights that pick and add up its quantities."""
        # each target's variables (and denominator) summed over its selection as the run goes
        self._items, self._summed = selection_items(self.model.compiled, self.targets)
        self._grid, _ = model_grid(self.model.spec, self.months, self.dt)
        self.times = np.asarray(self._grid.report_times, dtype=float)
        reported = self.model.reported_data(self.times)
        self._periods: dict[str, np.ndarray] = {}
        self._base: dict[str, np.ndarray | None] = {}
        for t in self.targets:
            self._periods[t.name] = period_matrix(self.times, t.periods, t.aggregate)
            self._base[t.name] = included_series(reported, self.model.spec.dims, t, len(self.times))
        self._fit_grid, self._fit_len = self._grid, len(self.times)
        rows = [
            np.flatnonzero(np.any(self._periods[t.name][:, t.fit_mask] != 0, axis=1)) for t in self.targets
        ]
        last = max((int(r[-1]) + 1 for r in rows if len(r)), default=len(self.times))
        if last < len(self.times):  # the reports up to the last fitted time (imported models: own clock)
            clock = self.model.spec.meta.get("clock") or {}
            t0, every = float(clock.get("t0", 0.0)), float(clock.get("every", 1.0))
            grid, _ = model_grid(self.model.spec, round((self.times[last - 1] - t0) / every) + 1, self.dt)
            got = np.asarray(grid.report_times, dtype=float)
            if got.shape == (last,) and np.allclose(got, self.times[:last]):  # a prefix of the full run's
                self._fit_grid, self._fit_len = grid, last

    def _aggregate(
        self, t: Target, sums: dict[tuple[str, str], np.ndarray], level=None, growth=None, fit_only=False
    ):
        num = sums[t.name, ""]  # (n, T): the target's variables summed over its selection
        n = num.shape[0]
        nt = self._fit_len if fit_only else len(self.times)
        times = self.times[:nt]
        cols = t.fit_mask if fit_only else np.ones(len(t.periods), dtype=bool)
        periods = self._periods[t.name][:nt, cols]
        base = self._base[t.name]
        if base is not None:
            factor = np.ones((n, nt))
            if level is not None:
                factor = factor * level
            if growth is not None:
                factor = factor * (1.0 + growth) ** (times[None, :] / 12.0)
            num = num + base[None, :nt] * factor
        pred = np.full((n, len(t.periods)), np.nan)
        pred[:, cols] = num @ periods
        if t.denominator:
            pred[:, cols] /= sums[t.name, "/"] @ periods
        return pred * t.scale if t.scale != 1.0 else pred

    def _check(self) -> None:
        problems = []
        recordable = self.model.compiled.recordable
        grid, _ = model_grid(self.model.spec, self.months, self.dt)
        t0, t1 = float(grid.report_times[0]), float(grid.report_times[-1])
        for t in self.targets:
            for v in (*t.variables, *t.denominator):
                if v not in recordable:
                    problems.append(f"target {t.name}: the model records no {v!r}")
            for p in t.periods:
                if p.first < t0 - 1e-9 or p.last > t1 + 1e-9:
                    problems.append(
                        f"target {t.name}: period {p.label} (times {p.first:g}-{p.last:g}) is outside the "
                        f"run (times {t0:g}-{t1:g}); extend the horizon or drop the period"
                    )
                elif not np.any(
                    (np.asarray(grid.report_times) >= p.first - 1e-9)
                    & (np.asarray(grid.report_times) <= p.last + 1e-9)
                ):
                    problems.append(f"target {t.name}: period {p.label} contains no reported time of the run")
        if problems:
            raise ValueError("; ".join(problems))

"""Run a calibration and describe its posterior: tables, diagnostics, held-out scores, a file.

:func:`calibrate` runs one of three methods on a
:class:`~simulator.analysis._calibration.CalibrationProblem`:

* ``"smc"``: likelihood-based SMC with adaptive tempering (the posterior);
* ``"abc-smc"``: ABC-SMC with adaptive tolerances on simulated observations;
* ``"optimize"``: the posterior mode (a first look: one point, no intervals).

The :class:`Calibration` it returns holds the weighted posterior draws and
answers what an analyst asks next: how much each parameter moved from its prior
(shrinkage) and whether the data can identify it, how well the calibrated model
forecasts the held-out periods beside the uncalibrated one (the prior
predictive), and it writes the draws to NetCDF for scenarios to use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from simulator.analysis._calibration import CalibrationProblem
from simulator.analysis._posterior import Posterior, groups_to_json
from simulator.analysis._samplers import Population, abc_smc, point_estimate, smc, systematic_resample
from simulator.analysis._scores import predictive_summary, weighted_quantiles
from simulator.core._model import Model
from simulator.core._results import netcdf_ready

__all__ = ["METHODS", "Calibration", "calibrate", "run_posterior_ensemble", "weighted_quantiles"]

METHODS = ("smc", "abc-smc", "optimize")
#: shrinkage below this, or a posterior correlation beyond +/- IDENTIFY_CORR, is flagged
IDENTIFY_SHRINKAGE = 0.1
IDENTIFY_CORR = 0.95


@dataclass
class Calibration:
    """A calibration's posterior and what it says.

    Attributes
    ----------
    problem
        The problem that was fitted.
    method
        ``smc``, ``abc-smc`` or ``optimize``.
    population
        Weighted particles in probit space, with the sampler's diagnostics.
    values
        Posterior draws ``(n, d)`` in the parameters' own units (columns: ``problem.columns``).
    seed
        The seed everything was drawn from.
    """

    problem: CalibrationProblem
    method: str
    population: Population
    values: np.ndarray
    seed: int
    _predictive: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)

    @property
    def weights(self) -> np.ndarray:
        """Normalised posterior weights ``(n,)``."""
        return self.population.weights

    def diagnostics(self) -> pd.DataFrame:
        """One row per generation: temperature or tolerance, acceptance, ESS, simulations so far.

        Returns
        -------
        pandas.DataFrame
        """
        return pd.DataFrame(self.population.generations).rename_axis("generation")

    def prior_draws(self, n: int = 4000) -> np.ndarray:
        """``n`` draws ``(n, d)`` from the prior (the same seed gives the same draws).

        Parameters
        ----------
        n
            How many draws.

        Returns
        -------
        numpy.ndarray
        """
        z = np.random.default_rng([self.seed, 1]).standard_normal((n, self.problem.dims))
        return self.problem.values(z)

    def table(self) -> pd.DataFrame:
        """Per parameter: prior and posterior median and 90% interval, shrinkage, ESS, identifiable.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``parameter``; values in the parameters' own units, shrinkage a share 0..1.
        """
        prior = self.prior_draws()
        pq = np.quantile(prior, [0.05, 0.5, 0.95], axis=0)
        w = self.weights
        q = weighted_quantiles(self.values, w, [0.05, 0.5, 0.95])
        mean = w @ self.values
        sd_post = np.sqrt(np.maximum(w @ (self.values - mean) ** 2, 0.0))
        sd_prior = prior.std(axis=0)
        shrink = 1.0 - np.divide(sd_post, sd_prior, out=np.zeros_like(sd_post), where=sd_prior > 0)
        corr = self.correlation().to_numpy().copy()
        np.fill_diagonal(corr, 0.0)
        rows = []
        for j, name in enumerate(self.problem.columns):
            ident = shrink[j] >= IDENTIFY_SHRINKAGE and not np.any(np.abs(corr[j]) >= IDENTIFY_CORR)
            rows.append(
                {
                    "parameter": name,
                    "prior_median": pq[1, j],
                    "prior_p5": pq[0, j],
                    "prior_p95": pq[2, j],
                    "posterior_median": q[1, j],
                    "posterior_p5": q[0, j],
                    "posterior_p95": q[2, j],
                    "shrinkage": shrink[j],
                    "ess": self.population.ess,
                    "identified": bool(ident),
                }
            )
        return pd.DataFrame(rows).set_index("parameter")

    def correlation(self) -> pd.DataFrame:
        """Weighted posterior correlation matrix of the parameters.

        Returns
        -------
        pandas.DataFrame
        """
        cols = self.problem.columns
        if len(self.values) < 2 or self.method == "optimize":
            return pd.DataFrame(np.eye(len(cols)), index=cols, columns=cols)
        c = np.atleast_2d(np.cov(self.values, rowvar=False, aweights=self.weights))
        sd = np.sqrt(np.diag(c))
        with np.errstate(invalid="ignore", divide="ignore"):
            r = c / np.outer(sd, sd)
        return pd.DataFrame(np.nan_to_num(r), index=cols, columns=cols)

    def warnings(self) -> list[str]:
        """Sentences naming every parameter the data cannot identify, and why.

        Returns
        -------
        list of str
        """
        if self.method == "optimize":
            return []
        tab = self.table()
        corr = self.correlation()
        out = []
        for name, row in tab.iterrows():
            if row["shrinkage"] < IDENTIFY_SHRINKAGE:
                out.append(
                    f"{name}: the data barely narrow it (shrinkage {row['shrinkage']:.2f}); "
                    "its posterior is close to its prior"
                )
            others = [c for c in corr.columns if c != name and abs(corr.loc[name, c]) >= IDENTIFY_CORR]
            for c in others:
                out.append(
                    f"{name}: posterior correlation {corr.loc[name, c]:+.2f} with {c}; the data "
                    "identify a combination of the two, not each"
                )
        return out

    # ------------------------------------------------------------------ predictions and scores
    def resample(self, n: int | None = None, stream: int = 2) -> np.ndarray:
        """``n`` equally weighted particles ``z`` drawn from the posterior (systematic resampling).

        Parameters
        ----------
        n, stream
            How many particles (default: as many as there are), and the random stream (with the seed).

        Returns
        -------
        numpy.ndarray
            ``(n, d)`` particles in probit space.
        """
        rng = np.random.default_rng([self.seed, stream])
        return self.population.z[systematic_resample(self.weights, rng, n or len(self.weights))]

    def predictive(self, which: str = "posterior", n: int = 1000) -> dict[str, np.ndarray]:
        """Simulated observations ``(n, k)`` per target: posterior or prior predictive (cached).

        Parameters
        ----------
        which, n
            ``"posterior"`` or ``"prior"``, and how many simulations.

        Returns
        -------
        dict
            Target name -> ``(n, k)`` simulated observations in the observed unit, one column per period.
        """
        key = f"{which}-{n}"
        if key not in self._predictive:
            if which == "posterior":
                z = self.resample(n)
            else:
                z = np.random.default_rng([self.seed, 3]).standard_normal((n, self.problem.dims))
            self._predictive[key] = self.problem.simulate_observations(
                z, np.random.default_rng([self.seed, 4])
            )
        return self._predictive[key]

    def scores(self, n: int = 1000) -> pd.DataFrame:
        """Every observed point scored by the posterior and by the prior predictive (uncalibrated).

        Parameters
        ----------
        n
            Simulations per predictive distribution.

        Returns
        -------
        pandas.DataFrame
            Rows per target, period and model (``calibrated``/``uncalibrated``): observed value,
            whether the period was held out, predictive median, 50% and 90% intervals, covered
            by each, PIT and CRPS (in the observed unit).
        """
        rows = []
        for model, which in (("calibrated", "posterior"), ("uncalibrated", "prior")):
            pred = self.predictive(which, n)
            for t in self.problem.targets:
                s = predictive_summary(pred[t.name], t.observed)
                for k, p in enumerate(t.periods):
                    rows.append(
                        {"target": t.name, "period": p.label, "model": model, "observed": t.observed[k]}
                        | {"held_out": bool(~t.fit_mask[k])}
                        | {key: (bool(v[k]) if v.dtype == bool else float(v[k])) for key, v in s.items()}
                    )
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ files
    def to_dataset(self) -> xr.Dataset:
        """The posterior draws, weights and diagnostics as a labelled dataset (for NetCDF).

        Returns
        -------
        xarray.Dataset
            ``value`` and ``z`` ``(draw, parameter)``, ``weight`` ``(draw,)``, ``group`` ``(parameter,)``.
        """
        cols = self.problem.columns
        ds = xr.Dataset(
            {
                "value": (("draw", "parameter"), self.values),
                "weight": (("draw",), self.weights),
                "z": (("draw", "parameter"), self.population.z),
            },
            coords={"draw": np.arange(len(self.values)), "parameter": cols},
        )
        groups = {
            c: g.name
            for g in self.problem.design.groups
            for c in self.problem.design.columns
            if _of(c, g.name)
        }
        ds["group"] = ("parameter", [groups.get(c, "") for c in cols])
        ds.attrs = {
            "title": "Upstream calibration posterior",
            "model": self.problem.model.name,
            "method": self.method,
            "seed": self.seed,
            "targets": ", ".join(t.name for t in self.problem.targets),
            "effective_sample_size": self.population.ess,
            "groups": groups_to_json(self.problem.design.groups),
            "design_columns": len(self.problem.design.columns),
            "log_evidence": self.population.log_evidence,
        }
        return ds

    def write(self, path: str | Path) -> Path:
        """Write :meth:`to_dataset` to NetCDF, atomically (no partial file on failure).

        Parameters
        ----------
        path
            A ``.nc`` file.

        Returns
        -------
        pathlib.Path
            The file written.
        """
        from simulator.core._atomic import atomic_path

        with atomic_path(path) as tmp:
            netcdf_ready(self.to_dataset()).to_netcdf(tmp, engine="h5netcdf")
        return Path(path)


def run_posterior_ensemble(
    model: Model | CalibrationProblem, posterior: str | Path, *, members: int = 1000, seed: int = 0, **kw
):
    """An ensemble whose members are draws of a calibration's posterior (correlations kept).

    The same as :func:`~simulator.analysis.run_ensemble` with the posterior's groups and the
    ``posterior:FILE`` sampler (see :mod:`simulator.analysis._sampling`).

    Parameters
    ----------
    model
        The model (or the calibration problem whose model it is).
    posterior
        A posterior file written by :meth:`Calibration.write`.
    members, seed
        Ensemble size and the seed of the resampling.
    **kw
        Passed to :func:`simulator.analysis.run_ensemble` (months, dt, outputs, quantiles ...).

    Returns
    -------
    EnsembleResult
        As :func:`~simulator.analysis.run_ensemble`, with ``attrs["posterior"]`` naming the file.
    """
    from simulator.analysis._ensembles import run_ensemble
    from simulator.analysis._uncertainty import Design

    if isinstance(model, CalibrationProblem):
        model = model.model
    post = Posterior.read(posterior)
    design = Design(model.spec, post.groups)
    result = run_ensemble(model, design, members=members, seed=seed, sampler=f"posterior:{post.path}", **kw)
    result.attrs["posterior"] = post.describe()
    return result


def _of(column: str, group: str) -> bool:
    return column == group or column.startswith(group + "[")


def calibrate(
    problem: CalibrationProblem,
    method: str = "smc",
    *,
    particles: int = 2000,
    generations: int = 10,
    seed: int = 0,
    progress: Callable[[dict], None] | None = None,
) -> Calibration:
    """Fit ``problem`` by ``method``; every generation is one ensemble run of all its particles.

    Parameters
    ----------
    problem
        Model, priors and targets.
    method
        ``"smc"`` (tempering; ``generations`` is ignored, the schedule adapts), ``"abc-smc"``
        (``generations`` after the prior generation) or ``"optimize"`` (the posterior mode).
    particles
        Particles per generation (population size for ``optimize``: rounded to scipy's multiple).
    generations
        ABC-SMC generations.
    seed
        Seeds every draw: the same seed gives the same posterior whatever the chunking or workers.
    progress
        Called after each generation with its diagnostics row.

    Returns
    -------
    Calibration
        The posterior and its reports.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    rng = np.random.default_rng(seed)
    d = problem.dims
    if method == "smc":
        pop = smc(problem.loglik, d, particles, rng, progress=progress)
    elif method == "abc-smc":
        noise = np.random.default_rng([seed, 5])
        pop = abc_smc(lambda z: problem.distance(z, noise), d, particles, generations, rng, progress=progress)
    else:
        z, lp = point_estimate(problem.loglik, d, rng, popsize=max(5, particles // max(d, 1) // 10))
        pop = Population(z[None, :], np.ones(1), loglik=np.array([lp]), generations=[{"log_posterior": lp}])
    return Calibration(problem, method, pop, problem.values(pop.z), seed)

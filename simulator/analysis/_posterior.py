"""Posterior draws as ensemble members: a calibration's joint draws feed any ensemble.

A posterior file (written by :meth:`~simulator.analysis.Calibration.write`) keeps,
per draw, each fitted column's value, its probit-space coordinate ``z`` and its
weight, and in its attributes the uncertainty groups that were fitted (parameter,
selection, how a draw applies, the prior).  :class:`Posterior` reads it back;
:meth:`Posterior.draws` resamples members by weight (systematic resampling,
reproducible from a seed) and returns the uniform draws ``Phi(z)`` of the design's
columns, so an ensemble run with them gives every member exactly a posterior
draw's parameter values and keeps the correlations between parameters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import xarray as xr
from scipy import special

from simulator.analysis._distributions import distribution_from_dict
from simulator.analysis._samplers import systematic_resample
from simulator.analysis._uncertainty import UncertaintyGroup

__all__ = ["Posterior", "groups_to_json", "posterior_draws"]


def groups_to_json(groups: list[UncertaintyGroup]) -> str:
    """The fitted groups as JSON (kept in a posterior file's attributes).

    Parameters
    ----------
    groups
        The fitted uncertainty groups.

    Returns
    -------
    str
    """
    return json.dumps(
        [
            {
                "name": g.name,
                "parameter": g.parameter,
                "select": {k: list(v) for k, v in g.select.items()},
                "apply": g.apply,
                "mode": g.mode,
                "distribution": {"type": g.distribution.kind, **g.distribution.p},
                "source": g.source,
            }
            for g in groups
        ]
    )


@dataclass
class Posterior:
    """Weighted posterior draws read from a file.

    Attributes
    ----------
    path
        The file.
    groups
        The fitted uncertainty groups (their distributions were the priors).
    z
        ``(n, columns)`` draws in probit space (design columns first, then the targets' own).
    weights
        ``(n,)`` normalised weights.
    columns
        Names of every fitted column.
    attrs
        The file's attributes (model, method, seed, targets ...).
    """

    path: Path
    groups: list[UncertaintyGroup]
    z: np.ndarray
    weights: np.ndarray
    columns: list[str]
    attrs: dict

    @classmethod
    def read(cls, path: str | Path) -> Posterior:
        """Read a posterior file.

        Parameters
        ----------
        path
            A NetCDF file written by a calibration.

        Returns
        -------
        Posterior

        Raises
        ------
        ValueError
            If the file is not an Upstream posterior (names what is missing).
        """
        p = Path(path)
        if not p.is_file():
            raise ValueError(f"posterior file {str(p)!r} does not exist")
        try:
            with xr.open_dataset(p, engine="h5netcdf") as ds:
                ds = ds.load()
        except (OSError, ValueError) as err:
            raise ValueError(f"posterior file {p.name!r} cannot be read as NetCDF: {err}") from None
        missing = [v for v in ("z", "weight") if v not in ds] + [a for a in ("groups",) if a not in ds.attrs]
        if missing:
            raise ValueError(f"{p.name} is not an Upstream posterior file: it has no {', '.join(missing)}")
        groups = [
            UncertaintyGroup(
                g["name"], g["parameter"], distribution_from_dict(g["distribution"]),
                {k: tuple(v) for k, v in g["select"].items()}, g["apply"], g["mode"], g.get("source", ""),
            )
            for g in json.loads(ds.attrs["groups"])
        ]  # fmt: skip
        w = ds["weight"].to_numpy().astype(float)
        return cls(
            p,
            groups,
            ds["z"].to_numpy(),
            w / w.sum(),
            [str(c) for c in ds["parameter"].values],
            dict(ds.attrs),
        )

    def draws(self, members: int, seed: int, n_design: int) -> np.ndarray:
        """Uniform draws ``(members, n_design)`` of the design's columns for ``members`` resampled draws.

        Parameters
        ----------
        members
            Ensemble size.
        seed
            Seeds the resampling.
        n_design
            Number of design columns (the first columns of ``z``).

        Returns
        -------
        numpy.ndarray
            ``Phi(z)`` of the resampled draws: through the groups' inverse CDFs they give
            exactly the posterior draws' values.
        """
        idx = systematic_resample(self.weights, np.random.default_rng([seed, 7]), members)
        return special.ndtr(self.z[idx, :n_design])

    def describe(self) -> str:
        """One line for reports: which posterior, from which calibration.

        Returns
        -------
        str
        """
        return (
            f"posterior {self.path.name} ({self.attrs.get('method', '?')} calibration of "
            f"{self.attrs.get('model', '?')} to {self.attrs.get('targets', '?')}, {len(self.weights):,} draws)"
        )


@lru_cache(maxsize=8)
def _read_cached(path: str, mtime: float) -> Posterior:
    return Posterior.read(path)


def posterior_draws(path: str | Path, seed: int, members: int) -> dict[str, np.ndarray]:
    """Uniform draws ``(members,)`` of every fitted design column of a posterior file, resampled jointly.

    Parameters
    ----------
    path
        A posterior file.
    seed
        Seeds the resampling (the same seed gives the same members).
    members
        Ensemble size.

    Returns
    -------
    dict
        Column name -> ``Phi(z)`` of the resampled draws (design columns only).
    """
    p = Path(path)
    post = _read_cached(str(p.resolve()), p.stat().st_mtime if p.exists() else 0.0)
    n_design = int(post.attrs.get("design_columns", len(post.columns)))
    u = post.draws(members, seed, n_design)
    return {name: u[:, j] for j, name in enumerate(post.columns[:n_design])}

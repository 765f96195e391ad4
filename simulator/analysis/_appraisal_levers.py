"""Interventions and packages: levers that change a model's parameters over time.

The data an intervention file describes (see :mod:`simulator.files._interventions`
for the file format and the levers), and :func:`ramp`, the share of the full effect
over time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simulator.analysis._distributions import Distribution

__all__ = [
    "LEVERS",
    "TIERS",
    "Intervention",
    "Package",
    "ramp",
]

TIERS = ("upstream", "midstream", "downstream")
LEVERS = {
    "exposure": ("pcnt", ("group",)),
    "conversion": ("g2c_pcnt", ("group", "condition")),
    "diversion": ("split", ("group", "condition")),
    "access": ("treat_pcnt", ("service",)),
    "effectiveness": ("success", ("service",)),
    "length_of_stay": ("months", ("service",)),
    "capacity": ("extra_capacity", ("service",)),
    "parameter": (None, ()),
}
REACH = ("population", "referrals", "starts", "added_starts")
DEFAULT_REACH = {
    "exposure": "population",
    "conversion": "population",
    "diversion": "referrals",
    "access": "starts",
    "effectiveness": "starts",
    "length_of_stay": "starts",
    "capacity": "added_starts",
    "parameter": "population",
}


@dataclass(frozen=True)
class Intervention:
    """One lever, its scope, uncertain effect, coverage, timing and cost."""

    name: str
    lever: str
    effect: Distribution
    effect_type: str = "relative"
    tier: str = "upstream"
    description: str = ""
    scope: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    parameter: str | None = None
    divert_from: tuple[str, ...] = ()
    divert_to: tuple[str, ...] = ()
    coverage: Distribution | float = 1.0
    start: float = 0.0
    ramp_months: float = 0.0
    end: float | None = None
    fixed_per_month: float = 0.0
    per_person: float = 0.0
    reach: str = "population"
    source: str = ""
    path: Path | None = None

    @property
    def target(self) -> str:
        """The model parameter this lever changes."""
        return self.parameter or LEVERS[self.lever][0]  # type: ignore[return-value]

    def active_months(self, months: int) -> float:
        """Months the intervention runs within a horizon of ``months`` months (fixed costs).

        Parameters
        ----------
        months
            The horizon (months).

        Returns
        -------
        float
            Months, 0 or more.
        """
        end = months if self.end is None else min(self.end, months)
        return max(0.0, end - self.start)


@dataclass(frozen=True)
class Package:
    """A named combination of interventions."""

    name: str
    interventions: tuple[Intervention, ...]
    description: str = ""

    @property
    def tiers(self) -> list[str]:
        """Tiers of its interventions."""
        return sorted({i.tier for i in self.interventions})


def ramp(t: float | np.ndarray, start: float, months: float, end: float | None) -> np.ndarray:
    """Share of the full effect at time ``t``: 0 before ``start``, linear over ``months``, 0 after ``end``.

    Parameters
    ----------
    t
        Time (months).
    start, months, end
        When the effect starts, how long it takes to reach full effect, and when it stops
        (months; ``end`` None: never).

    Returns
    -------
    numpy.ndarray
        Share of the full effect, 0..1, shaped like ``t``.
    """
    t = np.asarray(t, dtype=float)
    r = np.clip((t - start) / months, 0.0, 1.0) if months > 0 else (t >= start).astype(float)
    if end is not None:
        r = np.where(t >= end, 0.0, r)
    return r

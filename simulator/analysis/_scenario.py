"""A scenario: a model with its curves applied, run settings and an ensemble design."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from simulator.analysis._uncertainty import Design, UncertaintyGroup
from simulator.core._model import Model

__all__ = ["DEFAULT_QUANTILES", "Scenario"]

#: quantiles reported by default: the 90% and 50% intervals and the median
DEFAULT_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass
class Scenario:
    """A loaded, validated scenario: a model with its curves applied, and an ensemble design."""

    name: str
    model: Model
    months: int
    dt: float = 1.0
    method: str = "euler"
    members: int = 1
    seed: int = 0
    sampler: str = "lhs"
    groups: list[UncertaintyGroup] = field(default_factory=list)
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES
    services: list[str] = field(default_factory=list)
    description: str = ""
    path: Path | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def design(self) -> Design:
        """The uncertainty groups resolved against the model."""
        return Design(self.model.spec, self.groups)

    def with_(self, **changes) -> Scenario:
        """A copy with some fields changed (``members``, ``seed``, ``sampler`` ...).

        Returns
        -------
        Scenario
        """
        return replace(self, **changes)

"""The model-kind interface: what a kind of model tells the generic engine and analyses.

Every model, whatever file it came from, is one :class:`~simulator.core.ModelSpec`
compiled once.  What differs between kinds (surge, capacity, network, Vensim) is
only what an analysis should *look at* by default and what data travel beside a
run.  A kind is a subclass of :class:`~simulator.core.Model` that overrides the
methods of :class:`ModelKind`; :class:`~simulator.core.Model` itself is the
generic kind (network YAML models and Vensim imports: every stock is an output).

To add a model kind: subclass ``Model`` in the kind's own subpackage, override
what differs, and have a reader in :mod:`simulator.files` build it.  The core and
the analyses never import a kind; they call these methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from simulator.core._outputs import OutputDef
from simulator.core._spec import ModelSpec

__all__ = ["ModelKind"]


@runtime_checkable
class ModelKind(Protocol):
    """What every model kind provides (implemented by :class:`~simulator.core.Model`)."""

    spec: ModelSpec
    kind: str

    def ensemble_outputs(self) -> tuple[OutputDef, ...]:
        """Outputs an ensemble reduces by default (per member, per month)."""
        ...

    def sensitivity_outputs(self, variables: Sequence[str] | None = None) -> tuple[OutputDef, ...]:
        """Outputs a sensitivity analysis measures by default."""
        ...

    def reported_data(self, times: np.ndarray) -> dict[str, tuple]:
        """Data reported beside a run at ``times`` (e.g. a surge model's demand sheet)."""
        ...

    def result_attrs(self) -> dict[str, str]:
        """Attributes a results dataset carries for this model."""
        ...

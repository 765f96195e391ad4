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

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np

from simulator.core._outputs import OutputDef
from simulator.core._spec import ModelSpec

__all__ = ["AppraisalMeasures", "ModelKind"]


class AppraisalMeasures(NamedTuple):
    """What an intervention appraisal measures of each run of a model kind.

    Attributes
    ----------
    record
        Variable -> dimensions kept, recorded in every run (for ``make_record``).
    figures
        Per-member figure -> its dimensions beyond ``(package, member)``; ``"time"``
        is the reported times, any other a dimension of the model.
    variables
        The model's own variables measured (a generic model), or empty (the kind's outcomes).
    """

    record: dict[str, list[str]]
    figures: dict[str, tuple[str, ...]]
    variables: tuple[str, ...] = ()


@runtime_checkable
class ModelKind(Protocol):
    """What every model kind provides (implemented by :class:`~simulator.core.Model`)."""

    spec: ModelSpec
    kind: str

    def ensemble_outputs(self) -> tuple[OutputDef, ...]:
        """Outputs an ensemble reduces by default (per member, per month).

        Returns
        -------
        tuple of OutputDef
        """
        ...

    def sensitivity_outputs(self, variables: Sequence[str] | None = None) -> tuple[OutputDef, ...]:
        """Outputs a sensitivity analysis measures (``variables``: the model's own), each by its ``measures``.

        Outputs that keep a dimension (a surge model's services) are analysed element
        by element; scalar outputs one by one (see :mod:`simulator.analysis._sensitivity`).

        Parameters
        ----------
        variables
            Names of the model's variables to measure instead of its defaults.

        Returns
        -------
        tuple of OutputDef
        """
        ...

    def reported_data(self, times: np.ndarray) -> dict[str, tuple]:
        """Data reported beside a run at ``times`` (e.g. a surge model's demand sheet).

        Parameters
        ----------
        times
            The reported times (months).

        Returns
        -------
        dict
            Name -> ``(dims, values)``, as for an :class:`xarray.Dataset` variable.
        """
        ...

    def result_attrs(self) -> dict[str, str]:
        """Attributes a results dataset carries for this model.

        Returns
        -------
        dict
            Attribute name -> value.
        """
        ...

    # appraisal of interventions (simulator.analysis._appraisal): the kernel it runs on
    # (None: the kernel decides; False: every run per member, so an empty package is the baseline)
    appraisal_allow_matrix: bool | None

    def with_diversion_paths(self, interventions: Sequence[Any]) -> ModelKind:
        """The model with a zero-weight path for every diversion target that has none.

        Parameters
        ----------
        interventions
            The interventions to appraise.

        Returns
        -------
        ModelKind
        """
        ...

    def appraisal_check(self, interventions: Sequence[Any]) -> None:
        """Raise ``ValueError`` if this kind cannot cost ``interventions``.

        Parameters
        ----------
        interventions
            The interventions to appraise.
        """
        ...

    def reach_flows(self, reach: str) -> tuple[str, ...]:
        """Flows that count the people an intervention reaches (``referrals``, ``starts``...).

        Parameters
        ----------
        reach
            What an intervention reaches (``"referrals"``, ``"starts"`` ...).

        Returns
        -------
        tuple of str
            Flow names (people per month).
        """
        ...

    def appraisal_measures(self, outcomes: Sequence[str] | None = None) -> AppraisalMeasures:
        """What an appraisal records of each run and the per-member figures it keeps.

        Parameters
        ----------
        outcomes
            Outcome names to record beside the defaults.

        Returns
        -------
        AppraisalMeasures
        """
        ...

    def appraisal_reduce(
        self, raw: Mapping[str, np.ndarray], measures: AppraisalMeasures
    ) -> dict[str, np.ndarray]:
        """Per-member figures of a chunk of members from their recorded series.

        Parameters
        ----------
        raw
            Recorded series by name, ``(members, times, ...)``.
        measures
            What :meth:`appraisal_measures` asked to record.

        Returns
        -------
        dict
            Figure name -> ``(members, ...)`` values.
        """
        ...

    def member_figures(
        self, values: Mapping[str, np.ndarray]
    ) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
        """Per-member figures that do not depend on the package (e.g. population by group).

        Parameters
        ----------
        values
            Parameter and derived values by name, ``(members, ...)``.

        Returns
        -------
        dict
            Figure name -> ``(dims, (members, ...) values)``.
        """
        ...

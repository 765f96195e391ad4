"""A loaded model: its spec, where it came from and its warnings; model kinds subclass it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from simulator.core._compiler import CompiledModel, compile_spec
from simulator.core._kind import AppraisalMeasures
from simulator.core._outputs import OutputDef
from simulator.core._problems import Problem, Problems
from simulator.core._spec import ModelSpec, SpecError
from simulator.core._strata import Stratifier
from simulator.core._strata_transform import strata_of

__all__ = ["Model"]


@dataclass
class Model:
    """A model ready to simulate.

    Attributes
    ----------
    spec
        The validated stock-and-flow specification (the one representation every model shares).
    kind
        ``"surge"`` (built from the six surge tables), ``"network"`` (a YAML stock-and-flow
        model) or ``"vensim"`` (imported).
    path
        The file it was read from, if any.
    warnings
        Problems that did not stop loading (e.g. c2t rows that are not paths).
    """

    spec: ModelSpec
    kind: str = "network"
    path: Path | None = None
    warnings: list[Problem] = field(default_factory=list)
    _compiled: CompiledModel | None = field(default=None, repr=False)
    _reported: dict[tuple[float, ...], dict[str, tuple]] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        """Model name."""
        return self.spec.name

    @property
    def compiled(self) -> CompiledModel:
        """The compiled model (compiled once, on first use)."""
        if self._compiled is None:
            self._compiled = compile_spec(self.spec)
        return self._compiled

    @property
    def strata(self) -> tuple[Stratifier, ...]:
        """The model's stratifying dimensions (deprivation, ethnic group, ...); empty if none."""
        return strata_of(self.spec)

    # ------------------------------------------------------------------ the model-kind interface
    # (see simulator.core._kind.ModelKind; a model kind subclasses Model and overrides these)
    def ensemble_outputs(self) -> tuple[OutputDef, ...]:
        """What an ensemble keeps of each member by default: every stock family, per element.

        Returns
        -------
        tuple of OutputDef
            One output per stock family, in the stock's own unit.
        """
        return tuple(OutputDef(s.name, s.name, s.space.dims, s.unit) for s in self.spec.stocks)

    def sensitivity_outputs(self, variables: Sequence[str] | None = None) -> tuple[OutputDef, ...]:
        """What a sensitivity analysis measures: ``variables`` (default every stock), summed to one series.

        Parameters
        ----------
        variables
            Recordable variables of the model (stocks, flows, auxiliaries).

        Returns
        -------
        tuple of OutputDef
            One scalar output per variable, measured by its final value, its peak and
            the time of the peak (``NAME_final``, ``NAME_peak``, ``NAME_peak_time``).

        Raises
        ------
        KeyError
            If a variable is not recordable.
        """
        names = list(variables) if variables else [s.name for s in self.spec.stocks]
        unknown = [v for v in names if v not in self.compiled.recordable]
        if unknown:
            raise KeyError(f"the model has no variables {unknown}")
        return tuple(OutputDef(v, v, (), "", measures=("final", "peak", "peak_time")) for v in names)

    def reported_data(self, times: np.ndarray) -> dict[str, tuple]:
        """Data reported beside a run at ``times`` (none for a generic model).

        Parameters
        ----------
        times
            The reported times (months).

        Returns
        -------
        dict
            Variable name -> ``(dims, array, attrs)`` added to the results dataset.
        """
        return {}

    def result_attrs(self) -> dict[str, str]:
        """Attributes a results dataset carries for this model (none for a generic model).

        Returns
        -------
        dict
            Empty.
        """
        return {}

    # ------------------------------------------------------------------ appraisal of interventions
    #: let the kernel choose a constant step matrix where no parameter varies by member
    appraisal_allow_matrix: ClassVar[bool | None] = None

    def with_diversion_paths(self, interventions: Sequence[Any]) -> Model:
        """The model ready for ``interventions``' diversions: a generic model has no referral paths.

        Parameters
        ----------
        interventions
            Interventions (:class:`~simulator.analysis.Intervention`) to be run.

        Returns
        -------
        Model
            This model, if no intervention is a diversion.

        Raises
        ------
        ValueError
            If one is.
        """
        if any(iv.lever == "diversion" for iv in interventions):
            raise ValueError("diversion needs a surge model (services and referral splits)")
        return self

    def appraisal_check(self, interventions: Sequence[Any]) -> None:
        """Check that the appraisal can cost ``interventions``: per-person costs need people to count.

        Parameters
        ----------
        interventions
            The interventions to appraise.

        Raises
        ------
        ValueError
            Naming every intervention with a per-person cost.
        """
        per_person = [iv.name for iv in interventions if iv.per_person]
        if per_person:
            raise ValueError(
                "per-person costs need a surge model (its population, referrals or starts); "
                f"give these a fixed_per_month cost instead: {', '.join(per_person)}"
            )

    def reach_flows(self, reach: str) -> tuple[str, ...]:
        """Flows that count the people an intervention reaches (none in a generic model).

        Parameters
        ----------
        reach
            What an intervention reaches (``"referrals"``, ``"starts"`` ...).

        Returns
        -------
        tuple of str
            Flow names, summed over the intervention's scope.
        """
        return ()

    def appraisal_measures(self, outcomes: Sequence[str] | None = None) -> AppraisalMeasures:
        """Each of ``outcomes`` (default every stock), totalled over the reported times.

        Parameters
        ----------
        outcomes
            Recordable variables of the model.

        Returns
        -------
        AppraisalMeasures
            Each variable recorded summed over its dimensions; figure ``total_NAME`` per member.

        Raises
        ------
        KeyError
            If a variable is not recordable.
        """
        names = list(outcomes) if outcomes else [s.name for s in self.spec.stocks]
        unknown = [v for v in names if v not in self.compiled.recordable]
        if unknown:
            raise KeyError(f"the model has no variables {unknown}")
        return AppraisalMeasures({v: [] for v in names}, {f"total_{v}": () for v in names}, tuple(names))

    def appraisal_reduce(
        self, raw: Mapping[str, np.ndarray], measures: AppraisalMeasures
    ) -> dict[str, np.ndarray]:
        """Each variable's total over the reported months, per member of a chunk.

        Parameters
        ----------
        raw
            Recorded series of the chunk: name -> ``(m, T, 1)``.
        measures
            What :meth:`appraisal_measures` asked to record.

        Returns
        -------
        dict
            ``total_NAME`` -> ``(m,)`` (the variable's unit x reported months).
        """
        return {f"total_{v}": raw[v][:, :, 0].sum(axis=1) for v in measures.variables}

    def member_figures(
        self, values: Mapping[str, np.ndarray]
    ) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
        """Per-member figures that do not depend on the package (none for a generic model).

        Parameters
        ----------
        values
            Parameter and derived values by name, ``(members or 1, ...)``.

        Returns
        -------
        dict
            Figure -> ``(dims, array (m or 1, ...))``.
        """
        return {}


def compiled_model(spec: ModelSpec, kind: str, path: Path | None, problems: Problems) -> Model | None:
    """A model compiled now, so structural errors surface at load as problems (``None`` if any).

    Parameters
    ----------
    spec, kind, path
        The model specification, its kind (``"generic"``, ``"surge"`` ...) and the file it came from.
    problems
        Collects the structural errors and warnings.

    Returns
    -------
    Model or None
    """
    model = Model(spec, kind=kind, path=path, warnings=problems.warnings)
    try:
        model.compiled  # noqa: B018 - compiling is the check
    except SpecError as err:
        for m in err.problems:
            problems.add(m)
        return None
    return model

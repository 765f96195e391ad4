"""Surge models: a :class:`~simulator.core.Model` built from the six surge tables.

:class:`SurgeModel` is the surge kind of the model-kind interface: it keeps its
validated tables beside the spec, rebuilds the spec when curves or tables change,
and reports the demand sheet beside each run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from simulator.core._kind import AppraisalMeasures
from simulator.core._model import Model
from simulator.core._outputs import OutputDef
from simulator.core._problems import Problem
from simulator.surge._build import build_surge_spec
from simulator.surge._curves import generate
from simulator.surge._surge_outputs import CAPACITY_OUTPUTS, SENSITIVITY_MEASURES, SURGE_OUTPUTS
from simulator.surge._tables import SurgeTables

__all__ = ["START_FLOWS", "SurgeModel", "surge_model"]

#: flows that are treatment starts (a capacity model starts people at once or from its waiting lists)
START_FLOWS = ("new_treatment", "accepted_now", "start", "background_arrivals_now", "background_start")


@dataclass
class SurgeModel(Model):
    """A surge model: the spec built from ``tables``, with curve and table edits.

    Attributes
    ----------
    tables
        The validated tables (curves, groups, g2c, c2t, treatments, demand; capacity
        tables when the model has waiting lists).
    """

    tables: SurgeTables = field(kw_only=True)

    @property
    def curves(self) -> list[str]:
        """Names of the scenario curves (surge models)."""
        return list(self.tables.curves.columns)

    @property
    def curve_note(self) -> str:
        """The curve every group follows, or ``mixed: group=curve; ...``."""
        g = self.tables.groups
        curves = dict(zip(g["group"], g["curve"]))
        distinct = sorted(set(curves.values()))
        if len(distinct) == 1:
            return distinct[0]
        return "mixed: " + "; ".join(f"{k}={v}" for k, v in curves.items())

    def with_curve(self, curve: str) -> SurgeModel:
        """A copy with every population group on ``curve`` (surge models)."""
        tables = self.tables.with_curve(curve)
        return surge_model(tables, path=self.path, warnings=self.warnings)

    def with_curves(
        self,
        assign: dict[str, str] | None = None,
        define: dict[str, dict] | None = None,
        months: int | None = None,
    ) -> SurgeModel:
        """A copy with new curves defined and groups assigned to curves (surge models).

        Parameters
        ----------
        assign
            Group name (or ``"all"``) -> curve name; ``all`` applies first, then
            individual groups.
        define
            Curve name -> generator definition (see :mod:`simulator.surge._curves`), generated
            over the horizon.
        months
            Horizon the generated curves cover (default: the model's).

        Returns
        -------
        SurgeModel
        """
        t = self.tables
        horizon = max(months or t.months, t.months)
        curves = t.curves.reindex(range(horizon)).ffill()  # flat beyond the end, as the engine holds it
        curves.index.name = "month"
        for name, d in (define or {}).items():
            curves[name] = generate(d, horizon)
        groups = t.groups.copy()
        known = set(groups["group"])
        for g, c in (assign or {}).items():
            if c not in curves.columns:
                raise KeyError(f"unknown curve {c!r}; curves: {', '.join(curves.columns)}")
            if g == "all":
                groups["curve"] = c
        for g, c in (assign or {}).items():
            if g == "all":
                continue
            if g not in known:
                raise KeyError(f"unknown group {g!r}; groups: {', '.join(groups['group'])}")
            groups.loc[groups["group"] == g, "curve"] = c
        tables = SurgeTables(**{**t.__dict__, "curves": curves, "groups": groups})
        return self.with_tables(tables)

    def with_tables(self, tables: SurgeTables) -> SurgeModel:
        """A copy built from modified surge tables."""
        return surge_model(tables, path=self.path, warnings=self.warnings)

    # ------------------------------------------------------------------ the model-kind interface
    def reported_data(self, times: np.ndarray) -> dict[str, tuple]:
        """Data reported beside a run at whole-month ``times``: the demand sheet for surge models.

        ``underlying`` (pre-pandemic monthly referrals) and ``suppressed``
        (referrals held back by lockdown) per service, aligned on model months
        by calendar month; NaN where the sheet has no row.
        """
        key = tuple(float(t) for t in times)
        if key not in self._reported:
            self._reported[key] = self._demand_on(np.asarray(times, dtype=float))
        return self._reported[key]

    def _demand_on(self, times: np.ndarray) -> dict[str, tuple]:
        services = list(self.spec.dims["service"])
        d = self.tables.demand
        start = self.tables.start
        out = {}
        month_of = {round(t): j for j, t in enumerate(times) if abs(t - round(t)) < 1e-9}
        s_pos = {s: i for i, s in enumerate(services)}
        if start is not None and len(d):
            dates = pd.DatetimeIndex(d["month"])
            month = (dates.year - start.year) * 12 + (dates.month - start.month)
            j = np.array([month_of.get(int(mo), -1) for mo in month])
            i = np.array([s_pos.get(s, -1) for s in d["service"]])
            ok = (j >= 0) & (i >= 0)
        for col in ("underlying", "suppressed"):
            arr = np.full((len(times), len(services)), np.nan)
            if start is not None and len(d):
                arr[j[ok], i[ok]] = d[col].to_numpy(dtype=float)[ok]
            unit = "referrals per month"
            desc = (
                "pre-pandemic monthly referrals (the demand sheet)"
                if col == "underlying"
                else "referrals held back by lockdown, returning later (the demand sheet)"
            )
            out[col] = (("time", "service"), arr, {"units": unit, "description": desc})
        return out

    def ensemble_outputs(self) -> tuple[OutputDef, ...]:
        """Per-service referrals, starts, caseload and contacts; waiting-list outputs if capacitated.

        Returns
        -------
        tuple of OutputDef
            :data:`SURGE_OUTPUTS`, or :data:`CAPACITY_OUTPUTS` restricted to the
            quantities this model records.
        """
        if not self.spec.meta.get("capacity"):
            return SURGE_OUTPUTS
        present = set(self.compiled.recordable)
        return tuple(
            o if o.ratio else OutputDef(o.name, tuple(v for v in o.variables if v in present), o.keep, o.unit)
            for o in CAPACITY_OUTPUTS
        )

    def sensitivity_outputs(self, variables: Sequence[str] | None = None) -> tuple[OutputDef, ...]:
        """Referrals and caseload per service (``variables`` picks a model's own variables instead).

        Parameters
        ----------
        variables
            Names of the model's own variables to measure instead.

        Returns
        -------
        tuple of OutputDef
            Referrals measured by their horizon total, caseload by its peak and the
            month of the peak (:data:`~simulator.surge._surge_outputs.SENSITIVITY_MEASURES`).
        """
        if variables:
            return super().sensitivity_outputs(variables)
        measures = SENSITIVITY_MEASURES
        return tuple(
            replace(o, measures=measures[o.name]) for o in self.ensemble_outputs() if o.name in measures
        )

    def result_attrs(self) -> dict[str, str]:
        """Attributes of a results dataset: the curve, and a capacity model's assumptions.

        Returns
        -------
        dict
            ``curve`` (the curve every group follows); for capacity models also
            ``escalates_to`` (JSON object), ``capacitated`` and ``assumed_services``
            (JSON lists) and ``assumed_capacity`` (notes joined by ``"; "``).
        """
        attrs = {"curve": self.curve_note}
        meta = self.spec.meta
        if meta.get("capacity"):
            attrs["escalates_to"] = json.dumps(dict(meta.get("escalates_to", {})))
            attrs["capacitated"] = json.dumps(list(meta.get("capacitated", ())))
            attrs["assumed_capacity"] = "; ".join(meta.get("assumed_capacity", ()))
            attrs["assumed_services"] = json.dumps(list(meta.get("assumed_services", ())))
        return attrs

    # ------------------------------------------------------------------ appraisal of interventions
    #: every run per member, so an empty package reproduces the baseline exactly
    appraisal_allow_matrix: ClassVar[bool | None] = False

    def with_diversion_paths(self, interventions: Sequence[Any]) -> SurgeModel:
        """The model with zero-weight paths for every diversion target that has none.

        A diversion moves referral weight to services a (group, condition) may not
        yet be referred to; the path must exist in the compiled model.  With a
        split of 0 it changes no result of the baseline.

        Parameters
        ----------
        interventions
            Interventions (:class:`~simulator.analysis.Intervention`) to be run.

        Returns
        -------
        SurgeModel
            This model, or a copy whose c2t table has the missing paths.

        Raises
        ------
        ValueError
            If a diversion names services the model does not have.
        """
        rows = _diversion_rows(self.tables, [iv for iv in interventions if iv.lever == "diversion"])
        if not rows:
            return self
        c2t = pd.concat([self.tables.c2t, pd.DataFrame(rows)], ignore_index=True)
        return self.with_tables(SurgeTables(**{**self.tables.__dict__, "c2t": c2t}))

    def appraisal_check(self, interventions: Sequence[Any]) -> None:
        """Every cost can be counted in a surge model (its population, referrals and starts).

        Parameters
        ----------
        interventions
            The interventions to appraise.
        """

    def reach_flows(self, reach: str) -> tuple[str, ...]:
        """Flows that count people reached: ``new_referral`` for referrals, else the treatment starts.

        Parameters
        ----------
        reach
            ``referrals``, ``starts`` or ``added_starts``.

        Returns
        -------
        tuple of str
            Flow names of the model.
        """
        if reach == "referrals":
            return ("new_referral",)
        return tuple(f for f in START_FLOWS if f in self.compiled.flow_spaces)

    def appraisal_measures(self, outcomes: Sequence[str] | None = None) -> AppraisalMeasures:
        """Referrals, starts and contacts by service, at-risk by group; waiting lists if capacitated.

        Parameters
        ----------
        outcomes
            Ignored: a surge model is measured by its referrals, starts, contacts and people at risk.

        Returns
        -------
        AppraisalMeasures
            The flows and stocks recorded, and the per-member figures kept (totals over
            the reported months: people, or people x months for stocks).
        """
        wanted = {"new_referral": ["service"], **{f: ["service"] for f in self.reach_flows("starts")}}
        wanted.update({"contacts": ["service"], "at_risk": ["group"]})
        figures: dict[str, tuple[str, ...]] = {k: ("service",) for k in ("referrals", "starts", "contacts")}
        figures.update({"referrals_monthly": ("time",), "at_risk_months": ("group",)})
        if self.spec.meta.get("capacity"):  # the whole load competes for capacity
            for v in ("background_contacts", "waiting_all", "escalations_from_waiting"):
                wanted[v] = ["service"]
            figures.update({"waiting_months": ("service",), "escalations": ("service",)})
        return AppraisalMeasures(wanted, figures)

    def appraisal_reduce(
        self, raw: Mapping[str, np.ndarray], measures: AppraisalMeasures
    ) -> dict[str, np.ndarray]:
        """Per-member totals over the reported months of a chunk's recorded series.

        Parameters
        ----------
        raw
            Recorded series of the chunk: name -> ``(m, T, n)``.
        measures
            What :meth:`appraisal_measures` asked to record.

        Returns
        -------
        dict
            Figure -> ``(m, ...)``, as :meth:`appraisal_measures` lists them.
        """
        ref = raw["new_referral"]  # (m, T, S)
        contacts = raw["contacts"].sum(axis=1)
        if "waiting_months" in measures.figures:
            contacts = contacts + raw["background_contacts"].sum(axis=1)
        out = {
            "referrals": ref.sum(axis=1),
            "starts": sum(raw[f].sum(axis=1) for f in self.reach_flows("starts")),
            "contacts": contacts,
            "referrals_monthly": ref.sum(axis=2),
            # whole reported months: a sum over them is people x months
            "at_risk_months": raw["at_risk"].sum(axis=1),
        }
        if "waiting_months" in measures.figures:
            out["waiting_months"] = raw["waiting_all"].sum(axis=1)
            out["escalations"] = raw["escalations_from_waiting"].sum(axis=1)
        return out  # type: ignore[return-value]

    def member_figures(
        self, values: Mapping[str, np.ndarray]
    ) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
        """Each member's population by group (``size``, drawn or the model's).

        Parameters
        ----------
        values
            Drawn parameter values by name, ``(members, ...)``.

        Returns
        -------
        dict
            ``population`` -> ``(("group",), array (m or 1, groups))``, people.
        """
        return {"population": (("group",), values.get("size", self.spec.param("size").values[None, :]))}


def _diversion_rows(tables: SurgeTables, div: Sequence[Any]) -> list[dict]:
    """c2t rows of split 0 for every diversion target a (group, condition) in scope is not referred to."""
    if not div:
        return []
    paths = tables.paths()
    have = set(zip(paths["group"], paths["condition"], paths["treatment"]))
    services = set(tables.treatments["treatment"])
    rows = []
    for iv in div:
        bad = [s for s in (*iv.divert_from, *iv.divert_to) if s not in services]
        if bad:
            raise ValueError(f"{iv.name}: unknown services {bad}")
        for g, c in sorted({(g, c) for g, c, _ in have}):
            if iv.scope.get("group") and g not in iv.scope["group"]:
                continue
            if iv.scope.get("condition") and c not in iv.scope["condition"]:
                continue
            if not any((g, c, s) in have for s in iv.divert_from):
                continue
            for s in iv.divert_to:
                if (g, c, s) not in have:
                    have.add((g, c, s))
                    rows.append({"group": g, "condition": c, "treatment": s, "split": 0.0, "_row": -1})
    return rows


def surge_model(
    tables: SurgeTables, path: Path | None = None, warnings: list[Problem] | None = None
) -> SurgeModel:
    """A surge model built from validated tables.

    Parameters
    ----------
    tables
        Validated surge tables.
    path
        The file they were read from, if any.
    warnings
        Problems that did not stop loading.

    Returns
    -------
    SurgeModel
        The model, its spec built by :func:`~simulator.surge.build_surge_spec`.
    """
    return SurgeModel(
        build_surge_spec(tables), kind="surge", path=path, warnings=list(warnings or []), tables=tables
    )

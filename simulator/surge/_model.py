"""Surge models: a :class:`~simulator.core.Model` built from the six surge tables.

:class:`SurgeModel` is the surge kind of the model-kind interface: it keeps its
validated tables beside the spec, rebuilds the spec when curves or tables change,
and reports the demand sheet beside each run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.core._model import Model
from simulator.core._outputs import OutputDef
from simulator.core._problems import Problem
from simulator.surge._build import build_surge_spec
from simulator.surge._curves import generate
from simulator.surge._outputs import CAPACITY_OUTPUTS, SURGE_OUTPUTS
from simulator.surge._tables import SurgeTables

__all__ = ["SurgeModel", "surge_model"]


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
        """Referrals and caseload per service (``variables`` picks a model's own variables instead)."""
        if variables:
            return super().sensitivity_outputs(variables)
        return tuple(o for o in self.ensemble_outputs() if o.name in ("referrals", "caseload"))

    def result_attrs(self) -> dict[str, str]:
        """The curve every group follows (``curve`` attribute of a results dataset)."""
        return {"curve": self.curve_note}


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

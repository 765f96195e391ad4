"""A loaded model: its spec, where it came from, its warnings, and its source tables."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .compiler import CompiledModel, compile_spec
from .problems import Problem, Problems
from .spec import ModelSpec, SpecError
from .surge.tables import SurgeTables

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
    tables
        For surge models, the validated tables (curves, groups, ..., demand).
    warnings
        Problems that did not stop loading (e.g. c2t rows that are not paths).
    """

    spec: ModelSpec
    kind: str = "network"
    path: Path | None = None
    tables: SurgeTables | None = None
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
    def curves(self) -> list[str]:
        """Names of the scenario curves (surge models)."""
        return [] if self.tables is None else list(self.tables.curves.columns)

    @property
    def curve_note(self) -> str:
        """The curve every group follows, or ``mixed: group=curve; ...``."""
        if self.tables is None:
            return ""
        g = self.tables.groups
        curves = dict(zip(g["group"], g["curve"]))
        distinct = sorted(set(curves.values()))
        if len(distinct) == 1:
            return distinct[0]
        return "mixed: " + "; ".join(f"{k}={v}" for k, v in curves.items())

    def with_curve(self, curve: str) -> Model:
        """A copy with every population group on ``curve`` (surge models)."""
        if self.tables is None:
            raise ValueError(f"model {self.name!r} has no scenario curves")
        from .surge.build import build_surge_spec

        tables = self.tables.with_curve(curve)
        return replace(self, spec=build_surge_spec(tables), tables=tables, _compiled=None, _reported={})

    def with_curves(
        self,
        assign: dict[str, str] | None = None,
        define: dict[str, dict] | None = None,
        months: int | None = None,
    ) -> Model:
        """A copy with new curves defined and groups assigned to curves (surge models).

        Parameters
        ----------
        assign
            Group name (or ``"all"``) -> curve name; ``all`` applies first, then
            individual groups.
        define
            Curve name -> generator definition (see :mod:`simulator.curves`), generated
            over the horizon.
        months
            Horizon the generated curves cover (default: the model's).
        """
        from .curves import generate

        if self.tables is None:
            raise ValueError(f"model {self.name!r} has no scenario curves")
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

    def with_tables(self, tables: SurgeTables) -> Model:
        """A copy built from modified surge tables."""
        from .surge.build import build_surge_spec

        return replace(self, spec=build_surge_spec(tables), tables=tables, _compiled=None, _reported={})

    # ------------------------------------------------------------------ data beside the run
    def reported_data(self, times: np.ndarray) -> dict[str, tuple]:
        """Data reported beside a run at whole-month ``times``: the demand sheet for surge models.

        ``underlying`` (pre-pandemic monthly referrals) and ``suppressed``
        (referrals held back by lockdown) per service, aligned on model months
        by calendar month; NaN where the sheet has no row.
        """
        if self.tables is None:
            return {}
        key = tuple(float(t) for t in times)
        if key not in self._reported:
            self._reported[key] = self._demand_on(np.asarray(times, dtype=float))
        return self._reported[key]

    def _demand_on(self, times: np.ndarray) -> dict[str, tuple]:
        assert self.tables is not None
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


def compiled_model(spec: ModelSpec, kind: str, path: Path | None, problems: Problems) -> Model | None:
    """A model compiled now, so structural errors surface at load as problems (``None`` if any)."""
    model = Model(spec, kind=kind, path=path, warnings=problems.warnings)
    try:
        model.compiled  # noqa: B018 - compiling is the check
    except SpecError as err:
        for m in err.problems:
            problems.add(m)
        return None
    return model

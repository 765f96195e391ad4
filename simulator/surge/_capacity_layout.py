"""Where a capacity model's declarations live: services, wait bands, escalation routes and their spaces.

:func:`capacity_layout` reads the capacity, waiting and stages tables once;
the pieces of the capacity model (:mod:`._capacity_limit`,
:mod:`._capacity_waiting`, :mod:`._capacity_escalation`,
:mod:`._capacity_background`, :mod:`._capacity_arrivals`) each declare their
parameters, series, derived values, stocks and flows on the spaces found here,
as a :class:`Declarations` bundle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import pandas as pd

from simulator.core._spaces import Space
from simulator.core._spec import Aux, Flow, Param, Series, Stock
from simulator.surge._surge_parts import SurgeSpaces
from simulator.surge._tables import DEFAULT_STAGES, EIGHTEEN_WEEKS, SurgeTables

__all__ = ["CapacityLayout", "Declarations", "capacity_layout", "param", "waiting_column"]


@dataclass
class Declarations:
    """Part of a model's spec: parameters, series, derived values, stocks and flows, each in order."""

    params: list[Param] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    auxes: list[Aux] = field(default_factory=list)
    stocks: list[Stock] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)


@dataclass(frozen=True)
class CapacityLayout:
    """The services, wait bands and escalation routes of a capacity model, and their spaces.

    Attributes
    ----------
    capped
        Capacitated services (those with capacity rows), in model order.
    escalates_to
        Capacitated service -> the service its waiting people escalate to.
    waiting_rows
        The waiting table's rows of capacitated services, indexed by service (may be empty).
    stage_rows
        The wait bands: ``stage``, ``upper``, ``lower`` (months), ``escalation`` and
        ``dropout`` multipliers, ``over_18_weeks`` (share of the band beyond 18 weeks).
    widths
        Width of each band in months (0 for the open last band).
    caseload
        (group, service) pairs with a caseload: surge paths summed over conditions,
        and the escalation targets of their services (down the chain).
    waiting
        Caseload pairs of capacitated services.
    service
        Capacitated services.
    background
        Capacitated services, then unlimited services that people escalate to.
    n_extra
        How many of the latter.
    band, stage
        (service, stage) of capacitated services, and the stages alone.
    referred
        Caseload pairs of capacitated services that surge referrals reach.
    free_paths
        Surge paths to unlimited services.
    escalation_wait, escalation_direct
        Waiting pairs escalating to a capacitated / an unlimited service.
    background_escalation_wait, background_escalation_direct
        Capacitated services whose waiting people escalate to a capacitated / an unlimited service.
    aging
        Bands that age into a next one (all but the last stage).
    next_stage
        Stage -> the stage after it.
    to_first_band
        Target labels of a tally into the first wait band.
    sources
        Provenance notes of the ``capacity``, ``waiting`` and ``stages`` tables.
    """

    capped: tuple[str, ...]
    escalates_to: dict[str, str]
    waiting_rows: pd.DataFrame
    stage_rows: pd.DataFrame
    widths: list[float]
    caseload: Space
    waiting: Space
    service: Space
    background: Space
    n_extra: int
    band: Space
    stage: Space
    referred: Space
    free_paths: Space
    escalation_wait: Space
    escalation_direct: Space
    background_escalation_wait: Space
    background_escalation_direct: Space
    aging: Space
    next_stage: dict[str, str]
    to_first_band: dict[str, str]
    sources: dict[str, str]

    @property
    def stages(self) -> list[str]:
        """Names of the wait bands, shortest waits first."""
        return list(self.stage_rows["stage"])


def _stage_table(t: SurgeTables) -> pd.DataFrame:
    """The wait bands (stages table or the default bands) with bounds, multipliers and 18-week shares."""
    if t.stages is not None and len(t.stages):
        st = t.stages.copy()
    else:
        st = pd.DataFrame(
            {"stage": [s for s, _ in DEFAULT_STAGES], "upper": [u for _, u in DEFAULT_STAGES]}
        ).astype(object)
        st["escalation"] = None
        st["dropout"] = None
    st["escalation"] = [1.0 if v is None or pd.isna(v) else float(v) for v in st["escalation"]]
    st["dropout"] = [1.0 if v is None or pd.isna(v) else float(v) for v in st["dropout"]]
    lower = [0.0, *[float(u) for u in st["upper"][:-1]]]
    st["lower"] = lower
    # share of each band beyond 18 weeks (uniform ages within a band)
    over = []
    for lo, up in zip(lower, st["upper"]):
        if up is None or pd.isna(up):
            over.append(1.0)  # the open last band: treated as beyond 18 weeks
        else:
            over.append(float(np.clip((float(up) - EIGHTEEN_WEEKS) / (float(up) - lo), 0.0, 1.0)))
    st["over_18_weeks"] = over
    return st.reset_index(drop=True)


def _escalation_routes(t: SurgeTables, capped: list[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """The waiting rows of capacitated services, and where each one's waiting people escalate to."""
    wait = t.waiting if t.waiting is not None else pd.DataFrame(columns=["service", "escalates_to"])
    wait = wait[wait["service"].isin(capped)].set_index("service") if len(wait) else wait
    esc_to = {
        s: str(wait.loc[s, "escalates_to"])
        for s in capped
        if s in wait.index and not pd.isna(wait.loc[s, "escalates_to"])
    }
    return wait, esc_to


def _caseload_pairs(sp: SurgeSpaces, esc_to: dict[str, str]) -> list[tuple[str, str]]:
    """(group, service) pairs of the surge paths, plus escalation targets down the chain, in model order."""
    pair_list = list(dict.fromkeys((g, s) for g, _, s in sp.path.coords))
    have = set(pair_list)
    todo = list(pair_list)
    while todo:  # escalation targets (and theirs, down the chain) need caseload and waiting rows
        g, s = todo.pop()
        if s in esc_to and (g, esc_to[s]) not in have:
            have.add((g, esc_to[s]))
            pair_list.append((g, esc_to[s]))
            todo.append((g, esc_to[s]))
    g_order = {g: i for i, g in enumerate(sp.groups)}
    s_order = {s: i for i, s in enumerate(sp.services)}
    pair_list.sort(key=lambda p: (g_order[p[0]], s_order[p[1]]))
    return pair_list


def _subspace(space: Space, keep: Callable[[tuple[str, ...]], bool]) -> Space:
    """The elements of ``space`` whose coordinates pass ``keep``."""
    return Space(space.dims, tuple(c for c in space.coords if keep(c)))


def capacity_layout(t: SurgeTables, sp: SurgeSpaces) -> CapacityLayout:
    """The services, wait bands, escalation routes and spaces of the capacity model of ``t``.

    Parameters
    ----------
    t
        Validated surge tables with a capacity table.
    sp
        The surge model's spaces (:func:`simulator.surge._surge_parts.surge_spaces`).

    Returns
    -------
    CapacityLayout
        Everything the pieces of the capacity model declare on.
    """
    assert t.capacity is not None, "a capacity model needs a capacity table"
    st = _stage_table(t)
    stages = list(st["stage"])
    capped = [s for s in sp.services if s in set(t.capacity["service"])]
    cap_set = set(capped)
    wait, esc_to = _escalation_routes(t, capped)
    pair_list = _caseload_pairs(sp, esc_to)
    wait_space = Space(("group", "service"), tuple(p for p in pair_list if p[1] in cap_set))
    cap_space = Space(("service",), tuple((s,) for s in capped))
    # background caseloads: capacitated services, then unlimited services that people escalate to
    extra_targets = [s for s in sp.services if s in set(esc_to.values()) and s not in cap_set]
    cap_stage = Space(("service", "stage"), tuple((s, k) for s in capped for k in stages))
    referred = {(g, s) for g, _, s in sp.path.coords if s in cap_set}
    return CapacityLayout(
        capped=tuple(capped),
        escalates_to=esc_to,
        waiting_rows=wait,
        stage_rows=st,
        widths=[
            (float(u) - lo) if u is not None and not pd.isna(u) else 0.0
            for lo, u in zip(st["lower"], st["upper"])
        ],
        caseload=Space(("group", "service"), tuple(pair_list)),
        waiting=wait_space,
        service=cap_space,
        background=Space(("service",), tuple((s,) for s in [*capped, *extra_targets])),
        n_extra=len(extra_targets),
        band=cap_stage,
        stage=Space(("stage",), tuple((k,) for k in stages)),
        referred=Space(("group", "service"), tuple(p for p in pair_list if p in referred)),
        free_paths=_subspace(sp.path, lambda c: c[2] not in cap_set),
        escalation_wait=_subspace(wait_space, lambda c: esc_to.get(c[1]) in cap_set),
        escalation_direct=_subspace(wait_space, lambda c: c[1] in esc_to and esc_to[c[1]] not in cap_set),
        background_escalation_wait=_subspace(cap_space, lambda c: esc_to.get(c[0]) in cap_set),
        background_escalation_direct=_subspace(
            cap_space, lambda c: c[0] in esc_to and esc_to[c[0]] not in cap_set
        ),
        aging=_subspace(cap_stage, lambda c: c[1] != stages[-1]),
        next_stage=dict(pairwise(stages)),
        to_first_band={"stage": stages[0]},
        sources={
            "capacity": t.sources.get("capacity", f"{t.name}: capacity table"),
            "waiting": t.sources.get("waiting", f"{t.name}: waiting table"),
            "stages": t.sources.get("stages", "default wait bands (Upstream)"),
        },
    )


def waiting_column(lay: CapacityLayout, name: str, default: float) -> np.ndarray:
    """One value per capacitated service from a column of the waiting table (blank: ``default``).

    Parameters
    ----------
    lay
        The model's layout.
    name
        Column of the waiting table (``escalation_rate``, ``dropout_rate``, ``initial_waiting``).
    default
        Value for a service without a row or with a blank cell.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(lay.capped),)``.
    """
    wait = lay.waiting_rows
    if not len(wait) or name not in wait:
        return np.full(len(lay.capped), default)
    vals = []
    for s in lay.capped:
        v = wait.loc[s, name] if s in wait.index else None
        vals.append(default if v is None or pd.isna(v) else float(v))
    return np.asarray(vals)


def param(
    name: str,
    space: Space,
    values: object,
    unit: str,
    source: str,
    desc: str,
    bounds: tuple[float | None, float | None] = (0.0, None),
) -> Param:
    """A parameter with float values, not negative unless ``bounds`` say otherwise.

    Parameters
    ----------
    name, space, unit, source, desc
        As :class:`simulator.core._spec.Param` (``desc``: its description).
    values
        One value per element of ``space`` (any sequence of numbers).
    bounds
        Allowed range ``(low, high)``; ``None``: open.

    Returns
    -------
    Param
        The parameter.
    """
    return Param(name, space, np.asarray(values, dtype=float), unit, source, desc, bounds)

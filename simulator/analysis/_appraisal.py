"""Comparing intervention packages on the same ensemble draws.

Every package and the baseline run on the *same* members (common random
numbers): each block of members draws the scenario's uncertainty once, and the
interventions' effects and coverage once (keyed by intervention name), then
runs the baseline and every package.  Outcomes are differences from the
baseline member by member:

* referrals averted, per service and in total;
* treatment starts averted;
* people-months at risk averted (the at-risk stock summed over months);
* contacts saved;
* crisis-service referrals averted;
* cost, and cost per referral averted;
* for capacity models, person-months on waiting lists averted and
  escalations from waiting lists to crisis services averted, so extra
  capacity (downstream) and prevention (upstream) compare on one footing;
* for inequalities: people-months at risk per 1,000 population by group, and
  the gap and ratio between the highest and lowest group.

Interventions act as time-varying multipliers on parameters inside the
compiled model (see :mod:`simulator.analysis._interventions`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from simulator.analysis._interventions import Intervention, Package, ramp
from simulator.analysis._sampling import Sampler
from simulator.analysis._uncertainty import Design
from simulator.core._kernel import RecordItem
from simulator.core._model import Model
from simulator.core._run import make_record, model_grid, prepare_params, run_arrays
from simulator.core._spaces import aggregation_matrix
from simulator.core._workers import can_fork, shared_empty

__all__ = [
    "CRISIS_WORDS",
    "Appraisal",
    "InterventionEngine",
    "appraise",
    "crisis_services",
    "simulate_package",
]

#: words in a service's name that mark it as a crisis service (override with ``crisis_services``)
CRISIS_WORDS = ("crisis", "emergency", "999", "a&e", "liaison", "home treatment", "triage")
BASELINE = "baseline"


#: flows that are treatment starts (a capacity model starts people at once or from its waiting lists)
START_FLOWS = ("new_treatment", "accepted_now", "start", "background_arrivals_now", "background_start")


def start_flows(cm) -> tuple[str, ...]:
    """The model's flows that start people in treatment (``new_treatment`` in a surge model)."""
    return tuple(f for f in START_FLOWS if f in cm.flow_spaces)


def _reached(raw: Mapping[str, np.ndarray], iv: Intervention) -> np.ndarray:
    """Monthly people in an intervention's reach ``(m, T)``, summed over its recorded flows."""
    key = f"reach {iv.name}|"
    return sum(v[:, :, 0] for n, v in raw.items() if n.startswith(key))


def crisis_services(services: Sequence[str]) -> list[str]:
    """Services whose names mark them as crisis services (:data:`CRISIS_WORDS`)."""
    return [s for s in services if any(w in s.lower() for w in CRISIS_WORDS)]


def _prepare_model(model: Model, interventions: Sequence[Intervention]) -> Model:
    """The model with zero-weight paths for every diversion target that has none.

    A diversion moves referral weight to services a (group, condition) may not
    yet be referred to; the path must exist in the compiled model.  With a
    split of 0 it changes no result of the baseline.
    """
    div = [iv for iv in interventions if iv.lever == "diversion"]
    if not div:
        return model
    if getattr(model, "tables", None) is None:
        raise ValueError("diversion needs a surge model (services and referral splits)")
    t = model.tables
    c2t = t.c2t
    paths = t.paths()
    have = set(zip(paths["group"], paths["condition"], paths["treatment"]))
    services = set(t.treatments["treatment"])
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
    if not rows:
        return model
    from simulator.surge._tables import SurgeTables

    tables = SurgeTables(**{**t.__dict__, "c2t": pd.concat([c2t, pd.DataFrame(rows)], ignore_index=True)})
    return model.with_tables(tables)


@dataclass
class _Resolved:
    iv: Intervention
    param: str
    index: np.ndarray  # elements in scope (relative/absolute), or from-paths (diversion)
    to_index: np.ndarray | None = None  # diversion: to-paths
    to_share: np.ndarray | None = None  # diversion: share of each to-path within its (g, c)
    seg_from: np.ndarray | None = None  # diversion: (g, c) segment of each from-path
    seg_to: np.ndarray | None = None
    n_seg: int = 0


class InterventionEngine:
    """Interventions resolved against a model: parameter indices, draws, reach, costs.

    Parameters
    ----------
    model
        The model (already prepared with :func:`_prepare_model` if diversions are involved).
    interventions
        Every intervention of every package compared.
    """

    def __init__(self, model: Model, interventions: Sequence[Intervention]):
        self.model = model
        spec = model.spec
        params = {p.name: p for p in spec.params}
        self.resolved: dict[str, _Resolved] = {}
        problems = []
        for iv in interventions:
            if iv.name in self.resolved:
                continue
            p = params.get(iv.target)
            if p is None:
                problems.append(f"{iv.name}: the model has no parameter {iv.target!r}")
                continue
            mask = np.ones(len(p.space), dtype=bool)
            for dim, labels in iv.scope.items():
                if dim not in p.space.dims:
                    problems.append(f"{iv.name}: parameter {p.name} has no dimension {dim!r}")
                    continue
                have = np.asarray(p.space.labels(dim), dtype=object)
                bad = [lab for lab in labels if lab not in set(have)]
                if bad:
                    problems.append(f"{iv.name}: {dim} {bad} not in the model")
                mask &= np.isin(have, list(labels))
            if iv.lever != "diversion":
                idx = np.flatnonzero(mask)
                if len(idx) == 0:
                    problems.append(f"{iv.name}: the scope matches no element of {p.name}")
                self.resolved[iv.name] = _Resolved(iv, p.name, idx)
                continue
            svc = np.asarray(p.space.labels("service"), dtype=object)
            frm = np.flatnonzero(mask & np.isin(svc, list(iv.divert_from)))
            to = np.flatnonzero(mask & np.isin(svc, list(iv.divert_to)))
            pair = p.space.projection(p.space.sub(("group", "condition")))
            seg_ids, seg = np.unique(pair[np.r_[frm, to]], return_inverse=True)
            seg_from, seg_to = seg[: len(frm)], seg[len(frm) :]
            base = p.values[to]
            tot = np.bincount(seg_to, weights=base, minlength=len(seg_ids))
            cnt = np.bincount(seg_to, minlength=len(seg_ids)).astype(float)
            share = np.where(
                tot[seg_to] > 0, base / np.where(tot[seg_to] > 0, tot[seg_to], 1), 1 / cnt[seg_to]
            )
            self.resolved[iv.name] = _Resolved(iv, p.name, frm, to, share, seg_from, seg_to, len(seg_ids))
        if problems:
            raise ValueError("; ".join(problems))

    # ------------------------------------------------------------------ draws
    def columns(self) -> list[str]:
        """Draw columns: an effect per intervention, and a coverage where it is uncertain."""
        cols = []
        for name, r in self.resolved.items():
            cols.append(f"intervention {name}: effect")
            if not isinstance(r.iv.coverage, float):
                cols.append(f"intervention {name}: coverage")
        return cols

    def amplitudes(self, u: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Each intervention's drawn effect x coverage ``(m, 1)``, and its coverage ``(m, 1)``."""
        amp, cov = {}, {}
        k = 0
        u = np.clip(u, 1e-12, 1 - 1e-12)
        for name, r in self.resolved.items():
            e = r.iv.effect.ppf(u[:, k : k + 1])
            k += 1
            if isinstance(r.iv.coverage, float):
                c = np.full_like(e, r.iv.coverage)
            else:
                c = np.clip(r.iv.coverage.ppf(u[:, k : k + 1]), 0.0, 1.0)
                k += 1
            amp[name] = e * c
            cov[name] = c
        return amp, cov

    # ------------------------------------------------------------------ parameters over time
    def hook(self, package: Package, amp: Mapping[str, np.ndarray]):
        """``(values, start, stop) -> (values, run_arrays kwargs)`` applying ``package`` over time."""
        ivs = [self.resolved[iv.name] for iv in package.interventions]
        touched = sorted({r.param for r in ivs})
        bounds = {p.name: p.bounds for p in self.model.spec.params}

        def param_hook(values: dict[str, np.ndarray], start: int, stop: int):
            if not ivs:
                return values, {}
            arrays = {f"__amp__{r.iv.name}": amp[r.iv.name][start:stop] for r in ivs}
            # one entry per chunk (chunks run on threads): the same parameter set is returned,
            # by identity, while the ramps do not move, so the kernel reuses its coefficients
            cache: dict[int, tuple[tuple[float, ...], Mapping[str, np.ndarray]]] = {}

            def at(sub: Mapping[str, np.ndarray], t: float) -> Mapping[str, np.ndarray]:
                key = tuple(float(ramp(t, r.iv.start, r.iv.ramp_months, r.iv.end)) for r in ivs)
                hit = cache.get(id(sub))
                if hit is not None and hit[0] == key:
                    return hit[1]
                out = sub if not any(key) else _apply(sub, ivs, key, touched, bounds)
                cache[id(sub)] = (key, out)
                return out

            return values, {"varying": frozenset(touched), "param_at": at, "arrays": arrays}

        return param_hook

    # ------------------------------------------------------------------ reach and costs
    def added_start_items(self, packages: Sequence[Package]) -> list[RecordItem]:
        """Starts in scope of every ``added_starts`` intervention, recorded in the baseline run."""
        ivs = [iv for p in packages for iv in p.interventions if iv.reach == "added_starts" and iv.per_person]
        return self.reach_items(Package("added", tuple({iv.name: iv for iv in ivs}.values())))

    def reach_items(self, package: Package) -> list[RecordItem]:
        """Recorded monthly referrals or starts in each intervention's scope (for per-person costs)."""
        cm = self.model.compiled
        items = []
        for iv in package.interventions:
            if iv.reach == "population" or iv.per_person == 0:
                continue
            flows = ("new_referral",) if iv.reach == "referrals" else start_flows(cm)
            for flow in flows:
                space = cm.flow_spaces[flow]
                mask = np.ones(len(space), dtype=bool)
                for dim, labels in iv.scope.items():
                    if dim in space.dims:
                        mask &= np.isin(np.asarray(space.labels(dim), dtype=object), list(labels))
                if iv.lever == "diversion":
                    svc = np.asarray(space.labels("service"), dtype=object)
                    mask &= np.isin(svc, list(iv.divert_from))
                matrix = aggregation_matrix(np.zeros(len(space), np.intp), 1, mask.astype(float))
                items.append(RecordItem(f"reach {iv.name}|{flow}", matrix, 1, source=flow))
        return items

    def population_reach(
        self, iv: Intervention, values: Mapping[str, np.ndarray], cov: np.ndarray
    ) -> np.ndarray:
        """Coverage x the scoped groups' at-risk population (size x pcnt / 100), per member."""
        spec = self.model.spec
        size = values.get("size", spec.param("size").values[None, :])
        pcnt = values.get("pcnt", spec.param("pcnt").values[None, :])
        groups = np.asarray(spec.param("size").space.labels("group"), dtype=object)
        sel = np.isin(groups, list(iv.scope.get("group", groups)))
        return cov[:, 0] * (size[:, sel] * pcnt[:, sel] / 100).sum(axis=1)


def _apply(sub, ivs, key, touched, bounds):
    out = dict(sub)
    arrays = {p: np.array(sub[p], dtype=float, copy=True) for p in touched}
    rows = max(a.shape[0] for a in [*arrays.values(), *(sub[f"__amp__{r.iv.name}"] for r in ivs)])
    arrays = {
        p: np.asfortranarray(np.repeat(a, rows, axis=0)) if a.shape[0] == 1 and rows > 1 else a
        for p, a in arrays.items()
    }
    # relative effects multiply, then absolute effects add, then diversions move weight
    order = sorted(
        range(len(ivs)), key=lambda i: {"relative": 0, "absolute": 1}.get(ivs[i].iv.effect_type, 0)
    )
    order = [i for i in order if ivs[i].iv.lever != "diversion"] + [
        i for i in order if ivs[i].iv.lever == "diversion"
    ]
    for i in order:
        r, k = ivs[i], key[i]
        if k == 0:
            continue
        a = sub[f"__amp__{r.iv.name}"] * k  # (rows, 1)
        arr = arrays[r.param]
        if r.iv.lever == "diversion":
            moved = arr[:, r.index] * a
            arr[:, r.index] -= moved
            seg_moved = np.zeros((arr.shape[0], r.n_seg))
            np.add.at(seg_moved.T, r.seg_from, moved.T)
            arr[:, r.to_index] += seg_moved[:, r.seg_to] * r.to_share
        elif r.iv.effect_type == "relative":
            arr[:, r.index] *= 1.0 + a
        else:
            arr[:, r.index] += a
    for p, arr in arrays.items():
        lo, hi = bounds[p]
        if lo is not None or hi is not None:
            np.clip(arr, lo, hi, out=arr)
        out[p] = arr
    return out


# ---------------------------------------------------------------------------- appraisal
@dataclass
class Appraisal:
    """Per-member outcomes of the baseline and every package on common draws.

    Attributes
    ----------
    members
        ``(package, member, ...)`` dataset: ``referrals`` / ``starts`` / ``contacts``
        totals per service, ``referrals_monthly`` (all services, per month),
        ``at_risk_months`` per group, ``crisis_referrals``, ``cost``; for capacity
        models also ``waiting_months`` (person-months on waiting lists) and
        ``escalations`` (people escalating from waiting lists) per service.
    """

    members: xr.Dataset
    packages: list[str]
    crisis: list[str]
    meta: dict[str, object] = field(default_factory=dict)

    OUTCOMES: ClassVar[dict[str, str]] = {
        "referrals": "referrals averted",
        "starts": "treatment starts averted",
        "at_risk": "people-months at risk averted",
        "contacts": "contacts saved",
        "crisis": "crisis referrals averted",
    }
    #: outcomes of capacity models (waiting lists)
    CAPACITY_OUTCOMES: ClassVar[dict[str, str]] = {
        "waiting": "person-months waiting averted",
        "escalations": "escalations to crisis averted",
    }

    @property
    def outcomes(self) -> dict[str, str]:
        """Outcome keys and labels (waiting lists for capacity models; variables for other models)."""
        if self.meta.get("variables"):
            return {v: f"{v} (total) averted" for v in self.meta["variables"]}  # type: ignore[union-attr]
        if "waiting_months" in self.members:
            return {**self.OUTCOMES, **self.CAPACITY_OUTCOMES}
        return dict(self.OUTCOMES)

    @property
    def main_outcome(self) -> str:
        """The outcome costs are divided by: referrals, or a non-surge model's first variable."""
        return next(iter(self.outcomes)) if self.meta.get("variables") else "referrals"

    def averted(self, outcome: str = "referrals") -> xr.DataArray:
        """Baseline minus package, per member (positive = better), for an outcome."""
        m = self.members
        if self.meta.get("variables"):
            if outcome not in self.outcomes:
                raise KeyError(f"outcome {outcome!r} is not one of {', '.join(self.outcomes)}")
            total = m[f"total_{outcome}"]
            return total.sel(package=BASELINE) - total
        total = {
            "referrals": m["referrals"].sum("service"),
            "starts": m["starts"].sum("service"),
            "contacts": m["contacts"].sum("service"),
            "at_risk": m["at_risk_months"].sum("group"),
            "crisis": m["crisis_referrals"],
            "waiting": m["waiting_months"].sum("service") if "waiting_months" in m else None,
            "escalations": m["escalations"].sum("service") if "escalations" in m else None,
        }[outcome]
        if total is None:
            raise KeyError(f"outcome {outcome!r} needs a capacity model")
        return total.sel(package=BASELINE) - total

    def table(self, quantiles: Sequence[float] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
        """Per package: every outcome and the cost, median and interval over members."""
        rows = []
        for p in self.packages:
            if p == BASELINE:
                continue
            row: dict[str, object] = {"package": p}
            for key, label in self.outcomes.items():
                q = np.quantile(self.averted(key).sel(package=p).to_numpy(), quantiles)
                row[f"{label} median"], row[f"{label} low"], row[f"{label} high"] = q[1], q[0], q[2]
            cost = self.members["cost"].sel(package=p).to_numpy()
            q = np.quantile(cost, quantiles)
            row["cost median"], row["cost low"], row["cost high"] = q[1], q[0], q[2]
            main = self.main_outcome
            unit = "referral" if main == "referrals" else main
            averted = self.averted(main).sel(package=p).to_numpy()
            with np.errstate(divide="ignore", invalid="ignore"):
                per = np.where(averted > 0, cost / averted, np.nan)
            ok = per[np.isfinite(per)]
            q = np.quantile(ok, quantiles) if len(ok) else [np.nan] * 3
            row[f"cost per {unit} averted median"] = q[1]
            row[f"cost per {unit} averted low"], row[f"cost per {unit} averted high"] = q[0], q[2]
            row[f"share of members averting {main}"] = float(np.mean(averted > 0))
            rows.append(row)
        return pd.DataFrame(rows)

    def format_table(self) -> str:
        """The outcome table as text: ``median [low to high]``."""
        t = self.table()
        out = pd.DataFrame({"Package": t["package"]})
        main = self.main_outcome
        per = f"cost per {'referral' if main == 'referrals' else main} averted"
        for label in [*self.outcomes.values(), "cost", per]:
            fmt = "£{:,.0f}" if label.startswith("cost") else "{:,.0f}"
            out[label] = [
                f"{fmt.format(m)} [{fmt.format(a)} to {fmt.format(b)}]"
                for m, a, b in zip(t[f"{label} median"], t[f"{label} low"], t[f"{label} high"])
            ]
        return out.to_string(index=False)

    def service_table(self, package: str, outcome: str = "referrals") -> pd.DataFrame:
        """Per service: median and 90% interval of what a package averts."""
        da = self.members[outcome].sel(package=BASELINE) - self.members[outcome].sel(package=package)
        q = da.quantile([0.05, 0.5, 0.95], dim="member").transpose("service", "quantile").to_numpy()
        df = pd.DataFrame(q, columns=["low", "median", "high"])
        df.insert(0, "service", self.members["service"].to_numpy())
        return df.sort_values("median", ascending=False).reset_index(drop=True)

    def beats(self, outcome: str = "referrals") -> pd.DataFrame:
        """P(row package averts more than column package), over members."""
        names = [p for p in self.packages if p != BASELINE]
        av = {p: self.averted(outcome).sel(package=p).to_numpy() for p in names}
        mat = np.array([[np.mean(av[a] > av[b]) if a != b else np.nan for b in names] for a in names])
        return pd.DataFrame(mat, index=names, columns=names)

    def inequality(self) -> pd.DataFrame:
        """People-months at risk per 1,000 population by group (median), and the gap and ratio."""
        m = self.members
        rate = m["at_risk_months"] / m["population"] * 1000
        med = rate.median("member").to_pandas().T  # group x package
        out = med.copy()
        gap = med.max() - med.min()
        ratio = med.max() / med.min().replace(0, np.nan)
        out.loc["gap (highest - lowest)"] = gap
        out.loc["ratio (highest / lowest)"] = ratio
        return out


#: members per block of :func:`appraise` (every member at once up to this many)
APPRAISE_BLOCK = 16_384


@dataclass
class _ChunkReducer:
    """One run's per-member figures from a chunk's recorded series (called where the chunk ran).

    Rows ``a0 + c0 .. a0 + c1 - 1`` of the store are this chunk's members; the
    baseline run (``k == 0``) also keeps its monthly reach for interventions
    costed by added starts.
    """

    store: dict[str, np.ndarray]
    base_reach: dict[str, np.ndarray]
    added: dict[str, Intervention]
    k: int
    pkg: Package
    a0: int
    starts: Sequence[str]
    capacity: bool
    months: int
    report_times: np.ndarray
    cov: Mapping[str, np.ndarray]
    pop_reach: Mapping[str, np.ndarray]

    def __call__(self, c0: int, c1: int, raw: Mapping[str, np.ndarray]) -> None:
        st, k = self.store, self.k
        i0, i1 = self.a0 + c0, self.a0 + c1
        ref = raw["new_referral"]  # (m, T, S)
        st["referrals"][k, i0:i1] = ref.sum(axis=1)
        st["referrals_monthly"][k, i0:i1] = ref.sum(axis=2)
        st["starts"][k, i0:i1] = sum(raw[f].sum(axis=1) for f in self.starts)
        st["contacts"][k, i0:i1] = raw["contacts"].sum(axis=1)
        if self.capacity:
            st["contacts"][k, i0:i1] += raw["background_contacts"].sum(axis=1)
            # whole reported months: people waiting summed over months is person-months
            st["waiting_months"][k, i0:i1] = raw["waiting_all"].sum(axis=1)
            st["escalations"][k, i0:i1] = raw["escalations_from_waiting"].sum(axis=1)
        # whole reported months: a sum over them is people x months
        st["at_risk_months"][k, i0:i1] = raw["at_risk"].sum(axis=1)
        if k == 0:
            for name, iv in self.added.items():
                self.base_reach[name][i0:i1] = _reached(raw, iv)
        cost = np.zeros(c1 - c0)
        for iv in self.pkg.interventions:
            cost += iv.fixed_per_month * iv.active_months(self.months)
            if iv.per_person:
                if iv.reach == "population":
                    reached = self.pop_reach[iv.name][c0:c1]
                elif iv.reach == "added_starts":
                    more = _reached(raw, iv) - self.base_reach[iv.name][i0:i1]
                    reached = np.maximum(0.0, more.sum(axis=1))
                else:
                    r = ramp(self.report_times, iv.start, iv.ramp_months, iv.end)
                    flow = _reached(raw, iv)  # (m, T) per month
                    reached = self.cov[iv.name][i0:i1, 0] * (flow * r[None, :]).sum(axis=1)
                cost += iv.per_person * reached
        st["cost"][k, i0:i1] = cost


def appraise(
    model: Model,
    packages: Sequence[Package],
    *,
    design: Design | None = None,
    members: int = 1000,
    seed: int = 0,
    sampler: str = "lhs",
    months: int | None = None,
    dt: float | None = None,
    method: str = "euler",
    crisis: Sequence[str] | None = None,
    block_size: int | None = None,
    chunk_size: int | None = None,
    workers: int | None = None,
    progress: bool = False,
    outcomes: Sequence[str] | None = None,
) -> Appraisal:
    """Run the baseline and every package on common draws; per-member outcomes.

    ``design`` is the scenario's uncertainty (its groups, resolved on the model
    again because diversions may add paths); ``crisis`` lists the crisis
    services (default: by name, :data:`CRISIS_WORDS`).  Models that are not
    surge models (network models, Vensim imports) are measured by their own
    variables, ``outcomes`` (default every stock): see
    :func:`simulator.analysis._appraisal_generic.appraise_variables`.
    """
    if getattr(model, "tables", None) is None:
        from simulator.analysis._appraisal_generic import appraise_variables

        return appraise_variables(
            model,
            packages,
            design=design,
            outcomes=outcomes,
            members=members,
            seed=seed,
            sampler=sampler,
            months=months,
            dt=dt,
            method=method,
            block_size=block_size,
            chunk_size=chunk_size,
            workers=workers,
            progress=progress,
        )
    all_iv = [iv for p in packages for iv in p.interventions]
    model = _prepare_model(model, all_iv)
    cm = model.compiled
    engine = InterventionEngine(model, all_iv)
    design = Design(model.spec, design.groups if design is not None else [])
    months = months or model.spec.horizon
    grid, _ = model_grid(model.spec, months, dt)
    services = list(model.spec.dims["service"])
    groups = list(model.spec.dims["group"])
    crisis = list(crisis) if crisis is not None else crisis_services(services)
    crisis_idx = [services.index(s) for s in crisis]
    runs = [Package(BASELINE, ()), *packages]
    names = [p.name for p in runs]
    if len(set(names)) != len(names):
        raise ValueError(f"package names must differ: {names}")
    smp = Sampler(sampler, seed, tuple(design.columns), members)
    ivs = Sampler(sampler, seed, tuple(engine.columns()), members)
    u_iv = ivs.draws(0, members)
    amp, cov = engine.amplitudes(u_iv)
    capacity = bool(model.spec.meta.get("capacity"))
    starts = start_flows(cm)
    wanted = {
        "new_referral": ["service"],
        **{f: ["service"] for f in starts},
        "contacts": ["service"],
        "at_risk": ["group"],
    }
    if capacity:  # the whole load competes for capacity: waiting lists, escalation, background contacts
        wanted.update(
            {
                "background_contacts": ["service"],
                "waiting_all": ["service"],
                "escalations_from_waiting": ["service"],
            }
        )
    base_items, _ = make_record(cm, wanted)
    n_t = len(grid.report_times)
    report_times = np.asarray(grid.report_times)
    # per-member figures are reduced where each chunk runs (forked workers write to shared
    # memory, which starts zeroed); nothing of a run is kept beyond them
    alloc = shared_empty if can_fork() else np.zeros
    store = {
        "referrals": alloc((len(runs), members, len(services))),
        "starts": alloc((len(runs), members, len(services))),
        "contacts": alloc((len(runs), members, len(services))),
        "referrals_monthly": alloc((len(runs), members, n_t)),
        "at_risk_months": alloc((len(runs), members, len(groups))),
        "cost": alloc((len(runs), members)),
        "population": np.zeros((members, len(groups))),
    }
    if capacity:
        store["waiting_months"] = alloc((len(runs), members, len(services)))
        store["escalations"] = alloc((len(runs), members, len(services)))
    added = {
        iv.name: iv
        for p in packages
        for iv in p.interventions
        if iv.reach == "added_starts" and iv.per_person
    }
    base_reach = {name: alloc((members, n_t)) for name in added}  # the baseline's reach, per month
    if block_size is None:
        block_size = max(1, min(members, APPRAISE_BLOCK))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=members * len(runs), unit="run", desc="packages")
    try:
        for a in range(0, members, block_size):
            b = min(members, a + block_size)
            m = b - a
            u = smp.draws(a, b)
            values = design.apply(u)
            size = values.get("size", model.spec.param("size").values[None, :])
            store["population"][a:b] = np.broadcast_to(size, (m, len(groups)))
            for k, pkg in enumerate(runs):
                hook = engine.hook(pkg, amp)
                vals, extra = hook(dict(values), a, b)
                arrays = extra.pop("arrays", {})
                params, _ = prepare_params(cm, vals)
                params = {
                    n: (
                        np.asfortranarray(np.repeat(v, m, axis=0))
                        if v.shape[0] == 1 and n in vals and m > 1
                        else v
                    )
                    for n, v in params.items()
                }
                params.update(arrays)
                items = base_items + (
                    engine.added_start_items(packages) if k == 0 else engine.reach_items(pkg)
                )
                pop_reach = {
                    iv.name: engine.population_reach(iv, values, cov[iv.name][a:b])
                    for iv in pkg.interventions
                    if iv.per_person and iv.reach == "population"
                }
                reduce = _ChunkReducer(
                    store,
                    base_reach,
                    added,
                    k,
                    pkg,
                    a,
                    starts,
                    capacity,
                    months,
                    report_times,
                    cov,
                    pop_reach,
                )
                run_arrays(
                    cm,
                    params,
                    m,
                    grid,
                    items,
                    method=method,
                    chunk_size=chunk_size,
                    workers=workers,
                    allow_matrix=False,
                    after=reduce,
                    progress=bar.update if bar else None,
                    **extra,
                )
    finally:
        if bar:
            bar.close()
    crisis_ref = store["referrals"][:, :, crisis_idx].sum(axis=2)
    ds = xr.Dataset(
        {
            "referrals": (("package", "member", "service"), store["referrals"]),
            "starts": (("package", "member", "service"), store["starts"]),
            "contacts": (("package", "member", "service"), store["contacts"]),
            "referrals_monthly": (("package", "member", "time"), store["referrals_monthly"]),
            "at_risk_months": (("package", "member", "group"), store["at_risk_months"]),
            "crisis_referrals": (("package", "member"), crisis_ref),
            "cost": (("package", "member"), store["cost"]),
            "population": (("member", "group"), store["population"]),
            **{
                k: (("package", "member", "service"), store[k])
                for k in ("waiting_months", "escalations")
                if k in store
            },
        },
        coords={
            "package": names,
            "member": np.arange(members),
            "service": services,
            "group": groups,
            "time": np.asarray(grid.report_times),
        },
    )
    meta = {"members": members, "seed": seed, "sampler": sampler, "months": months, "dt": grid.dt}
    return Appraisal(ds, names, crisis, meta)


def simulate_package(
    model: Model,
    package: Package,
    *,
    params: Mapping[str, object] | None = None,
    months: int | None = None,
    dt: float | None = None,
    method: str = "euler",
    record=None,
    quantile: float = 0.5,
    diversions_of: Sequence[Package] = (),
) -> xr.Dataset:
    """One run with ``package`` applied, its effects and coverage at a quantile (default the median).

    Runs on the per-member kernel (as :func:`appraise` does), so an empty package
    is the exact baseline to compare against.  ``diversions_of`` lists other
    packages whose diversion paths the model should also carry (to compare runs
    on identical path sets).
    """
    from simulator.core._results import to_dataset

    all_iv = [*package.interventions, *(iv for p in diversions_of for iv in p.interventions)]
    prepared = _prepare_model(model, all_iv)
    cm = prepared.compiled
    engine = InterventionEngine(prepared, all_iv)
    amp, _ = engine.amplitudes(np.full((1, len(engine.columns())), quantile))
    base, _ = prepare_params(cm, params)
    values = {k: v for k, v in base.items() if params and k in params}
    vals, extra = engine.hook(package, amp)(dict(values), 0, 1)
    arrays = extra.pop("arrays", {})
    p, _ = prepare_params(cm, vals)
    p.update(arrays)
    grid, _ = model_grid(prepared.spec, months or prepared.spec.horizon, dt)
    items, spaces = make_record(cm, record)
    out = run_arrays(cm, p, 1, grid, items, method=method, allow_matrix=False, **extra)
    return to_dataset(
        cm, out, spaces, grid, prepared, attrs={"dt": grid.dt, "method": method, "package": package.name}
    )

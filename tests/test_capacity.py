"""Capacity, waiting lists and escalation: closed forms, conservation, Little's law, steps, levers.

Small queue models are written as workbooks (so the optional capacity, waiting
and stages sheets go through the reader and validator); the England capacity
model is checked for conservation of people and against the surge model.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from tiny import write_tiny

import simulator as up
from simulator.surge import EIGHTEEN_WEEKS, capacity_summary, service_load

START = dt.datetime(2020, 5, 1)


def month(m: int) -> dt.datetime:
    return dt.datetime(2020 + (4 + m) // 12, (4 + m) % 12 + 1, 1)


def queue_sheets(
    lam: float,
    capacity: list[tuple[int, float | None, float | None]],
    months: int = 24,
    *,
    dropout: float | None = None,
    escalation: tuple[str, float] | None = None,
    initial: float | None = None,
    pulse: tuple[int, float] | None = None,
    stages: list[list[object]] | None = None,
    crisis_capacity: list[tuple[int, float | None, float | None]] | None = None,
) -> dict[str, list[list[object]]]:
    """One service ``S`` fed by ``lam`` background referrals a month (all accepted).

    ``capacity`` rows are ``(month, starts, ceiling)``.  Group ``A`` has nobody at
    risk; with ``pulse=(m, people)`` group ``B`` (a tagged cohort) arrives in
    month ``m``.  ``escalation=(rate, ...)`` sends waiters to service ``C``.
    """
    curve_a = [1.0] + [0.0] * (months - 1)  # group A has nobody at risk (pcnt 0)
    curve_b = [0.0] * months
    size_b = 0.0
    curve_b[pulse[0] if pulse else 0] = 1.0
    if pulse is not None:
        size_b = pulse[1]
    sheets: dict[str, list[list[object]]] = {
        "curves": [["month", "flat", "pulse"]] + [[m, curve_a[m], curve_b[m]] for m in range(months)],
        "groups": [["group", "curve", "size", "pcnt"], ["A", "flat", 1000, 0], ["B", "pulse", size_b, 100]],
        "g2c": [["group", "condition", "pcnt"], ["A", "X", 0.5], ["B", "X", 0.5]],
        "c2t": [
            ["group", "condition", "treatment", "split"],
            ["A", "X", "S", 1],
            ["B", "X", "S", 1],
        ],
        "treatments": [
            ["treatment", "success", "months", "decay", "demand", "treat_pcnt"],
            ["S", 1.0, 1, 0.5, 2, 1.0],
            ["C", 1.0, 1, 0.5, 3, 1.0],
        ],
        "demand": [["service", "month", "underlying", "suppressed"]]
        + [[s, month(m), (lam if s == "S" else 0.0), 0] for s in ("S", "C") for m in range(months)],
        "capacity": [["service", "month", "starts", "ceiling", "headroom"]]
        + [["S", m, c, ceil, None] for m, c, ceil in capacity]
        + [["C", m, c, ceil, None] for m, c, ceil in (crisis_capacity or [])],
    }
    wait = [["service", "escalates_to", "escalation_rate", "dropout_rate", "initial_waiting"]]
    if dropout is not None or escalation is not None or initial is not None:
        wait.append(
            [
                "S",
                "C" if escalation else None,
                escalation[1] if escalation else None,
                dropout,
                initial,
            ]
        )
    if len(wait) > 1:
        sheets["waiting"] = wait
    if stages is not None:
        sheets["stages"] = [["stage", "upper", "escalation", "dropout"], *stages]
    return sheets


def load(tmp_path, sheets, name="queue.xlsx") -> up.Model:
    return up.load_model(write_tiny(tmp_path / name, sheets))


def total_waiting(ds) -> np.ndarray:
    return ds["waiting_all"].sel(service="S").isel(member=0).to_numpy()


# ---------------------------------------------------------------- unlimited capacity


def test_unlimited_capacity_reproduces_the_surge_model_exactly():
    base = up.load_model("england")
    t = base.tables
    services = list(t.treatments["treatment"])
    cap = pd.DataFrame(
        {"service": services, "month": 0, "starts": 1e12, "ceiling": None, "headroom": None}
    ).astype({"ceiling": object, "headroom": object})
    capped = base.with_tables(replace(t, capacity=cap))
    assert capped.spec.meta["capacity"]
    for dt_ in (1.0, 0.25):
        a = up.simulate(base, dt=dt_, record="all")
        b = up.simulate(capped, dt=dt_, record="all")
        for name in ("at_risk", "no_mh_needs"):
            np.testing.assert_allclose(b[name], a[name], rtol=1e-9, atol=1e-9)
        case_a = a["treatment"].sum("condition")
        np.testing.assert_allclose(b["treatment"].transpose(*case_a.dims), case_a, rtol=1e-9, atol=1e-6)
        starts_a = a["new_treatment"].sum("condition").transpose(*b["accepted_now"].dims)
        np.testing.assert_allclose(b["accepted_now"], starts_a, rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(b["new_referral"], a["new_referral"], rtol=1e-9, atol=1e-9)
        assert float(np.abs(b["waiting"]).max()) < 1e-6
        assert float(np.abs(b["background_waiting"]).max()) < 1e-6


def test_services_without_a_capacity_row_start_at_once():
    base = up.load_model("england")
    cap = pd.DataFrame(
        {"service": ["IAPT"], "month": [0], "starts": [1.0], "ceiling": [None], "headroom": [None]}
    )
    m = base.with_tables(replace(base.tables, capacity=cap))
    b = up.simulate(m)
    other = [s for s in m.spec.dims["service"] if s != "IAPT"]
    treat = m.tables.treatments.set_index("treatment")["treat_pcnt"]
    accepted = b["new_referral"].sel(service=other) * xr.DataArray(
        treat[other].to_numpy(), dims="service", coords={"service": other}
    )
    np.testing.assert_allclose(b["new_treatment"].sel(service=other), accepted, rtol=1e-12)
    waiting = service_load(b)["waiting"]
    assert list(waiting["service"].to_numpy()) == ["IAPT"]
    assert float(waiting.isel(member=0, time=-1).squeeze()) > 1e5  # one start a month: the list grows


# ---------------------------------------------------------------- closed forms


@pytest.mark.parametrize("step", [1.0, 0.5, 0.25])
def test_queue_grows_by_arrivals_minus_capacity(tmp_path, step):
    m = load(tmp_path, queue_sheets(500, [(0, 300, None)]))
    ds = up.simulate(m, dt=step)
    t = ds["time"].to_numpy()
    np.testing.assert_allclose(total_waiting(ds), 200 * t, rtol=1e-12, atol=1e-9)
    load_ = service_load(ds).isel(member=0).sel(service="S")
    np.testing.assert_allclose(load_["starts"], 300, rtol=1e-12)
    np.testing.assert_allclose(load_["utilisation"], 1.0, rtol=1e-12)
    # capacity left after the list goes to arrivals; the rest of them join the list
    left = 300 - load_["starts_from_waiting"]
    np.testing.assert_allclose(load_["unmet_need"], 500 - left, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(load_["unmet_need"][t >= 2], 500, rtol=1e-12)  # the list takes it all


@pytest.mark.parametrize("step", [1.0, 0.25])
def test_queue_below_capacity_drains_as_the_closed_form_says(tmp_path, step):
    # 1,000 waiting at month 0, 200 arrivals and 300 starts a month: the list falls by
    # 100 a month, is empty at month 10 and stays empty
    m = load(tmp_path, queue_sheets(200, [(0, 300, None)], initial=1000))
    ds = up.simulate(m, dt=step)
    t = ds["time"].to_numpy()
    np.testing.assert_allclose(total_waiting(ds), np.maximum(0, 1000 - 100 * t), rtol=1e-12, atol=1e-9)
    load_ = service_load(ds).isel(member=0).sel(service="S")
    np.testing.assert_allclose(load_["starts"][t >= 10], 200, rtol=1e-12)  # then every arrival starts at once


@pytest.mark.parametrize("step", [1.0, 0.5])
def test_queue_with_dropout_settles_at_the_closed_form(tmp_path, step):
    lam, cap, d = 500.0, 300.0, 0.2
    m = load(tmp_path, queue_sheets(lam, [(0, cap, None)], months=60, dropout=d))
    ds = up.simulate(m, dt=step)
    t = ds["time"].to_numpy()
    # Euler: W[n+1] = W[n] + dt (lam - cap - d W[n]), W[0] = 0
    w_star = (lam - cap) / d
    expected = w_star * (1 - (1 - d * step) ** (t / step))
    np.testing.assert_allclose(total_waiting(ds), expected, rtol=1e-10, atol=1e-9)
    assert abs(total_waiting(ds)[-1] - w_star) < 1e-2  # settled: (1 - d dt)^(59 / dt) of the way left


def test_littles_law_holds_in_steady_state(tmp_path):
    # background arrivals lam into a list served at capacity with drop-out; a small tagged
    # cohort (group B) arrives at month 60, once the list is steady.  The cohort's person-months
    # waited per person who joined equals L / lam of the whole list (Little's law).
    lam, cap, d = 1000.0, 700.0, 0.25
    # the cohort is tiny so that it barely moves the list it joins (the hazards depend on it)
    sheets = queue_sheets(lam, [(0, cap, None)], months=160, dropout=d, pulse=(60, 0.02))
    m = load(tmp_path, sheets)
    ds = up.simulate(m, dt=1.0, record=["waiting", "accepted", "waiting_all"])
    w = ds["waiting"].sel(group="B", service="S").isel(member=0).to_numpy()
    joined = ds["accepted"].sel(group="B", service="S").isel(member=0).to_numpy()
    assert w[-1] < 1e-9 * w.max()  # the cohort has left the list
    sojourn = w.sum() / joined.sum()  # person-months per person (dt = 1: whole-month sums)
    steady = total_waiting(ds)[59]
    little = steady / lam
    assert steady == pytest.approx((lam - cap) / d, rel=1e-6)  # steady by month 59
    assert sojourn == pytest.approx(little, rel=1e-5)


def test_reported_mean_wait_is_list_over_exits(tmp_path):
    lam, cap, d = 1000.0, 700.0, 0.25
    m = load(tmp_path, queue_sheets(lam, [(0, cap, None)], months=80, dropout=d))
    load_ = service_load(up.simulate(m)).isel(member=0).sel(service="S")
    w_star = (lam - cap) / d
    assert float(load_["mean_wait"][-1]) == pytest.approx(w_star / lam, rel=1e-6)
    assert float(load_["dropouts"][-1]) == pytest.approx(d * w_star, rel=1e-6)


# ---------------------------------------------------------------- capacity steps and ceilings


@pytest.mark.parametrize("step", [1.0, 0.25])
def test_capacity_steps_take_effect_in_their_month(tmp_path, step):
    m = load(tmp_path, queue_sheets(500, [(0, 300, None), (5, 400, None)]))
    ds = up.simulate(m, dt=step)
    t = ds["time"].to_numpy()
    expected = np.where(t <= 5, 200 * t, 1000 + 100 * (t - 5))
    np.testing.assert_allclose(total_waiting(ds), expected, rtol=1e-12, atol=1e-9)
    cap = ds["capacity_now"].sel(service="S").isel(member=0).to_numpy()
    np.testing.assert_array_equal(cap, np.where(t < 5, 300.0, 400.0))


def test_caseload_ceiling_is_never_exceeded_and_binds(tmp_path):
    # length of stay 1 month at decay 0.5: exit rate 0.5; 300 starts a month would hold 600
    m = load(tmp_path, queue_sheets(500, [(0, 300, 450)]))
    ds = up.simulate(m, dt=0.25)
    case = service_load(ds).isel(member=0).sel(service="S")["caseload"].to_numpy()
    assert case.max() <= 450 + 1e-9
    assert case[-1] == pytest.approx(450, rel=1e-9)
    # an uncertain ceiling: a member with ceiling_scale 0.8 holds 360 (after its start at 450 drains)
    scaled = up.simulate(m, dt=0.25, params={"ceiling_scale": np.array([[1.0], [0.8]])})
    ends = service_load(scaled).sel(service="S")["caseload"].isel(time=-1).to_numpy()
    np.testing.assert_allclose(ends, [450, 360], rtol=1e-9)
    # once the ceiling binds, starts equal exits: 0.5 x 450 a month
    assert float(service_load(ds).isel(member=0, time=-1).sel(service="S")["starts"]) == pytest.approx(225)


# ---------------------------------------------------------------- conservation and escalation


def _cumulative(ds, name, dims):
    x = ds[name].isel(member=0)
    x = x.sum([d for d in x.dims if d != "time"]) if len(x.dims) > 1 else x
    return np.concatenate([[0.0], np.cumsum(x.to_numpy())[:-1]])  # dt = 1: inflow up to each month


def test_people_are_conserved_with_escalation_and_dropout():
    m = up.load_model("england-capacity")
    ds = up.simulate(m, record=list(m.compiled.recordable))
    one = ds.isel(member=0)

    def total(name):
        x = one[name]
        return x.sum([d for d in x.dims if d != "time"]).to_numpy() if x.ndim > 1 else x.to_numpy()

    held = total("at_risk") + total("no_mh_needs") + total("treatment") + total("waiting")
    entered = _cumulative(ds, "new_at_risk", None)
    np.testing.assert_allclose(held, entered, rtol=1e-10, atol=1e-6)
    bg = total("background_waiting") + total("background_treatment") + total("background_left")
    bg_in = _cumulative(ds, "background_arrivals", None) + _cumulative(ds, "background_arrivals_now", None)
    np.testing.assert_allclose(bg - bg[0], bg_in, rtol=1e-10, atol=1e-6)
    # the wait bands hold the same people as the waiting lists
    bands = one["wait_band"].sum("stage")
    np.testing.assert_allclose(bands, one["waiting_all"], rtol=1e-9, atol=1e-6)
    assert float(one["wait_band"].min()) > -1e-6
    for name in ("waiting", "background_waiting", "treatment", "at_risk"):
        assert float(one[name].min()) > -1e-6, name


@pytest.mark.parametrize("crisis_capped", [True, False])
def test_escalation_adds_to_the_crisis_service_exactly_what_left(tmp_path, crisis_capped):
    sheets = queue_sheets(
        500,
        [(0, 300, None)],
        months=30,
        dropout=0.05,
        escalation=("C", 0.1),
        pulse=(2, 2000.0),
        crisis_capacity=[(0, 50, None)] if crisis_capped else None,
    )
    m = load(tmp_path, sheets)
    ds = up.simulate(m, dt=1.0, record=list(m.compiled.recordable)).isel(member=0)
    out = ds["escalations_from_waiting"].sel(service="S").to_numpy()
    assert out.sum() > 100
    moved = ds["escalation"] if crisis_capped else ds["escalation_direct"]
    moved = moved.sum([d for d in moved.dims if d != "time"]).to_numpy()
    bg = ds["background_escalation" if crisis_capped else "background_escalation_direct"]
    moved = moved + bg.sum([d for d in bg.dims if d != "time"]).to_numpy()
    np.testing.assert_allclose(moved, out, rtol=1e-12, atol=1e-9)
    if crisis_capped:
        # the crisis list's own balance: what it gains month on month is arrivals
        # (here only escalations) minus its starts, escalations and drop-outs
        w = ds["waiting_all"].sel(service="C").to_numpy()
        change = out - ds["starts_from_waiting"].sel(service="C").to_numpy()
        change -= ds["escalations_from_waiting"].sel(service="C").to_numpy()
        change -= ds["dropouts_from_waiting"].sel(service="C").to_numpy()
        np.testing.assert_allclose(np.diff(w), change[:-1], rtol=1e-9, atol=1e-9)
        load_ = service_load(up.simulate(m, dt=1.0))
        np.testing.assert_allclose(
            load_["escalations_in"].sel(service="C").isel(member=0), out, rtol=1e-12, atol=1e-9
        )
    else:
        # an unlimited crisis service takes them straight onto its caseload
        case = ds["treatment"].sel(service="C").sum("group").to_numpy()
        case = case + ds["background_treatment"].sel(service="C").to_numpy()
        exits = 0.5 * case  # exit rate of C
        np.testing.assert_allclose(np.diff(case), (out - exits)[:-1], rtol=1e-9, atol=1e-9)


def test_wait_bands_age_people_by_time_waited(tmp_path):
    # no starts at all: everybody waits.  With dt = 1 the 1-month bands are exact one-month
    # delays; a wider band empties at 1 / width of its people a month (Euler)
    m = load(tmp_path, queue_sheets(100, [(0, 0, None)], months=16))
    ds = up.simulate(m, dt=1.0).isel(member=0)
    bands = ds["wait_band"].sel(service="S").to_numpy()  # (time, stage)
    t = ds["time"].to_numpy()
    for k in range(3):  # 0-1, 1-2, 2-3 months
        np.testing.assert_allclose(bands[:, k], np.where(t > k, 100.0, 0.0), rtol=1e-12)
    widths = [3.0, 6.0]
    inflow = bands[:, 2].copy()  # the 2-3 band passes all of its people on each month
    for k, w in zip((3, 4), widths):
        expect = np.zeros(len(t))
        for n in range(len(t) - 1):
            expect[n + 1] = expect[n] + inflow[n] - expect[n] / w
        np.testing.assert_allclose(bands[:, k], expect, rtol=1e-12, atol=1e-9)
        inflow = expect / w
    np.testing.assert_allclose(bands.sum(axis=1), 100 * t, rtol=1e-12)
    # 18 weeks falls in the 3-6 month band: ages are taken as uniform within it
    over = ds["waiting_over_18_weeks"].sel(service="S").to_numpy()
    share = (6 - EIGHTEEN_WEEKS) / 3
    np.testing.assert_allclose(over, bands[:, 3] * share + bands[:, 4:].sum(axis=1), rtol=1e-12)


def test_starts_take_the_longest_waiters_first(tmp_path):
    # 1,000 waiting at month 0, 100 arrivals and 150 starts a month: a band only
    # gets starts when every band that has waited longer is used up
    m = load(tmp_path, queue_sheets(100, [(0, 150, None)], months=24, initial=1000))
    ds = up.simulate(m, dt=1.0, record=["wait_band", "starts_by_band", "starts_from_waiting"]).isel(member=0)
    bands = ds["wait_band"].sel(service="S").to_numpy()
    starts = ds["starts_by_band"].sel(service="S").to_numpy()
    np.testing.assert_allclose(starts.sum(axis=1), ds["starts_from_waiting"].sel(service="S"), rtol=1e-12)
    checked = 0
    for n in range(len(bands)):
        for k in range(bands.shape[1]):
            if starts[n, k] > 1e-9:
                # every older band started all of its people this step
                np.testing.assert_allclose(starts[n, k + 1 :], bands[n, k + 1 :], rtol=1e-12, atol=1e-9)
                checked += 1
    assert checked > 10
    np.testing.assert_allclose(
        starts.sum(axis=1)[:10], 150, rtol=1e-12
    )  # capacity binds while the list is long


def test_dt_longer_than_the_narrowest_band_is_warned_about(tmp_path):
    m = load(
        tmp_path,
        queue_sheets(100, [(0, 50, None)], stages=[["0-0.5", 0.5, None, None], ["0.5+", None, None, None]]),
    )
    with pytest.warns(UserWarning, match="narrowest wait band"):
        up.simulate(m, dt=1.0)


# ---------------------------------------------------------------- outputs, files and validation


def test_england_capacity_outputs_are_consistent():
    m = up.load_model("england-capacity")
    ds = up.simulate(m)
    load_ = service_load(ds)
    ok = load_["waiting"] > 1e-6
    exits = load_["starts_from_waiting"] + load_["escalations_out"] + load_["dropouts"]
    np.testing.assert_allclose(
        load_["mean_wait"].where(ok & (exits > 0), 0), (load_["waiting"] / exits).where(ok & (exits > 0), 0)
    )
    assert float((load_["starts"] - load_["capacity"]).max()) < 1e-6  # never above capacity
    esc = json.loads(ds.attrs["escalates_to"])
    assert esc["IAPT"] == "Crisis Resolution Team/Home Treatment Service"
    total_out = float(load_["escalations_out"].sum())
    total_in = float(load_["escalations_in"].sum())
    assert total_in == pytest.approx(total_out, rel=1e-12)  # every target is capacitated here
    table = capacity_summary(ds)
    assert set(table.loc[table["assumed"], "service"]) == set(json.loads(ds.attrs["assumed_services"]))
    assert not table.set_index("service").loc["Child & Adolescent Mental Health", "assumed"]
    iapt = table.set_index("service").loc["IAPT"]
    assert iapt["peak_waiting"] == pytest.approx(float(load_["waiting"].sel(service="IAPT").max()))


def test_default_capacity_is_throughput_times_headroom():
    from simulator.surge import default_capacity

    m = up.load_model("england-capacity")
    t = m.tables
    d = t.demand[t.demand["service"] == "IAPT"].sort_values("month").head(12)
    treat = float(t.treatments.set_index("treatment").loc["IAPT", "treat_pcnt"])
    assert default_capacity(t, "IAPT", None) == pytest.approx(d["underlying"].mean() * treat * 1.1)
    ds = up.simulate(m, record=["capacity_now"])
    c = ds["capacity_now"].sel(service="IAPT").isel(member=0).to_numpy()
    assert c[0] == pytest.approx(d["underlying"].mean() * treat * 1.1)
    assert c[24] == pytest.approx(d["underlying"].mean() * treat * 1.2)  # the month-24 step


def test_capacity_workbook_and_yaml_round_trip(tmp_path):
    from click.testing import CliRunner

    from simulator.cli import main

    out = tmp_path / "cap.xlsx"
    r = CliRunner().invoke(main, ["convert", "england-capacity", "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    back = tmp_path / "cap.yaml"
    r = CliRunner().invoke(main, ["convert", str(out), "-o", str(back), "-q"])
    assert r.exit_code == 0, r.output
    a = up.simulate(up.load_model("england-capacity"), record=["waiting_all", "treatment"])
    for path in (out, back):
        b = up.simulate(up.load_model(path), record=["waiting_all", "treatment"])
        np.testing.assert_allclose(a["waiting_all"], b["waiting_all"], rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(a["treatment"], b["treatment"], rtol=1e-12, atol=1e-9)


def test_extends_errors_are_reported(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_text("upstream: model\nkind: surge\nextends: nowhere.yaml\ntables: {}\n")
    model, problems = up.check_model(p)
    assert model is None
    assert any("nowhere.yaml" in e.message and "not found" in e.message for e in problems.errors)
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("upstream: model\nkind: surge\nextends: b.yaml\ntables: {}\n")
    b.write_text("upstream: model\nkind: surge\nextends: a.yaml\ntables: {}\n")
    model, problems = up.check_model(a)
    assert model is None
    assert any("loop" in e.message for e in problems.errors)


def _errors(tmp_path, sheets):
    model, problems = up.check_model(write_tiny(tmp_path / "bad.xlsx", sheets))
    assert model is None
    return problems.errors


@pytest.mark.parametrize(
    "change, text, sheet, column",
    [
        (
            lambda s: s["capacity"].append(["Nope", 0, 10, None, None]),
            "not in the treatments sheet",
            "capacity",
            "service",
        ),
        (
            lambda s: s["capacity"].__setitem__(1, ["S", 3, 10, None, None]),
            "no row for month 0",
            "capacity",
            "month",
        ),
        (
            lambda s: s["capacity"].append(["C", 0, None, None, None]),
            "no underlying demand",
            "capacity",
            "starts",
        ),
        (lambda s: s["capacity"].append(["S", 4, -5, None, None]), "negative", "capacity", "starts"),
        (
            lambda s: s.__setitem__("waiting", [s["waiting"][0], ["S", "Nope", 0.1, None, None]]),
            "escalates_to 'Nope'",
            "waiting",
            "escalates_to",
        ),
        (
            lambda s: s.__setitem__("waiting", [s["waiting"][0], ["S", None, 0.1, None, None]]),
            "escalation_rate is given but escalates_to is blank",
            "waiting",
            "escalates_to",
        ),
        (
            lambda s: s.__setitem__("waiting", [s["waiting"][0], ["S", None, None, 1.5, None]]),
            "above 1",
            "waiting",
            "dropout_rate",
        ),
        (
            lambda s: s.__setitem__(
                "stages",
                [
                    ["stage", "upper", "escalation", "dropout"],
                    ["a", 2, None, None],
                    ["b", 1, None, None],
                    ["c", None, None, None],
                ],
            ),
            "must increase",
            "stages",
            "upper",
        ),
        (
            lambda s: s.__setitem__(
                "stages", [["stage", "upper", "escalation", "dropout"], ["a", 2, None, None]]
            ),
            "every stage but the last",
            "stages",
            "upper",
        ),
    ],
)
def test_capacity_tables_are_validated(tmp_path, change, text, sheet, column):
    sheets = queue_sheets(100, [(0, 50, None)], dropout=0.1)
    change(sheets)
    errs = _errors(tmp_path, sheets)
    hit = [e for e in errs if text in e.message]
    assert hit, [str(e) for e in errs]
    assert hit[0].part == sheet and hit[0].column == column


# ---------------------------------------------------------------- the capacity lever


def test_capacity_lever_adds_starts_from_its_month_and_is_costed():
    from simulator.analysis import Package, appraise, simulate_package
    from simulator.files import load_package

    m = up.load_model("england-capacity")
    (iv,) = load_package("extra-iapt-starts").interventions
    assert iv.lever == "capacity" and iv.target == "extra_capacity"
    pkg = Package("extra", (iv,))
    base = simulate_package(m, Package("none", ()), record=["capacity_now", "waiting_all"])
    run = simulate_package(m, pkg, record=["capacity_now", "waiting_all"], quantile=0.5)
    added = (run["capacity_now"] - base["capacity_now"]).sel(service="IAPT").isel(member=0).to_numpy()
    effect = float(iv.effect.ppf(np.array([0.5]))[0])
    t = run["time"].to_numpy()
    ramp = np.clip((t - 6) / 6, 0, 1)
    np.testing.assert_allclose(added, effect * ramp, rtol=1e-9, atol=1e-6)
    others = (run["capacity_now"] - base["capacity_now"]).drop_sel(service="IAPT")
    assert float(np.abs(others).max()) == 0.0
    assert float(run["waiting_all"].sel(service="IAPT").max()) < float(
        base["waiting_all"].sel(service="IAPT").max()
    )

    a = appraise(m, [pkg], members=16, seed=3)
    waited = a.averted("waiting").sel(package="extra").to_numpy()
    assert (waited > 0).all()
    starts = a.members["starts"].sel(service="IAPT")
    added_starts = (starts.sel(package="extra") - starts.sel(package="baseline")).to_numpy()
    cost = a.members["cost"].sel(package="extra").to_numpy()
    months = a.meta["months"]
    np.testing.assert_allclose(
        cost, iv.fixed_per_month * (months - iv.start) + iv.per_person * added_starts, rtol=1e-9
    )


def test_capacity_lever_needs_absolute_effect(tmp_path):
    from simulator.core import InputError
    from simulator.files import load_intervention

    p = tmp_path / "bad.yaml"
    p.write_text(
        "upstream: intervention\nname: x\nlever: capacity\nscope: {service: [IAPT]}\n"
        "effect: {type: relative, distribution: {type: fixed, value: 0.1}, source: test}\n"
    )
    with pytest.raises(InputError, match="use type absolute"):
        load_intervention(p)


# ---------------------------------------------------------------- ensembles


def test_ensemble_capacity_outputs_match_single_runs():
    from simulator.analysis import Design, UncertaintyGroup, distribution_from_dict, run_ensemble

    m = up.load_model("england-capacity")
    uniform = distribution_from_dict({"type": "uniform", "low": 0.9, "high": 1.1})
    design = Design(m.spec, [UncertaintyGroup("capacity", "capacity_scale", uniform)])
    res = run_ensemble(m, design, members=3, seed=1, keep_members=True)
    mem = res.members
    base_cap = float(service_load(up.simulate(m))["capacity"].sel(service="IAPT").isel(member=0, time=0))
    for k in range(3):
        scale = float(mem["capacity"].sel(service="IAPT").isel(member=k, time=0)) / base_cap
        assert 0.9 <= scale <= 1.1
        ref = service_load(up.simulate(m, params={"capacity_scale": scale})).isel(member=0)
        pairs = {"waiting": "waiting", "mean_wait": "mean_wait", "escalations": "escalations_out"}
        pairs |= {"utilisation": "utilisation", "unmet_need": "unmet_need", "starts": "starts"}
        for out, var in pairs.items():
            a = mem[out].isel(member=k).sel(service=ref["service"]).transpose("time", "service").to_numpy()
            b = ref[var].fillna(0).transpose("time", "service").to_numpy()
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-6, err_msg=out)

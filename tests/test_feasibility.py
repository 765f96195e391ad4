"""Feasibility rules (issue 12): impossible inputs are refused with the place and the problem named.

Each impossible input of the issue's "wrong numbers" list (a group size of 1e308,
a network outflow rate x dt above 1, escalation + drop-out above 1, a formula
dividing by zero, coverage 2.0) gives exit 2 from the CLI, with no traceback,
and ``validate`` does not say OK; the run-time guard stops a run whose stock
goes negative or whose values stop being finite, unless the model allows
negative stocks.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from click.testing import CliRunner
from tiny import tiny_sheets, write_tiny

import simulator as up
from simulator.cli import main
from simulator.core._run_params import RunError

NETWORK = textwrap.dedent(
    """\
    upstream: model
    kind: network
    name: Feasibility
    horizon: 12
    start: 2024-04
    dims:
      service: [IAPT, CMHT]
    stocks:
      - {name: waiting, dims: [service], initial: 1000}
      - {name: treated, dims: [service], initial: 0}
    params:
      - {name: arrivals, dims: [service], values: [90, 30], unit: people per month, source: test}
      - {name: start_rate, dims: [service], values: [0.5, 0.6], unit: per month, source: test}
      - {name: leave_rate, dims: [service], values: [0.1, 0.1], unit: per month, source: test}
      - {name: slots, dims: [service], values: [10, 5], unit: people, source: test}
    flows:
      - {name: referrals, kind: inflow, target: waiting, rate: arrivals}
      - {name: starts, kind: outflow, source: waiting, target: treated, rate: start_rate}
      - {name: leaving, kind: outflow, source: waiting, rate: leave_rate}
    outputs:
      - {name: total_waiting, expr: "sum(waiting, over=service)"}
      - {name: per_slot, expr: "waiting / slots"}
    """
)


def cli(*args) -> tuple[int, str]:
    """Exit code and everything printed (stdout and stderr) of one CLI call."""
    r = CliRunner().invoke(main, [str(a) for a in args])
    text = r.output
    try:
        text += r.stderr
    except (ValueError, AttributeError):
        pass
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in text
    return r.exit_code, text


def refused(path, *needles: str, run: tuple[str, ...] = ("run", "-q")) -> str:
    """Both a run and ``validate`` exit 2 naming every needle; the message."""
    code, text = cli(*run[:1], path, *run[1:])
    assert code == 2, text
    for n in needles:
        assert n in text, f"{n!r} not in:\n{text}"
    vcode, vtext = cli("validate", path)
    assert vcode == 2, vtext
    assert "OK" not in vtext
    for n in needles:
        assert n in vtext, f"validate: {n!r} not in:\n{vtext}"
    return text


def network(tmp_path, text: str = NETWORK, name: str = "net.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def line_of(text: str, needle: str) -> int:
    return next(i for i, t in enumerate(text.splitlines(), start=1) if needle in t)


# ---------------------------------------------------------------- surge tables: sane bounds


def test_group_size_1e308_is_refused(tmp_path):
    sheets = tiny_sheets()
    sheets["groups"][1][2] = 1e308
    p = write_tiny(tmp_path / "huge.xlsx", sheets)
    refused(p, "group size 1e+308 is above 10,000,000,000 people", "sheet 'groups'", "row 2", "'size'")


@pytest.mark.parametrize(
    ("sheet", "row", "col", "value", "needle"),
    [
        ("demand", 2, "underlying", 1e11, "underlying referrals 1e+11 is above 10,000,000,000"),
        ("treatments", 2, "months", 5000, "treatment length 5000 is above 1200 months"),
        ("c2t", 2, "split", 1e300, "split 1e+300 is above"),
    ],
)
def test_other_quantities_have_sane_bounds(tmp_path, sheet, row, col, value, needle):
    sheets = tiny_sheets()
    sheets[sheet][row - 1][sheets[sheet][0].index(col)] = value
    _, problems = up.check_model(write_tiny(tmp_path / "b.xlsx", sheets))
    hit = [p for p in problems.errors if needle in p.message]
    assert hit, [str(p) for p in problems.errors]
    assert (hit[0].part, hit[0].row, hit[0].column) == (sheet, row, col)
    assert "at most" in (hit[0].allowed or "")


def capacity_sheets(escalation: float, dropout: float, starts: float = 50.0):
    sheets = tiny_sheets()
    sheets["capacity"] = [
        ["service", "month", "starts", "ceiling", "headroom"],
        ["S1", 0, starts, None, None],
    ]
    sheets["waiting"] = [
        ["service", "escalates_to", "escalation_rate", "dropout_rate", "initial_waiting"],
        ["S1", "S3", escalation, dropout, None],
    ]
    return sheets


def test_escalation_plus_dropout_above_1_is_refused(tmp_path):
    p = write_tiny(tmp_path / "cap.xlsx", capacity_sheets(0.7, 0.6))
    text = refused(
        p, "service 'S1'", "escalation_rate 0.7", "dropout_rate 0.6", "1.3", "sheet 'waiting'", "row 2"
    )
    assert "go negative" in text


def test_escalation_plus_dropout_up_to_1_loads(tmp_path):
    model, problems = up.check_model(write_tiny(tmp_path / "cap.xlsx", capacity_sheets(0.5, 0.5)))
    assert model is not None, [str(p) for p in problems.errors]


def test_stage_multipliers_count_in_the_sum(tmp_path):
    sheets = capacity_sheets(0.3, 0.3)
    sheets["stages"] = [["stage", "upper", "escalation", "dropout"], ["short", 1, 1, 1], ["long", None, 2, 2]]
    _, problems = up.check_model(write_tiny(tmp_path / "cap.xlsx", sheets))
    hit = [p for p in problems.errors if "wait band 'long'" in p.message]
    assert hit and "1.2" in hit[0].message, [str(p) for p in problems.errors]


def test_negative_capacity_is_not_also_called_blank(tmp_path):
    _, problems = up.check_model(write_tiny(tmp_path / "cap.xlsx", capacity_sheets(0.1, 0.1, starts=-5)))
    msgs = [p.message for p in problems.errors]
    assert any("(negative)" in m for m in msgs), msgs
    assert not any("starts is blank" in m for m in msgs), msgs


def test_capacity_above_the_bound_is_refused(tmp_path):
    _, problems = up.check_model(write_tiny(tmp_path / "cap.xlsx", capacity_sheets(0.1, 0.1, starts=1e12)))
    assert any("starts 1e+12 is above 10,000,000,000 people per month" in p.message for p in problems.errors)


# ---------------------------------------------------------------- network YAML


def test_network_rate_times_dt_above_1_is_refused(tmp_path):
    text = NETWORK.replace("values: [0.5, 0.6]", "values: [3, 0.6]").replace(
        "values: [0.1, 0.1]", "values: [2, 0.1]"
    )
    p = network(tmp_path, text)
    msg = refused(
        p, "stock 'waiting' [service=IAPT]", "starts (3 per month)", "leaving (2 per month)", "sum to 5"
    )
    assert "use a smaller dt or rk4" in msg
    assert f"line {line_of(text, 'name: waiting')}" in msg


def test_network_declared_step_makes_fast_rates_feasible(tmp_path):
    text = NETWORK.replace("values: [0.5, 0.6]", "values: [3, 0.6]").replace(
        "values: [0.1, 0.1]", "values: [2, 0.1]"
    )
    p = network(tmp_path, text.replace("horizon: 12\n", "horizon: 12\ndt: 0.125\n"))
    model, problems = up.check_model(p)
    assert model is not None, [str(e) for e in problems.errors]
    ds = up.simulate(model)
    assert float(ds["waiting"].min()) >= 0
    assert cli("validate", p)[0] == 0


def test_network_divide_by_zero_is_refused(tmp_path):
    p = network(tmp_path, NETWORK.replace("values: [10, 5]", "values: [10, 0]"))
    refused(p, "'per_slot' [service=CMHT]", "divides by zero", "month 0 (2024-04)")


def test_network_constant_rate_dividing_by_zero_is_refused(tmp_path):
    text = NETWORK.replace("rate: leave_rate}", 'rate: "leave_rate / (slots - 5)"}')
    p = network(tmp_path, text)
    msg = refused(p, "flow leaving", "divides by zero")
    assert f"line {line_of(text, 'name: leaving')}" in msg


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ('expr: "waiting / slots"', 'expr: "waiting /* slots"', 'expr: "waiting /* slots"'),
        ("rate: start_rate}", 'rate: "start_rate + nonsense"}', "name: starts"),
        ("rate: leave_rate}", 'rate: "exp(("}', "name: leaving"),
    ],
)
def test_network_formula_errors_carry_the_line(tmp_path, old, new, needle):
    text = NETWORK.replace(old, new)
    p = network(tmp_path, text)
    code, msg = cli("validate", p)
    assert code == 2
    assert f"line {line_of(text, needle)}" in msg, msg


def test_network_run_time_guard_names_stock_element_month_and_cause(tmp_path):
    p = network(tmp_path)
    code, text = cli("run", p, "--dt", "3", "-q")
    assert code == 2, text
    for n in ("stock 'waiting' [service=CMHT]", "goes negative", "month 3 (2024-07)", "rate x dt = 2.1 > 1"):
        assert n in text, f"{n!r} not in {text}"
    assert "use a smaller dt or RK4" in text


def test_network_allow_negative_lets_the_run_go_on(tmp_path):
    p = network(tmp_path, NETWORK.replace("horizon: 12\n", "horizon: 12\nallow_negative: true\n"))
    code, text = cli("run", p, "--dt", "3", "-q")
    assert code == 0, text
    model = up.load_model(p)
    assert model.spec.meta["allow_negative"] is True
    assert float(up.simulate(model, dt=3.0)["waiting"].min()) < 0


def test_allow_negative_must_be_true_or_false(tmp_path):
    p = network(tmp_path, NETWORK.replace("horizon: 12\n", "horizon: 12\nallow_negative: maybe\n"))
    code, text = cli("validate", p)
    assert code == 2 and "allow_negative is 'maybe'" in text


def test_guard_in_the_python_api(tmp_path):
    model = up.load_model(network(tmp_path))
    with pytest.raises(RunError, match=r"'per_slot' \[service=CMHT\] is inf at month 0.*divides by zero"):
        up.simulate(model, params={"slots": [10.0, 0.0]})
    with pytest.raises(
        RunError, match="at the start of the run; likely cause: its initial value is negative"
    ):
        from simulator.core._spec import ModelSpec

        spec = ModelSpec.build(
            "negative start",
            stocks=[{"name": "x", "initial": "k"}],
            params=[{"name": "k", "values": -5.0, "unit": "people", "source": "test"}],
            flows=[{"name": "out", "kind": "outflow", "source": "x", "rate": 0.1}],
        )
        up.simulate(spec)
    ds = up.simulate(model)  # a valid model is untouched
    assert np.isfinite(ds["per_slot"]).all()


def test_guard_in_an_ensemble_of_members(tmp_path):
    model = up.load_model(network(tmp_path))
    rates = np.array([[0.5, 0.6]] * 40 + [[0.5, 1.5]])
    with pytest.raises(RunError, match=r"stock 'waiting' \[service=CMHT\] goes negative"):
        up.simulate(model, params={"start_rate": rates}, workers=2, chunk_size=8)


# ---------------------------------------------------------------- interventions


INTERVENTION = textwrap.dedent(
    """\
    upstream: intervention
    name: Too much
    tier: upstream
    lever: conversion
    scope: {group: [Newly unemployed]}
    effect: {type: relative, distribution: {type: uniform, low: -0.2, high: 0}, source: assumption}
    coverage: 2.0
    """
)


@pytest.mark.parametrize(
    ("coverage", "needle"),
    [("2.0", "is 2.0, above 1"), ("{type: uniform, low: 0.5, high: 2}", "reaching 0.5 to 2, outside 0 to 1")],
)
def test_coverage_outside_0_to_1_is_refused(tmp_path, coverage, needle):
    p = tmp_path / "iv.yaml"
    p.write_text(INTERVENTION.replace("coverage: 2.0", f"coverage: {coverage}"))
    code, text = cli("compare-interventions", "scenarios/england-even-ebb.yaml", "--package", p, "-q")
    assert code == 2, text
    for n in (needle, "field 'coverage'", f"line {line_of(INTERVENTION, 'coverage')}"):
        assert n in text, f"{n!r} not in {text}"
    vcode, vtext = cli("validate", p)
    assert vcode == 2 and "OK" not in vtext

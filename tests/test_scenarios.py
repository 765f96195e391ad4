"""Scenario files: every field checked, problems name the field; curves library."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import InputError
from simulator.files import load_scenario
from simulator.surge import GENERATORS, CurveError, generate

BASE = """upstream: scenario
name: test
model: england
months: 12
dt: 0.5
members: 10
seed: 1
sampler: lhs
uncertainty:
  - name: success
    parameter: success
    distribution: {type: uniform, low: 0.9, high: 1.1}
    source: test range
"""


def write(tmp_path, text):
    p = tmp_path / "s.yaml"
    p.write_text(text)
    return p


def errors(tmp_path, text):
    with pytest.raises(InputError) as info:
        load_scenario(write(tmp_path, text))
    return info.value.problems


def test_valid_scenario(tmp_path):
    s = load_scenario(write(tmp_path, BASE))
    assert (s.months, s.dt, s.members, s.sampler) == (12, 0.5, 10, "lhs")
    assert s.design.columns == ["success"]


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        (("sampler: lhs", "sampler: latin"), "sampler", "is 'latin'"),
        (("members: 10", "members: -3"), "members", "is -3"),
        (("months: 12", "months: twelve"), "months", "is 'twelve'"),
        (("model: england", "model: nowhere.yaml"), "model", "has 1 problem"),
        (("parameter: success", "parameter: sucess"), "uncertainty[0]", "unknown parameter 'sucess'"),
        (("high: 1.1}", "high: 0.1}"), "uncertainty[0].distribution", "low (0.9) must be below high (0.1)"),
        (("    source: test range\n", ""), "uncertainty[0]", "'source' is missing"),
        (("seed: 1", "seed: 1\ncolour: blue"), "colour", "unknown field 'colour'"),
        (("dt: 0.5", "dt: 0.5\ncurves: {all: Nope}"), "curves", "unknown curve 'Nope'"),
        (("dt: 0.5", "dt: 0.5\nmethod: heun"), "method", "is 'heun'"),
        (
            ("dt: 0.5", "dt: 0.5\ndefine_curves:\n  W: {generator: wobble}"),
            "define_curves.W",
            "generator 'wobble' is not known",
        ),
        (("dt: 0.5", "dt: 0.5\nservices: [IAPT, Nope]"), "services", "service 'Nope' is not in the model"),
    ],
)
def test_bad_fields_are_named(tmp_path, change, field, text):
    problems = errors(tmp_path, BASE.replace(*change))
    hit = [p for p in problems if text in p.message]
    assert hit, [str(p) for p in problems]
    assert hit[0].part == field
    assert f"field {field!r}" in str(hit[0])


def test_defined_curves_are_used(tmp_path):
    text = BASE.replace(
        "dt: 0.5",
        "dt: 0.5\ncurves: {all: Sudden Shock, Parents: Waves}\ndefine_curves:\n  Waves: {generator: repeating_waves, period: 4}",
    )
    s = load_scenario(write(tmp_path, text))
    assert "Parents=Waves" in s.model.curve_note
    np.testing.assert_allclose(s.model.tables.curves["Waves"].sum(), 1.0)


@pytest.mark.parametrize("name", [g for g in GENERATORS if g != "table"])
def test_generators_are_normalised_and_nonnegative(name):
    c = generate({"generator": name}, 36)
    assert c.shape == (36,) and c.min() >= 0 and c.sum() == pytest.approx(1.0, abs=1e-12)


def test_generator_shapes():
    shock = generate({"generator": "sudden_shock", "peak_month": 6, "decay_months": 3}, 24)
    assert int(np.argmax(shock)) == 6 and shock[0] == 0
    waves = generate(
        {"generator": "repeating_waves", "first_peak": 3, "period": 8, "waves": 3, "decay": 0.5}, 30
    )
    assert [int(i) for i in np.flatnonzero((waves[1:-1] > waves[:-2]) & (waves[1:-1] > waves[2:])) + 1] == [
        3,
        11,
        19,
    ]
    assert waves[11] == pytest.approx(0.5 * waves[3], rel=1e-3)
    table = generate({"generator": "table", "times": [0, 10], "values": [0, 10]}, 11)
    np.testing.assert_allclose(table, np.arange(11) / 55)


@pytest.mark.parametrize(
    ("definition", "text"),
    [
        ({"generator": "plateau", "rise": 3}, "plateau does not take rise"),
        ({"generator": "sudden_shock", "peak_month": "soon"}, "peak_month must be a number"),
        ({"generator": "repeating_waves", "decay": 2}, "decay must be in"),
        ({"generator": "table", "times": [0, 1], "values": [0, 0]}, "zero over the whole horizon"),
    ],
)
def test_curve_errors(definition, text):
    with pytest.raises(CurveError, match=text):
        generate(definition, 12)

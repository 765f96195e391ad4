"""The safe formula parser and the binder's dimension rules."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import ModelSpec, Space, SpecError, parse, simulate
from simulator.core import Binary, Call, FormulaError, Num, Ref


def test_parses_arithmetic_and_aggregates():
    e = parse("g2c_pcnt * split / sum(split, over=service)")
    assert isinstance(e, Binary) and e.op == "/"
    assert parse("sum(x, over=[condition, service])") == Call("sum", (Ref("x"),), ("condition", "service"))
    assert parse("2^3") == Binary("**", Num(2.0), Num(3.0))
    assert parse("a if t > 3 else b").__class__.__name__ == "IfElse"


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('echo hi')",
        "x.__class__",
        "(lambda: 1)()",
        "[i for i in range(3)]",
        "open('f')",
        "x[0]",
        "'text'",
        "eval('1')",
        "x = 1",
    ],
)
def test_rejects_anything_else(text):
    with pytest.raises(FormulaError):
        parse(text)


def test_unknown_function_lists_allowed():
    with pytest.raises(FormulaError, match="allowed: abs, ceil, clip"):
        parse("frobnicate(x)")


def small(rate: str, **kw) -> ModelSpec:
    return ModelSpec.build(
        "s",
        dims={"g": ["a", "b"], "s": ["p", "q", "r"]},
        stocks=[{"name": "x", "dims": ["g", "s"], "initial": 100}, {"name": "y", "dims": ["g"]}],
        params=[
            {"name": "kg", "dims": ["g"], "values": [0.1, 0.2], "source": "t"},
            {"name": "ks", "dims": ["s"], "values": [1.0, 2.0, 3.0], "source": "t"},
        ],
        flows=[{"name": "f", "kind": "outflow", "source": "x", "target": "y", "rate": rate}],
        horizon=3,
        **kw,
    )


def test_dimension_broadcasting_by_name():
    ds = simulate(small("kg * ks / 10"), dt=1.0, record="all")
    f = ds["f"].isel(member=0, time=0).transpose("g", "s").to_numpy()
    np.testing.assert_allclose(f, 100 * np.outer([0.1, 0.2], [1, 2, 3]) / 10)
    # y[g] gathers the flows of every s
    np.testing.assert_allclose(ds["y"].isel(member=0, time=1).to_numpy(), f.sum(axis=1))


def test_aggregate_and_mean():
    ds = simulate(small("kg * 0 + mean(ks, over=s) / 10"), dt=1.0, record="all")
    np.testing.assert_allclose(ds["f"].isel(member=0, time=0).to_numpy(), 100 * 0.2)


def test_unknown_name_is_a_spec_error():
    with pytest.raises(SpecError, match="unknown name 'kz'"):
        small("kz").validate()


def test_rate_with_foreign_dimension_is_rejected():
    spec = ModelSpec.build(
        "bad",
        dims={"g": ["a"], "h": ["u", "v"]},
        stocks=[{"name": "x", "dims": ["g"], "initial": 1}],
        params=[{"name": "kh", "dims": ["h"], "values": [0.1, 0.2], "source": "t"}],
        flows=[{"name": "f", "kind": "outflow", "source": "x", "rate": "kh"}],
    )
    with pytest.raises(SpecError, match="does not fit elements over"):
        simulate(spec)


def test_space_projection_and_errors():
    big = Space(("g", "s"), (("a", "p"), ("a", "q"), ("b", "p")))
    small_ = Space(("g",), (("a",), ("b",)))
    np.testing.assert_array_equal(big.projection(small_), [0, 0, 1])
    with pytest.raises(ValueError, match="no element"):
        big.projection(Space(("g",), (("a",),)))


def test_time_functions():
    spec = ModelSpec.build(
        "t",
        stocks=[{"name": "x", "initial": 0}],
        flows=[
            {
                "name": "i",
                "kind": "inflow",
                "target": "x",
                "rate": "step(10, 2) + ramp(1, 0, 2) + pulse(3, 1)",
            }
        ],
        horizon=6,
    )
    ds = simulate(spec, dt=1.0, record="all")
    np.testing.assert_allclose(ds["i"].isel(member=0).to_numpy(), [0, 1, 12, 13, 12, 12])

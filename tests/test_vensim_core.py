"""The engine additions imported models use: subscripts, pieces, lookups, contractions, clocks."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import ModelSpec, SpecError, simulate
from simulator.core import Assemble, Binary, Call, Num, Ref, Space, Take, time_grid

DIMS = {"g": ["a", "b", "c"], "h": ["x", "y"], "g2": ["a", "b", "c"], "lx": ["0.0", "1.0", "3.0"]}


def spec(auxes, params=(), stocks=(), flows=(), **kw):
    base = [
        {"name": "v", "dims": ["g"], "values": [1.0, 2.0, 3.0], "source": "t"},
        {"name": "m", "dims": ["g", "h"], "values": [1, 2, 3, 4, 5, 6], "source": "t"},
        {"name": "tab", "dims": ["g", "lx"], "values": [0, 1, 2, 0, 2, 4, 5, 5, 5], "source": "t"},
    ]
    return ModelSpec.build(
        "t",
        dims=DIMS,
        stocks=list(stocks) or [{"name": "s", "initial": 0}],
        params=[*base, *params],
        auxes=auxes,
        flows=list(flows) or [{"name": "f", "kind": "inflow", "target": "s", "rate": "1"}],
        **{"horizon": 3, **kw},
    )


def aux(model, name):
    return simulate(model, record=[name])[name].isel(member=0, time=0)


def test_take_selects_restricts_renames_and_maps():
    sel = Take(Ref("m"), "g", ("b",))
    sub = Take(Ref("v"), "g", ("c", "a"), "g")
    ren = Take(Ref("v"), "g", ("a", "b", "c"), "g2")
    mapped = Take(Ref("v"), "g", ("a", "b", "c"), "g2", ("c", "a", "b"))
    s = spec(
        [
            {"name": "sel", "expr": sel},
            {"name": "sub", "expr": sub},
            {"name": "ren", "expr": ren},
            {"name": "mapped", "expr": mapped},
        ]
    )
    assert aux(s, "sel").to_series().to_dict() == {"x": 3.0, "y": 4.0}
    assert aux(s, "sub").sel(g="c").item() == 3.0 and aux(s, "sub").sel(g="b").item() == 0.0  # b missing
    assert aux(s, "ren").dims == ("g2",) and aux(s, "ren").values.tolist() == [1, 2, 3]
    assert aux(s, "mapped").sel(g2="c").item() == 1.0 and aux(s, "mapped").sel(g2="b").item() == 3.0
    with pytest.raises(SpecError, match="not a dimension"):
        simulate(spec([{"name": "bad", "expr": Take(Ref("v"), "h", ("x",))}]))


def test_assemble_writes_pieces_and_merges_gathers():
    pa = Space(("g",), (("a",), ("b",)))
    pc = Space(("g",), (("c",),))
    pieces = Assemble((Binary("*", Ref("v"), Num(10.0)), Num(-1.0)), (pa, pc))
    gathers = Assemble(
        (Take(Ref("v"), "g", ("a",), "g", None), Ref("v")),
        (Space(("g",), (("a",),)), Space(("g",), (("b",), ("c",)))),
    )
    s = spec([{"name": "p", "expr": pieces, "dims": ["g"]}, {"name": "q", "expr": gathers, "dims": ["g"]}])
    assert aux(s, "p").values.tolist() == [10.0, 20.0, -1.0]
    assert aux(s, "q").values.tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(SpecError, match="overlap"):
        simulate(spec([{"name": "o", "expr": Assemble((Num(1.0), Num(2.0)), (pa, pa))}]))


def test_lookup_interpolates_per_element_and_is_flat_beyond_the_ends():
    s = spec([{"name": "y", "expr": "lookup(tab, time * 0.5 - 1)"}], horizon=9)
    y = simulate(s, record=["y"])["y"].isel(member=0)
    x = np.arange(9) * 0.5 - 1
    for g, ys in zip("abc", ([0, 1, 2], [0, 2, 4], [5, 5, 5])):
        np.testing.assert_allclose(y.sel(g=g), np.interp(x, [0, 1, 3], ys))
    with pytest.raises(SpecError, match="labels of 'h'"):
        simulate(spec([{"name": "bad", "expr": "lookup(m, time)"}]))
    # the table is a parameter: a member axis varies it
    ens = simulate(s, params={"tab": np.stack([np.arange(9.0), 2 * np.arange(9.0)])}, record=["y"])
    np.testing.assert_allclose(ens["y"].isel(member=1), 2 * ens["y"].isel(member=0))


def test_contraction_equals_the_plain_product_and_sum():
    # sum over g of a 0/1 membership table times a stock: folded into a sparse matrix
    flows = [{"name": "f", "kind": "inflow", "target": "s", "rate": "v * (1 + time)"}]
    stocks = [{"name": "s", "dims": ["g"], "initial": 1}]
    member = [{"name": "w", "dims": ["h", "g"], "values": [1, 0, 1, 0, 1, 0], "source": "t"}]
    s = spec(
        [
            {"name": "c", "expr": "sum(w * s, over=g)"},
            {"name": "plain", "expr": "sum((w + 0) * (s + 0), over=g)"},
        ],
        params=member,
        stocks=stocks,
        flows=flows,
    )
    ds = simulate(s, record=["c", "s", "plain"])
    st = ds["s"].isel(member=0)
    np.testing.assert_allclose(ds["c"], ds["plain"], rtol=1e-15)
    np.testing.assert_allclose(ds["c"].isel(member=0).sel(h="x"), st.sel(g="a") + st.sel(g="c"))
    np.testing.assert_allclose(ds["c"].isel(member=0).sel(h="y"), st.sel(g="b"))
    # member-varying factors fall back to the product and give the same numbers
    ens = simulate(s, params={"w": np.array([[1, 0, 1, 0, 1, 0], [2, 0, 2, 0, 2, 0.0]])}, record=["c"])
    np.testing.assert_allclose(ens["c"].isel(member=0), ds["c"].isel(member=0))
    np.testing.assert_allclose(ens["c"].isel(member=1), 2 * ds["c"].isel(member=0))


def test_state_dependent_inflows_step_from_the_start_of_the_step():
    # a two-stage pipeline written as net inflows: each stage must see the other's old value
    s = ModelSpec.build(
        "pipe",
        stocks=[{"name": "p1", "initial": 0}, {"name": "p2", "initial": 0}],
        flows=[
            {"name": "in1", "kind": "inflow", "target": "p1", "rate": "(1 - p1) / 1"},
            {"name": "in2", "kind": "inflow", "target": "p2", "rate": "(p1 - p2) / 1"},
        ],
        horizon=4,
    )
    for method in ("euler", "rk4"):
        p2 = simulate(s, method=method, record=["p2"])["p2"].isel(member=0).values
        if method == "euler":
            assert p2.tolist() == [0.0, 0.0, 1.0, 1.0]  # a one-step shift, not zero steps


def test_time_grid_with_start_and_report_interval():
    g, msgs = time_grid(5, 0.25, t0=1.0, every=0.5)
    assert g.report_times == (1.0, 1.5, 2.0, 2.5, 3.0) and g.report_steps == (0, 2, 4, 6, 8) and not msgs
    g, msgs = time_grid(4, 0.3, t0=0.0, every=0.1)
    assert msgs and "report interval" in msgs[0]
    assert time_grid(3, 1.0)[0].report_times == (0.0, 1.0, 2.0)


def test_trigonometry_is_available_to_imported_models():
    s = spec([{"name": "z", "expr": Call("sin", (Num(np.pi / 2),))}])
    assert aux(s, "z").item() == pytest.approx(1.0)

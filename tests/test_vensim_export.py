"""The Vensim writer on models other than the surge workbooks: dimension order, tables, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from simulator import ModelSpec, simulate
from simulator.vensim import import_model
from simulator.vensim._writer import ExportError, mdl_text, pysd_exact, pysd_terms


def two_stocks() -> ModelSpec:
    """A [group] stock beside a [group, condition] one: the shapes PySD 3.14 crashes on."""
    return ModelSpec.build(
        "shapes",
        dims={"group": ["g1", "g2"], "condition": ["c1", "c2", "c3"]},
        stocks=[  # the two-dimensional stock first: the writer still places [Group] first
            {"name": "b", "dims": ["group", "condition"], "initial": 2},
            {"name": "a", "dims": ["group"], "initial": 1},
        ],
        params=[
            {"name": "k", "dims": ["group", "condition"], "values": np.arange(6) / 7 + 0.1, "source": "t"},
            {"name": "inflow_rate", "dims": ["group"], "values": [1.0, 3.0], "source": "t"},
        ],
        flows=[
            {"name": "arrive", "kind": "inflow", "target": "a", "rate": "inflow_rate"},
            {
                "name": "move",
                "kind": "outflow",
                "source": "a",
                "target": "b",
                "rate": "k / 10",
                "dims": ["group", "condition"],
            },
            {"name": "leave", "kind": "outflow", "source": "b", "rate": "0.2"},
        ],
        horizon=12,
    )


def test_pysd_runs_stocks_sharing_a_first_dimension_after_reordering(tmp_path):
    import pysd

    spec = two_stocks()
    text = mdl_text(spec, dt=0.25)
    assert "b[Condition, Group]=" in text  # reordered: PySD 3.14 crashes on [Group] beside [Group, ...]
    (tmp_path / "shapes.mdl").write_text(text, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = pysd.read_vensim(str(tmp_path / "shapes.mdl")).run(flatten_output=False)
    ours = simulate(spec, dt=0.25, record=["a", "b"])
    for t, (va, vb) in enumerate(zip(run["a"], run["b"])):
        np.testing.assert_allclose(va.values, ours["a"].isel(member=0, time=t), rtol=1e-12)
        got = vb.transpose("Group", "Condition").values
        np.testing.assert_allclose(got, ours["b"].isel(member=0, time=t), rtol=1e-12)
    back = import_model(tmp_path / "shapes.mdl")
    again = simulate(back, record=["b"])
    np.testing.assert_allclose(
        again["b"].transpose("member", "time", "group", "condition"), ours["b"], rtol=1e-12
    )


def test_the_pysd_defect_is_real(tmp_path):
    """Without the reordering PySD 3.14 cannot run the model (why the writer reorders)."""
    import pysd

    text = mdl_text(two_stocks(), dt=0.25).replace("b[Condition, Group]", "b[Group, Condition]")
    (tmp_path / "crash.mdl").write_text(text, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = pysd.read_vensim(str(tmp_path / "crash.mdl"))
        with pytest.raises(ValueError, match="broadcast"):
            model.run()


def test_tables_keep_every_digit_pysd_reads():
    v = np.array([0.1, 2 / 367, 1e-12, 8819765.0])
    assert not pysd_exact(v)
    terms = pysd_terms(v)
    assert all(pysd_exact(t) for t in terms) and np.array_equal(np.sum(terms, axis=0), v)
    text = mdl_text(two_stocks())
    # k has 1/7ths: written element by element (PySD would cut a table to 8 decimals)
    assert "k[g1, c1]=\n\t0.1" in text and "k[Group, Condition]=" not in text
    assert "inflow rate[Group]=\n\t1, 3" in text


def test_names_vensim_cannot_tell_apart_are_refused():
    spec = ModelSpec.build(
        "clash",
        stocks=[{"name": "at_risk", "initial": 0}],
        params=[{"name": "At_Risk", "values": 1.0, "source": "t"}],
        flows=[{"name": "f", "kind": "inflow", "target": "at_risk", "rate": "At_Risk"}],
    )
    with pytest.raises(ExportError, match="same Vensim name"):
        mdl_text(spec)


def test_lookup_tables_of_network_models_go_to_pysd_and_back(tmp_path):
    import pysd

    spec = ModelSpec.build(
        "crowding",
        dims={"occupancy": ["0", "0.5", "1"], "service": ["a", "b"]},
        stocks=[{"name": "waiting", "dims": ["service"], "initial": 10}],
        params=[
            {
                "name": "effect",
                "dims": ["service", "occupancy"],
                "values": [1, 0.8, 1 / 3, 1, 0.5, 0.1],
                "source": "t",
            },
            {"name": "capacity", "dims": ["service"], "values": [20, 30], "source": "t"},
        ],
        flows=[
            {
                "name": "arrivals",
                "kind": "inflow",
                "target": "waiting",
                "rate": "5 * lookup(effect, waiting / capacity)",
            },
            {"name": "starts", "kind": "outflow", "source": "waiting", "rate": "0.1"},
        ],
        horizon=10,
    )
    text = mdl_text(spec, dt=0.5)
    assert "effect[a](\n" in text and "effect digits[a](\n" in text  # 1/3 needs a digits lookup
    (tmp_path / "crowding.mdl").write_text(text, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = pysd.read_vensim(str(tmp_path / "crowding.mdl")).run(flatten_output=False)
    ours = simulate(spec, dt=0.5, record=["waiting"])["waiting"].isel(member=0)
    np.testing.assert_allclose(np.stack([v.values.astype(float) for v in run["waiting"]]), ours, rtol=1e-12)
    back = import_model(tmp_path / "crowding.mdl")
    assert {"effect", "effect_digits"} <= set(back.spec.meta["lookups"])
    np.testing.assert_allclose(simulate(back, record=["waiting"])["waiting"].isel(member=0), ours, rtol=1e-12)


def test_step_series_and_dt_after_the_capacity_work(tmp_path):
    """Step series and ``dt`` in formulas (from the capacity model's branch) go to Vensim exactly."""
    import dataclasses

    from simulator.core import Series

    if "kind" not in {f.name for f in dataclasses.fields(Series)}:
        pytest.skip("step series arrive with the capacity model (main branch); this runs once merged")
    import pysd

    spec = ModelSpec.build(
        "steps",
        dims={"svc": ["a", "b"]},
        stocks=[{"name": "w", "dims": ["svc"], "initial": 100}],
        params=[{"name": "arr", "dims": ["svc"], "values": [30, 20], "source": "t"}],
        series=[
            {
                "name": "capacity",
                "dims": ["svc"],
                "times": [0, 3, 6.5],
                "values": [[10, 20, 15], [5, 5, 8]],
                "source": "t",
            }
        ],
        flows=[
            {"name": "inn", "kind": "inflow", "target": "w", "rate": "arr"},
            {"name": "start", "kind": "inflow", "target": "w", "rate": "-min(capacity, w / dt)"},
        ],
        horizon=12,
    )
    spec = dataclasses.replace(spec, series=tuple(dataclasses.replace(s, kind="step") for s in spec.series))
    text = mdl_text(spec, dt=0.5)
    assert "IF THEN ELSE(Time >= 6.5, -5, 0)" in text and "TIME STEP" in text
    (tmp_path / "steps.mdl").write_text(text, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = pysd.read_vensim(str(tmp_path / "steps.mdl")).run(flatten_output=False)
    ours = simulate(spec, dt=0.5, record=["w"])["w"].isel(member=0)
    np.testing.assert_allclose(np.stack([v.values.astype(float) for v in run["w"]]), ours, rtol=1e-12)
    np.testing.assert_allclose(
        simulate(import_model(tmp_path / "steps.mdl"), record=["w"])["w"].isel(member=0), ours
    )

"""Ensembles, sensitivity analysis and intervention comparisons on an imported Vensim model.

The SIR sample of the SDXorg collection: its constants are parameters by name,
so every ensemble feature addresses them as it does a surge model's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import simulator as up
from simulator.analysis import Design, UncertaintyGroup, distribution_from_dict
from simulator.cli import main

SIR = Path(__file__).resolve().parent / "sd_test_models" / "samples" / "SIR" / "SIR.mdl"


@pytest.fixture(scope="module")
def sir():
    return up.load_model(SIR)


def group(name, param, low, high):
    return UncertaintyGroup(
        name, param, distribution_from_dict({"type": "uniform", "low": low, "high": high})
    )


@pytest.mark.slow
def test_sensitivity_of_an_imported_model_ranks_its_constants(sir):
    from simulator.analysis import sensitivity_analysis

    design = Design(
        sir.spec,
        [
            group("infectivity", "contact_infectivity", 0.7, 1.3),
            group("duration", "duration", 0.7, 1.3),
            group("population", "total_population", 0.999, 1.001),
        ],
    )
    res = sensitivity_analysis(
        sir, design, method="sobol", n=128, seed=2, variables=["infectious", "recovered"]
    )
    assert res.meta["variables"] == ["infectious", "recovered"]
    r = res.ranking("infectious_peak", "").set_index("factor")["value"]
    # the epidemic's peak is driven by R0 = infectivity x duration; a 0.1% population change barely matters
    assert r["infectivity"] > 10 * abs(r["population"])
    assert r["duration"] > 10 * abs(r["population"])
    over_time = res.indices[(res.indices["output"] == "infectious") & res.indices["month"].notna()]
    assert over_time["month"].nunique() == len(up.simulate(sir)["time"])


def test_interventions_on_an_imported_model_are_measured_by_its_variables(sir, tmp_path):
    from simulator.analysis import Package, appraise
    from simulator.files import load_intervention

    p = tmp_path / "distancing.yaml"
    p.write_text(
        "upstream: intervention\nname: Distancing\ntier: upstream\nlever: parameter\n"
        "parameter: contact_infectivity\n"
        "effect: {type: relative, distribution: {type: uniform, low: -0.4, high: -0.2}, source: test}\n"
        "timing: {start: 0}\ncost: {fixed_per_month: 10}\n"
    )
    iv = load_intervention(p)
    design = Design(sir.spec, [group("infectivity", "contact_infectivity", 0.9, 1.1)])
    a = appraise(
        sir, [Package("distancing", (iv,))], design=design, members=40, seed=1, outcomes=["infectious"]
    )
    averted = a.averted("infectious").sel(package="distancing").to_numpy()
    assert (averted > 0).all()  # less contact: fewer infectious person-days, member by member
    months = a.meta["months"]
    np.testing.assert_allclose(a.members["cost"].sel(package="distancing"), 10 * months)
    table = a.table()
    assert "infectious (total) averted median" in table and "cost per infectious averted median" in table
    per_person = p.with_name("pp.yaml")
    per_person.write_text(p.read_text().replace("fixed_per_month: 10", "per_person: 5"))
    with pytest.raises(ValueError, match="per-person costs need a surge model"):
        appraise(sir, [Package("pp", (load_intervention(per_person),))], members=4)


def test_cli_runs_sensitivity_and_comparisons_on_an_imported_model(tmp_path):
    sc = tmp_path / "sir-scenario.yaml"
    sc.write_text(
        f"upstream: scenario\nname: SIR\nmodel: {SIR}\nmembers: 30\nseed: 1\n"
        "uncertainty:\n"
        "- {name: infectivity, parameter: contact_infectivity, apply: scale,"
        " distribution: {type: uniform, low: 0.8, high: 1.2}, source: test}\n"
        "- {name: duration, parameter: duration, apply: scale,"
        " distribution: {type: uniform, low: 0.8, high: 1.2}, source: test}\n"
    )
    iv = tmp_path / "distancing.yaml"
    iv.write_text(
        "upstream: intervention\nname: Distancing\nlever: parameter\nparameter: contact_infectivity\n"
        "effect: {type: relative, distribution: {type: fixed, value: -0.3}, source: test}\n"
    )
    out = tmp_path / "s.csv"
    r = CliRunner().invoke(
        main, ["sensitivity", str(sc), "--n", "16", "--variable", "infectious", "-o", str(out), "-q"]
    )
    assert r.exit_code == 0, r.output
    assert "infectious_peak" in r.output and out.exists()
    r = CliRunner().invoke(
        main, ["compare-interventions", str(sc), "--package", str(iv), "--outcome", "infectious", "-q"]
    )
    assert r.exit_code == 0, r.output
    assert "Distancing" in r.output and "infectious (total) averted" in r.output
    r = CliRunner().invoke(
        main, ["compare-interventions", str(sc), "--package", str(iv), "--outcome", "nope", "-q"]
    )
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_sweep_and_compare_of_an_imported_model_report_its_variables(tmp_path):
    from simulator.analysis import run_ensemble

    sir = up.load_model(SIR)
    design = Design(sir.spec, [group("infectivity", "contact_infectivity", 0.8, 1.2)])
    res = run_ensemble(sir, design, members=40, seed=3)
    table = res.table()
    assert set(table["variable"]) == {"infectious", "recovered", "susceptible"}
    peak = table.set_index("variable").loc["infectious", "peak median"]
    assert peak == pytest.approx(float(np.median(res.members["infectious_peak"].to_numpy())))
    sc = tmp_path / "sir.yaml"
    sc.write_text(
        f"upstream: scenario\nname: SIR\nmodel: {SIR}\nmembers: 20\nseed: 1\n"
        "uncertainty:\n- {name: infectivity, parameter: contact_infectivity, apply: scale,"
        " distribution: {type: uniform, low: 0.8, high: 1.2}, source: test}\n"
    )
    fan, cmp_png = tmp_path / "fan.png", tmp_path / "cmp.png"
    r = CliRunner().invoke(main, ["sweep", str(sc), "-q", "--plot", str(fan), "--fan", "infectious"])
    assert r.exit_code == 0, r.output
    assert "infectious" in r.output and fan.stat().st_size > 0
    r = CliRunner().invoke(
        main, ["compare", str(sc), str(sc), "-q", "--output-var", "infectious_peak", "--plot", str(cmp_png)]
    )
    assert r.exit_code == 0, r.output
    assert "infectious_peak" in r.output and cmp_png.stat().st_size > 0
    r = CliRunner().invoke(main, ["compare", str(sc), str(sc), "-q", "--output-var", "referrals_total"])
    assert r.exit_code == 2 and "not a figure of these runs" in r.output

"""Fitting stratum multipliers: targets that select strata, ``apply: multiplier``, the shipped IMD spec.

Checked: a multiplier group sets the stratum's multiplier (value = unstratified value x draw,
whatever the model's own multiplier was); a share target's predictions add up to 1 over the
strata; a synthetic stratified model's known referral and success multipliers are recovered
from its own simulated data by likelihood SMC; ``by:`` merges published deciles into quintiles
exactly (counts added, recovery rates recomputed from counts); a misspelt stratum in a target is
an error with its place (CLI exit 2); the shipped ``calibration/england-imd.yaml`` validates.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from tiny import write_tiny

from simulator.analysis._calibrate import calibrate
from simulator.analysis._calibration import CalibrationProblem
from simulator.analysis._distributions import distribution_from_dict
from simulator.analysis._likelihoods import Likelihood
from simulator.analysis._targets import Period, Target
from simulator.analysis._uncertainty import Design, UncertaintyGroup
from simulator.cli import main
from simulator.core._problems import InputError
from simulator.core._strata import StrataDecl, StratumMultiplier
from simulator.files._calibration_spec import load_calibration
from simulator.files._loading import load_model, with_strata

ROOT = Path(__file__).resolve().parents[1]
CATS = ("low", "mid", "high")
TRUE_REFERRAL = (1.4, 1.0, 0.7)
TRUE_SUCCESS = (0.7, 0.85, 1.0)
PRIOR = distribution_from_dict({"type": "lognormal", "median": 1.0, "sigma": 0.5})


def _stratified(tmp_path: Path, referral, success):
    decl = StrataDecl(
        "deprivation", CATS, True, {"all": (0.5, 0.3, 0.2)}, "test shares (illustrative assumption)",
        (StratumMultiplier("g2c_pcnt", tuple(referral), "test (illustrative assumption)"),
         StratumMultiplier("success", tuple(success), "test (illustrative assumption)")),
        population="size",
    )  # fmt: skip
    return with_strata(load_model(write_tiny(tmp_path / "tiny.xlsx")), [decl])


def _groups() -> list[UncertaintyGroup]:
    return [
        UncertaintyGroup(f"{kind}_{c}", param, PRIOR, {"deprivation": (c,)}, apply="multiplier")
        for kind, param in (("referral", "g2c_pcnt"), ("success", "success"))
        for c in CATS
    ]


def test_apply_multiplier_replaces_the_models_own_multiplier(tmp_path):
    model = _stratified(tmp_path, (1.1, 0.9, 1.0), (1.0, 0.9, 1.0))
    design = Design(model.spec, _groups())
    u = np.full((1, 6), 0.5)
    u[0, 0] = 0.9  # referral_low draw
    got = design.apply(u)["g2c_pcnt"][0]
    draw = float(PRIOR.ppf(np.array([0.9]))[0])
    params = {p.name: p for p in model.spec.params}
    base = params["g2c_pcnt_unstratified"]
    space = params["g2c_pcnt"].space
    k = space.dims.index("deprivation")
    for i, c in enumerate(space.coords):
        plain = base.values[base.space.coords.index(c[:k] + c[k + 1 :])]
        expected = plain * (draw if c[k] == "low" else 1.0)  # median 1 elsewhere: the model's 0.9 is replaced
        assert got[i] == pytest.approx(expected, rel=1e-12)


def test_apply_multiplier_needs_a_stratified_parameter(tmp_path):
    plain = load_model(write_tiny(tmp_path / "plain.xlsx"))
    with pytest.raises(
        ValueError, match="apply: multiplier needs a parameter a strata declaration multiplies"
    ):
        Design(plain.spec, [UncertaintyGroup("r", "g2c_pcnt", PRIOR, apply="multiplier")])


def _targets(truth) -> list[Target]:
    """Referrals (every service) and S1's success rate in every stratum, months 1-3, as ``truth`` has them."""
    periods = tuple(Period(f"m{m}", float(m), float(m)) for m in range(1, 4))  # none are referred in month 0
    shapes = []
    for c in CATS:
        shapes.append(Target(f"referrals[{c}]", ("new_referral",), periods, np.ones(3),
                             Likelihood("lognormal", 0.01), select={"deprivation": (c,)}))  # fmt: skip
        shapes.append(Target(f"success[{c}]", ("recovered",), periods[1:], np.ones(2),
                             Likelihood("lognormal", 0.01), select={"deprivation": (c,), "service": ("S1",)},
                             denominator=("recovered", "relapse")))  # fmt: skip
    observed = CalibrationProblem(truth, [], shapes, months=4).predict(np.zeros((1, 0)))
    return [replace(t, observed=observed[t.name][0]) for t in shapes]


def test_known_multipliers_are_recovered_from_simulated_data(tmp_path):
    truth = _stratified(tmp_path, TRUE_REFERRAL, TRUE_SUCCESS)
    wrong = _stratified(tmp_path, (1.0, 1.2, 0.9), (1.0, 0.9, 0.95))  # what the fit starts from
    problem = CalibrationProblem(wrong, _groups(), _targets(truth), months=4)
    cal = calibrate(problem, "smc", particles=400, seed=3)
    mean = np.average(cal.values[:, :6], weights=cal.weights, axis=0)
    np.testing.assert_allclose(mean, (*TRUE_REFERRAL, *TRUE_SUCCESS), rtol=0.03)


def test_share_targets_add_up_to_one_over_the_strata(tmp_path):
    model = _stratified(tmp_path, (1.3, 1.0, 0.6), (1.0, 1.0, 1.0))
    periods = (Period("m1", 1.0, 1.0), Period("m2", 2.0, 3.0))
    targets = [
        Target(
            f"share[{c}]",
            ("new_referral",),
            periods,
            np.ones(2),
            Likelihood("lognormal", 0.1),
            select={"deprivation": (c,), "service": ("S1", "S2")},
            denominator=("new_referral",),
            denominator_select={"service": ("S1", "S2")},
        )
        for c in CATS
    ]
    problem = CalibrationProblem(model, [], targets, months=4)
    pred = problem.predict(np.zeros((1, 0)))
    total = sum(pred[f"share[{c}]"] for c in CATS)
    np.testing.assert_allclose(total, 1.0, rtol=1e-12)
    assert pred["share[low]"][0, 0] > pred["share[mid]"][0, 0] > pred["share[high]"][0, 0]


@pytest.fixture(scope="module")
def imd_spec():
    return load_calibration(ROOT / "calibration" / "england-imd.yaml")


def test_shipped_spec_merges_deciles_into_quintiles_from_counts(imd_spec):
    df = pd.read_csv(ROOT / "calibration/data/talking_therapies_england_deprivation.csv", comment="#")
    y = df[(df["year"] == "2021-22") & df["category"].isin(["10 Most deprived", "09 More deprived"])]
    tot = y.groupby("measure")["value"].sum()
    rate = 100 * tot["recovered"] / (tot["finished_course_treatment"] - tot["not_at_caseness"])
    refs = df[(df["year"] == "2021-22") & (df["measure"] == "referrals_received")]
    known = refs[~refs["category"].str.startswith("Not stated")]["value"].sum()
    share = tot["referrals_received"] / known
    got = {t.name: t for t in imd_spec.problem.targets}
    k = [p.label for p in got["recovery[Q1 most deprived]"].periods].index("2021-22")
    assert got["recovery[Q1 most deprived]"].observed[k] == pytest.approx(rate, rel=1e-12)
    assert got["referral_share[Q1 most deprived]"].observed[k] == pytest.approx(share, rel=1e-12)
    assert len(imd_spec.problem.columns) == 10 and len(imd_spec.problem.targets) == 10


def test_shipped_spec_validates_on_the_command_line():
    res = CliRunner().invoke(main, ["validate", str(ROOT / "calibration" / "england-imd.yaml")])
    assert res.exit_code == 0, res.output
    assert "10 fitted columns, 10 targets" in res.output


def _bad_spec(tmp_path: Path, select: str) -> Path:
    text = (ROOT / "calibration" / "england-imd.yaml").read_text()
    text = text.replace("model: ../models/england-imd.yaml", f"model: {ROOT / 'models' / 'england-imd.yaml'}")
    text = text.replace("data: data/", f"data: {ROOT / 'calibration' / 'data'}/")
    text = text.replace("    select: {service: [IAPT]}\n    partial", f"    select: {select}\n    partial", 1)
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


def test_an_unknown_stratum_in_a_target_is_an_error_with_its_place(tmp_path):
    path = _bad_spec(tmp_path, "{service: [IAPT], deprivation: [Q6]}")
    with pytest.raises(InputError) as err:
        load_calibration(path)
    (p,) = [q for q in err.value.problems if "Q6" in str(q)]
    assert p.part == "targets[0].select.deprivation" and p.line is not None
    assert "Q1 most deprived" in str(p)  # what is allowed
    res = CliRunner().invoke(main, ["validate", str(path)])
    assert res.exit_code == 2 and "deprivation has no category 'Q6'" in res.output
    assert "Traceback" not in res.output


def test_an_unknown_dimension_or_by_category_is_an_error(tmp_path):
    path = _bad_spec(tmp_path, "{service: [IAPT], imd: [Q1]}")
    with pytest.raises(InputError, match="the model has no dimension 'imd'"):
        load_calibration(path)
    text = (
        _bad_spec(tmp_path, "{service: [IAPT]}").read_text().replace("        Q2: [08", "        Q9: [08", 1)
    )
    path.write_text(text)
    with pytest.raises(InputError, match="deprivation has no category 'Q9'"):
        load_calibration(path)

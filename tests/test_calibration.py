"""Calibration: exact posteriors, an established sampler, held-out scores, specs and the CLI.

The model is a stock filled by a constant inflow (``tests/data/constant_inflow.yaml``):
a year's arrivals are ``12 x rate``, so with a log-normal prior on the rate and a
log-normal observation model the posterior of ``log(rate)`` is normal in closed form,
and with a gamma prior and Poisson counts it is a gamma distribution.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner
from scipy import stats as scipy_stats

import simulator as up
from simulator.analysis._calibrate import calibrate
from simulator.analysis._calibration import CalibrationProblem, Period, Target
from simulator.analysis._distributions import distribution_from_dict
from simulator.analysis._likelihoods import Likelihood
from simulator.analysis._scores import crps_ensemble, pit, predictive_summary
from simulator.analysis._uncertainty import UncertaintyGroup
from simulator.core._problems import InputError
from simulator.files._calibration_spec import load_calibration

DATA = Path(__file__).parent / "data"
MODEL = DATA / "constant_inflow.yaml"
OBSERVED = DATA / "constant_inflow_observed.csv"
OBS = np.array([1300.0, 1150.0, 1250.0])
M0, S0, SIGMA = 100.0, 0.5, 0.1  # prior median and log-sd of the rate; observation log-sd


@pytest.fixture(scope="module")
def model():
    return up.load_model(MODEL)


def periods(k=3):
    return tuple(Period(f"y{i}", 12 * i, 12 * i + 11) for i in range(k))


def lognormal_problem(model, held_out=None, **kw):
    g = UncertaintyGroup("rate", "rate", distribution_from_dict({"type": "lognormal", "median": M0, "sigma": S0}),
                         apply="set")  # fmt: skip
    t = Target("arrivals", ("arrivals",), periods(), OBS, Likelihood("lognormal", SIGMA), held_out=held_out)
    return CalibrationProblem(model, [g], [t], months=36, dt=1.0, **kw)


def exact_log_rate(obs=OBS):
    prec = 1 / S0**2 + len(obs) / SIGMA**2
    mean = (math.log(M0) / S0**2 + np.sum(np.log(obs) - math.log(12)) / SIGMA**2) / prec
    return mean, prec**-0.5


def weighted_moments(x, w):
    m = np.average(x, weights=w)
    return m, math.sqrt(np.average((x - m) ** 2, weights=w))


@pytest.mark.parametrize(("method", "tol_mean", "tol_sd"), [("smc", 0.12, 0.1), ("abc-smc", 0.2, 0.2)])
def test_lognormal_conjugate_posterior(model, method, tol_mean, tol_sd):
    cal = calibrate(lognormal_problem(model), method, particles=2000, generations=8, seed=3)
    mean, sd = exact_log_rate()
    m, s = weighted_moments(np.log(cal.values[:, 0]), cal.weights)
    assert abs(m - mean) < tol_mean * sd + 4 * sd / math.sqrt(cal.population.ess)
    assert abs(s / sd - 1) < tol_sd


def test_optimize_finds_the_posterior_mode(model):
    cal = calibrate(lognormal_problem(model), "optimize", particles=200, seed=1)
    mean, _ = exact_log_rate()  # normal in log(rate): the mode is the mean
    assert abs(math.log(cal.values[0, 0]) - mean) < 1e-4


def test_poisson_gamma_conjugate_posterior(model):
    shape, rate = 4.0, 0.04  # gamma prior on the monthly rate: mean 100
    g = UncertaintyGroup("rate", "rate", distribution_from_dict({"type": "gamma", "shape": shape, "rate": rate}),
                         apply="set")  # fmt: skip
    t = Target("arrivals", ("arrivals",), periods(), OBS, Likelihood("poisson"))
    cal = calibrate(CalibrationProblem(model, [g], [t], months=36, dt=1.0), "smc", particles=2000, seed=4)
    a, b = shape + OBS.sum(), rate + 12 * len(OBS)  # gamma posterior
    m, s = weighted_moments(cal.values[:, 0], cal.weights)
    assert abs(m - a / b) < 4 * math.sqrt(a) / b / math.sqrt(cal.population.ess)
    assert abs(s / (math.sqrt(a) / b) - 1) < 0.1


@pytest.mark.slow
def test_agrees_with_emcee_on_two_parameters(model):
    emcee = pytest.importorskip("emcee")
    groups = [
        UncertaintyGroup("rate", "rate", distribution_from_dict({"type": "lognormal", "median": 60, "sigma": 0.5}),
                         apply="set"),
        UncertaintyGroup("second", "second", distribution_from_dict({"type": "normal", "mean": 40, "sd": 15}),
                         apply="set"),
    ]  # fmt: skip
    obs = OBS[:2]
    t = Target("arrivals", ("arrivals",), periods(2), obs, Likelihood("negbin", 300.0))
    prob = CalibrationProblem(model, groups, [t], months=24, dt=1.0)
    cal = calibrate(prob, "smc", particles=3000, seed=5)

    def log_post(z):  # emcee passes half the walkers at once: one ensemble run each time
        return prob.loglik(z) - 0.5 * np.sum(z * z, axis=1)

    walkers = 32
    sampler = emcee.EnsembleSampler(walkers, 2, log_post, vectorize=True)
    sampler.random_state = np.random.RandomState(6).get_state()
    sampler.run_mcmc(np.random.default_rng(6).standard_normal((walkers, 2)) * 0.5, 1500, progress=False)
    ref = prob.values(sampler.get_chain(discard=300, flat=True))
    for j in range(2):
        m, s = weighted_moments(cal.values[:, j], cal.weights)
        assert abs(m - ref[:, j].mean()) < 0.12 * ref[:, j].std()
        assert abs(s / ref[:, j].std() - 1) < 0.15


def test_same_seed_same_posterior_whatever_the_chunking(model):
    a = calibrate(lognormal_problem(model, chunk_size=7, workers=1), "smc", particles=300, seed=9)
    b = calibrate(lognormal_problem(model, chunk_size=64, workers=2), "smc", particles=300, seed=9)
    assert np.array_equal(a.values, b.values)
    assert np.array_equal(a.weights, b.weights)


def test_scores_by_hand():
    draws = np.array([[1.0], [2.0], [3.0], [4.0]])
    # CRPS = mean|x - y| - mean|x - x'| / 2 = 1 - 20 / 16 / 2
    assert crps_ensemble(draws, np.array([2.5]))[0] == pytest.approx(0.375)
    assert pit(draws, np.array([2.0]))[0] == pytest.approx(0.25 + 0.5 * 0.25)
    s = predictive_summary(np.arange(101.0)[:, None], np.array([96.0]))
    assert s["median"][0] == 50 and s["p5"][0] == 5 and s["p95"][0] == 95
    assert not s["in_90"][0] and not s["in_50"][0]
    # CRPS of a point forecast is the absolute error
    assert crps_ensemble(np.full((5, 1), 3.0), np.array([1.0]))[0] == pytest.approx(2.0)


def test_held_out_periods_are_scored_not_fitted(model):
    held = np.array([False, False, True])
    cal = calibrate(lognormal_problem(model, held_out=held), "smc", particles=1000, seed=2)
    mean, _ = exact_log_rate(OBS[:2])
    assert abs(np.average(np.log(cal.values[:, 0]), weights=cal.weights) - mean) < 0.02
    s = cal.scores(500)
    assert s["held_out"].tolist() == [False, False, True] * 2
    cal_crps = s[(s.model == "calibrated") & s.held_out]["crps"].iloc[0]
    unc_crps = s[(s.model == "uncalibrated") & s.held_out]["crps"].iloc[0]
    assert cal_crps < unc_crps  # the data moved the rate toward the truth


def test_unidentified_parameters_are_named(model):
    groups = [
        UncertaintyGroup("rate", "rate", distribution_from_dict({"type": "uniform", "low": 0, "high": 200}),
                         apply="set"),
        UncertaintyGroup("second", "second", distribution_from_dict({"type": "uniform", "low": 0, "high": 200}),
                         apply="set"),
    ]  # fmt: skip
    t = Target("arrivals", ("arrivals",), periods(), OBS, Likelihood("lognormal", 0.02))
    cal = calibrate(CalibrationProblem(model, groups, [t], months=36, dt=1.0), "smc", particles=1000, seed=1)
    text = " ".join(cal.warnings())
    assert "correlation" in text and "rate" in text and "second" in text  # only the sum is identified
    assert cal.correlation().loc["rate", "second"] < -0.9


def test_posterior_file(model, tmp_path):
    cal = calibrate(lognormal_problem(model), "smc", particles=200, seed=1)
    out = cal.write(tmp_path / "post.nc")
    ds = xr.open_dataset(out)
    assert ds["value"].shape == (200, 1) and list(ds["parameter"].values) == ["rate"]
    assert ds.attrs["method"] == "smc" and float(ds["weight"].sum()) == pytest.approx(1.0)
    assert not list(tmp_path.glob("*.part"))


# ---------------------------------------------------------------------------------------- spec files
SPEC = f"""upstream: calibration
name: constant inflow
model: {MODEL}
months: 36
dt: 1
particles: 300
seed: 2
parameters:
  - {{name: rate, parameter: rate, apply: set, distribution: {{type: lognormal, median: 100, sigma: 0.5}},
     source: test}}
targets:
  - name: arrivals
    data: {OBSERVED}
    where: {{measure: referrals_received}}
    variable: arrivals
    likelihood: {{type: lognormal, sigma: 0.1}}
held_out: [2022-23]
"""


def test_spec_reads_periods_from_dates(tmp_path):
    p = tmp_path / "cal.yaml"
    p.write_text(SPEC)
    s = load_calibration(p)
    t = s.problem.targets[0]
    assert [(q.label, q.first, q.last) for q in t.periods] == [
        ("2020-21", 0, 11), ("2021-22", 12, 23), ("2022-23", 24, 35)
    ]  # fmt: skip
    assert t.held_out.tolist() == [False, False, True]
    assert s.particles == 300 and s.seed == 2


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("variable: arrivals", "variable: nothing"), "records no 'nothing'"),
        (("type: lognormal, sigma: 0.1", "type: gaussian"), "likelihood"),
        (("held_out: [2022-23]", "held_out: [2030-31]"), "held-out period '2030-31'"),
        (("held_out: [2022-23]", "held_out: [2020-21, 2021-22, 2022-23]"), "nothing is left to fit"),
        (("months: 36", "months: 30"), "partial: scale"),
        (("where: {measure: referrals_received}", "where: {measure: recovery_rate}"), "no rows"),
        (("particles: 300", "particles: lots"), "particles"),
        (("upstream: calibration", "upstream: scenario"), "not a calibration file"),
        (("  - name: arrivals", "  - name: arrivals\n    colour: red"), "unknown field 'colour'"),
    ],
)
def test_bad_specs_name_the_field(tmp_path, change, expected):
    p = tmp_path / "cal.yaml"
    p.write_text(SPEC.replace(*change))
    with pytest.raises(InputError) as err:
        load_calibration(p)
    assert expected in str(err.value)


def test_cli_calibrate_writes_posterior_and_plot(tmp_path):
    from simulator.cli import main

    p = tmp_path / "cal.yaml"
    p.write_text(SPEC)
    out, fig = tmp_path / "post.nc", tmp_path / "fit.png"
    r = CliRunner().invoke(main, ["calibrate", str(p), "-o", str(out), "--plot", str(fig), "-q"])
    assert r.exit_code == 0, r.output
    assert "rate" in r.output and "held out" in r.output and f"wrote {out}, {fig}" in r.output
    assert out.stat().st_size > 0 and fig.stat().st_size > 0


def test_cli_bad_spec_exits_2_and_writes_nothing(tmp_path):
    from simulator.cli import main

    p = tmp_path / "cal.yaml"
    p.write_text(SPEC.replace("variable: arrivals", "variable: nothing"))
    out = tmp_path / "post.nc"
    r = CliRunner().invoke(main, ["calibrate", str(p), "-o", str(out)])
    assert r.exit_code == 2
    assert "records no 'nothing'" in r.output and "Traceback" not in r.output
    assert not out.exists() and not list(tmp_path.glob("*.part"))


def test_posterior_ensemble_members_are_posterior_draws(model, tmp_path):
    from simulator.analysis._calibrate import run_posterior_ensemble
    from simulator.analysis._posterior import Posterior

    cal = calibrate(
        lognormal_problem(model), "abc-smc", particles=500, generations=3, seed=1
    )  # unequal weights
    path = cal.write(tmp_path / "post.nc")
    post = Posterior.read(path)
    assert [g.name for g in post.groups] == ["rate"] and np.allclose(post.weights, cal.weights)
    res = run_posterior_ensemble(model, path, members=400, seed=3, months=36, dt=1.0)
    rates = cal.values[:, 0]  # every member's rate is one of the posterior's draws:
    per_month = res.members["seen"].isel(time=-1).to_numpy().ravel() / 35  # month 35: 35 months of arrivals
    assert np.all(np.min(np.abs(per_month[:, None] - rates[None, :]), axis=1) < 1e-9 * rates.max())
    m, s = weighted_moments(rates, cal.weights)
    assert abs(per_month.mean() - m) < 4 * s / math.sqrt(400)
    assert "post.nc" in res.attrs["posterior"]


def test_bad_posterior_file(tmp_path):
    from simulator.analysis._posterior import Posterior

    bad = tmp_path / "x.nc"
    xr.Dataset({"a": ("x", [1.0])}).to_netcdf(bad, engine="h5netcdf")
    with pytest.raises(ValueError, match="not an Upstream posterior"):
        Posterior.read(bad)
    with pytest.raises(ValueError, match="does not exist"):
        Posterior.read(tmp_path / "missing.nc")


@pytest.mark.slow
def test_recovers_known_parameters_of_the_england_model():
    england = up.load_model("england")
    prior = distribution_from_dict({"type": "lognormal", "median": 1.0, "sigma": 0.4})
    groups = [
        UncertaintyGroup("susceptibility", "pcnt", prior),
        UncertaintyGroup("iapt_split", "split", prior, select={"service": ("IAPT",)}),
    ]
    quarters = tuple(Period(f"q{i}", 3 * i, 3 * i + 2) for i in range(12))
    lik = Likelihood("lognormal", 0.03)
    targets = [
        Target("iapt", ("new_referral",), quarters, np.ones(12), lik, select={"service": ("IAPT",)}),
        Target("all", ("new_referral",), quarters, np.ones(12), lik),
    ]
    prob = CalibrationProblem(england, groups, targets, dt=1.0)
    truth = np.array([1.3, 0.8])
    z_true = scipy_stats.norm.ppf(scipy_stats.lognorm.cdf(truth, 0.4))[None, :]
    synthetic = prob.simulate_observations(z_true, np.random.default_rng(11))
    targets = [
        Target(t.name, t.variables, t.periods, synthetic[t.name][0], lik, select=t.select) for t in targets
    ]
    prob = CalibrationProblem(england, groups, targets, dt=1.0)
    cal = calibrate(prob, "smc", particles=600, seed=12)
    tab = cal.table()
    for name, value in zip(["susceptibility", "iapt_split"], truth):
        assert tab.loc[name, "posterior_p5"] < value < tab.loc[name, "posterior_p95"], tab
    assert (tab["shrinkage"] > 0.5).all()


@pytest.mark.slow
def test_simulation_based_calibration():
    """100 synthetic data sets: posterior ranks uniform (chi-square at 1%), 90% intervals cover 85-95%."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "sbc_calibration.py"
    r = subprocess.run([sys.executable, str(script), "--datasets", "100"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "sbc_passed: 1 bool" in r.stdout


def test_scenarios_and_the_cli_draw_members_from_a_posterior(model, tmp_path):
    from simulator.analysis import scenario_ensemble
    from simulator.cli import main
    from simulator.files import load_scenario

    cal = calibrate(lognormal_problem(model), "smc", particles=500, seed=4)
    cal.write(tmp_path / "post.nc")
    (tmp_path / "fit.yaml").write_text(
        f"upstream: scenario\nmodel: {MODEL}\nmonths: 36\nmembers: 300\nuncertainty: {{posterior: post.nc}}\n"
    )
    sc = load_scenario(tmp_path / "fit.yaml")
    assert sc.sampler == f"posterior:{tmp_path / 'post.nc'}" and [g.name for g in sc.groups] == ["rate"]
    res = scenario_ensemble(sc)
    per_month = res.summary["seen"].sel(stat="p50").isel(time=-1).item() / 35
    assert per_month == pytest.approx(np.median(cal.values[:, 0]), rel=0.02)
    (tmp_path / "plain.yaml").write_text(f"upstream: scenario\nmodel: {MODEL}\nmonths: 36\nmembers: 50\n")
    r = CliRunner().invoke(
        main, ["sweep", str(tmp_path / "plain.yaml"), "--posterior", str(tmp_path / "post.nc")]
    )
    assert r.exit_code == 0, r.output
    assert "members drawn from the posterior post.nc" in r.output
    r = CliRunner().invoke(
        main,
        ["sweep", str(tmp_path / "plain.yaml"), "--posterior", str(tmp_path / "post.nc"), "--sampler", "lhs"],
    )
    assert r.exit_code == 2 and "leave out --sampler" in r.output
    (tmp_path / "bad.yaml").write_text(
        f"upstream: scenario\nmodel: {MODEL}\nuncertainty: {{posterior: missing.nc}}\n"
    )
    with pytest.raises(InputError, match="does not exist"):
        load_scenario(tmp_path / "bad.yaml")


@pytest.mark.slow
def test_same_posterior_on_a_dask_cluster(model, monkeypatch):
    pytest.importorskip("dask.distributed")
    from simulator.analysis import _calibration
    from simulator.core import dask_client

    monkeypatch.setattr(_calibration, "DASK_BLOCK", 64)  # several blocks per generation
    here = calibrate(lognormal_problem(model), "smc", particles=200, seed=6)
    with dask_client("local") as client:
        there = calibrate(lognormal_problem(model, dask_client=client), "smc", particles=200, seed=6)
    assert np.array_equal(here.values, there.values)


def test_ratio_targets_and_included_data_extended_by_a_trend():
    england = up.load_model("england")
    iapt = {"service": ("IAPT",)}
    lik = Likelihood("lognormal", 0.1)
    growth = distribution_from_dict({"type": "normal", "mean": 0.1, "sd": 0.01})
    periods = (Period("year 3", 24, 35), Period("year 4", 36, 47))
    t = Target("iapt", ("new_referral",), periods, np.ones(2), lik, select=iapt, include=("underlying",),
               growth_prior=growth, extend=True)  # fmt: skip
    ratio = Target(
        "ratio", ("new_referral",), periods[:1], np.ones(1), lik, select=iapt, denominator=("new_referral",)
    )
    prob = CalibrationProblem(england, [], [t, ratio], months=48, dt=1.0)
    z = np.zeros((1, prob.dims))  # growth at its prior median: 10% a year
    pred = prob.predict(z)
    assert pred["ratio"][0, 0] == pytest.approx(1.0)
    ds = up.simulate(england, months=48)
    surge = ds["new_referral"].sel(service="IAPT").sum(["group", "condition"]).isel(member=0).to_numpy()
    under = ds["underlying"].sel(service="IAPT").to_numpy()
    assert np.isnan(under[36:]).all()  # the demand sheet ends with the surge curves
    months = np.arange(48)
    filled = np.concatenate([under[:36], under[24:36]])  # the last year repeated
    expect = surge + filled * 1.1 ** (months / 12)
    assert pred["iapt"][0] == pytest.approx([expect[24:36].sum(), expect[36:48].sum()], rel=1e-12)


def test_validate_reads_specs_scenarios_and_observed_data(tmp_path):
    from simulator.cli import main

    runner = CliRunner()
    r = runner.invoke(main, ["validate", str(OBSERVED)])
    assert r.exit_code == 0 and "OK: observed data: 3 rows, 2020-21 to 2022-23" in r.output
    spec = tmp_path / "cal.yaml"
    spec.write_text(SPEC)
    r = runner.invoke(main, ["validate", str(spec)])
    assert r.exit_code == 0 and "OK: calibration constant inflow: 1 fitted columns, 1 targets" in r.output
    bad = tmp_path / "bad.csv"
    bad.write_text(OBSERVED.read_text().replace("1150,", "lots,"))
    r = runner.invoke(main, ["validate", str(bad)])
    assert r.exit_code == 2 and "line" in r.output and "value" in r.output and "Traceback" not in r.output
    spec.write_text(SPEC.replace(str(OBSERVED), str(bad)))
    r = runner.invoke(main, ["calibrate", str(spec), "-o", str(tmp_path / "p.nc")])
    assert r.exit_code == 2 and "bad.csv" in r.output and not (tmp_path / "p.nc").exists()

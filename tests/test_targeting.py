"""Interventions that target strata, and coverage shared by proportionate universalism.

Checked: allocated coverage reaches exactly the stated share of the population (closed form
without caps, water-filling with them); an intervention file's scope may name a stratum and its
allocation is read and checked with lines; on England by IMD quintile a universal, a targeted and
a proportionate-universal intervention change each stratum's referrals by exactly their coverage
(first month, before anyone is re-referred), and the people costed equal the people covered.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from simulator.analysis._appraisal import simulate_package
from simulator.analysis._appraisal_levers import (
    Allocation,
    Package,
    allocate,
    gradient_intensity,
    scoped_at_risk,
)
from simulator.core._problems import InputError
from simulator.core._strata_transform import strata_of
from simulator.files._interventions import load_intervention
from simulator.files._loading import load_model


def test_allocation_closed_form_without_caps():
    cov = allocate(0.3, np.array([1.0, 1.0]), np.array([2.0, 1.0]))
    assert np.allclose(cov, [0.4, 0.2], rtol=0, atol=1e-15)
    pop = np.array([11.2, 11.5, 11.4, 11.1, 10.9])
    w = gradient_intensity(5, 2.0)
    assert np.allclose(w, [2.0, 1.75, 1.5, 1.25, 1.0])
    cov = allocate(0.25, pop, w)
    assert abs(pop @ cov - 0.25 * pop.sum()) < 1e-12
    assert np.allclose(cov / cov[-1], w)  # intensity ratio as stated


def test_allocation_caps_at_full_coverage_and_still_sums():
    pop = np.array([1.0, 2.0, 3.0, 4.0])
    cov = allocate(0.6, pop, np.array([10.0, 2.0, 1.0, 1.0]))
    # the first category is capped (1 person of 6 reached); 5 left for 2, 3 and 4 people at 2:1:1
    assert np.allclose(cov, [1.0, 10 / 11, 5 / 11, 5 / 11], rtol=0, atol=1e-15)
    assert abs(pop @ cov - 0.6 * pop.sum()) < 1e-12
    assert np.allclose(allocate(1.0, pop, np.array([5.0, 1, 1, 1])), 1.0)


def _iv(tmp_path: Path, extra: str, name: str = "Less stress", lever: str = "conversion") -> Path:
    p = tmp_path / f"{name.replace(' ', '-')}.yaml"
    p.write_text(
        f"""upstream: intervention
name: {name}
tier: upstream
lever: {lever}
effect:
  type: relative
  distribution: {{type: triangular, low: -0.3, mode: -0.2, high: -0.1}}
  source: "illustrative assumption: test"
coverage: 0.5
cost: {{per_person: 10, reach: population}}
{extra}"""
    )
    return p


PROPORTIONATE = """allocation:
  by: deprivation
  method: proportionate
  gradient: 2
  source: "illustrative assumption: intensity doubles from least to most deprived"
"""


def test_intervention_file_reads_allocation_and_stratum_scope(tmp_path):
    iv = load_intervention(_iv(tmp_path, "scope: {deprivation: [Q1 most deprived]}\n" + PROPORTIONATE))
    assert iv is not None
    assert iv.scope == {"deprivation": ("Q1 most deprived",)}
    assert iv.allocation == Allocation("deprivation", "proportionate", 2.0, None, iv.allocation.source)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (PROPORTIONATE.replace("  source:", "  # source:"), "'source' is missing"),
        (PROPORTIONATE.replace("proportionate", "random"), "method is 'random'"),
        (PROPORTIONATE.replace("gradient: 2", "gradient: -1"), "gradient is -1"),
        ("allocation: {method: universal}\n", "needs at least 'by'"),
        ("scope: {service: [IAPT]}\n", "conversion scopes group, condition, not 'service'"),
        (PROPORTIONATE + "from: [IAPT]\nto: [GP]\n", "cannot share its coverage between strata"),
    ],
)
def test_bad_allocation_names_field_and_line(tmp_path, text, message):
    with pytest.raises(InputError) as err:
        load_intervention(_iv(tmp_path, text, lever="diversion" if "from:" in text else "conversion"))
    hits = [p for p in err.value.problems if message in p.message]
    assert hits, err.value
    assert hits[0].line in (11, 12)  # the allocation or scope field, after the 10 common lines


@pytest.fixture(scope="module")
def imd():
    return load_model("england-imd")


def _first_ratio(model, iv) -> np.ndarray:
    """Referrals with the intervention over without, by quintile, in the first month with any.

    They come from the previous month's arrivals alone: nobody has been treated or re-referred yet.
    """
    pkg = Package(iv.name, (iv,))
    base = simulate_package(model, Package("none", ()))["new_referral"]
    run = simulate_package(model, pkg)["new_referral"]
    dims = [d for d in run.dims if d not in ("deprivation", "time")]
    b, r = base.sum(dims), run.sum(dims)
    first = int(np.flatnonzero(b.sum("deprivation").values > 0)[0])
    assert float(base["time"][first]) == 2.0
    return (r / b).isel(time=first).transpose("deprivation").values


def test_universal_targeted_and_proportionate_coverage_by_quintile(tmp_path, imd):
    (st,) = strata_of(imd)
    pop = np.asarray(st.population)
    universal = load_intervention(_iv(tmp_path, "", "Universal"))
    targeted = load_intervention(_iv(tmp_path, "scope: {deprivation: [Q1 most deprived]}\n", "Targeted"))
    prop = load_intervention(_iv(tmp_path, PROPORTIONATE, "Proportionate"))
    # relative effect -0.2 (the median) x coverage, in each quintile
    assert np.allclose(_first_ratio(imd, universal), 1 - 0.2 * 0.5, rtol=0, atol=1e-12)
    r = _first_ratio(imd, targeted)
    assert np.isclose(r[0], 0.9, rtol=0, atol=1e-12) and np.all(r[1:] == 1.0)
    cov = (1 - _first_ratio(imd, prop)) / 0.2
    assert np.allclose(cov, allocate(0.5, pop, gradient_intensity(5, 2.0)), rtol=0, atol=1e-12)
    assert abs(pop @ cov - 0.5 * pop.sum()) < 1e-6 * pop.sum()  # the stated total, shared out
    assert cov[0] > 0.5 > cov[-1]


def test_people_costed_follow_the_allocation(tmp_path, imd):
    values: dict[str, np.ndarray] = {}
    universal = load_intervention(_iv(tmp_path, "", "Universal"))
    prop = load_intervention(_iv(tmp_path, PROPORTIONATE, "Proportionate"))
    targeted = load_intervention(_iv(tmp_path, "scope: {deprivation: [Q1 most deprived]}\n", "Targeted"))
    spec = imd.spec
    at_risk = float((spec.param("size").values * load_model("england").spec.param("pcnt").values / 100).sum())
    assert np.isclose(scoped_at_risk(spec, values, universal)[0], at_risk, rtol=1e-12)
    assert np.isclose(scoped_at_risk(spec, values, prop)[0], at_risk, rtol=1e-12)  # same people, shared out
    share_q1 = strata_of(imd)[0].shares[0]
    assert np.isclose(scoped_at_risk(spec, values, targeted)[0], at_risk * share_q1, rtol=1e-12)


def test_allocation_by_a_stratifier_the_model_lacks_is_an_error(tmp_path):
    iv = load_intervention(_iv(tmp_path, PROPORTIONATE))
    with pytest.raises(ValueError, match="not stratified by"):
        simulate_package(load_model("england"), Package(iv.name, (iv,)))


def test_people_reached_through_referrals_follow_the_allocation(tmp_path, imd):
    from simulator.analysis._appraisal_engine import InterventionEngine

    text = PROPORTIONATE + "scope: {group: [General population]}\n"
    prop = replace(load_intervention(_iv(tmp_path, text, "P")), reach="referrals")
    (item,) = InterventionEngine(imd, [prop]).reach_items(Package("p", (prop,)))
    space = imd.compiled.flow_spaces[item.source]
    (st,) = strata_of(imd)
    rel = allocate(0.5, np.asarray(st.population), gradient_intensity(5, 2.0)) / 0.5
    in_scope = np.asarray(space.labels("group")) == "General population"
    want = in_scope * rel[[st.categories.index(q) for q in space.labels("deprivation")]]
    assert np.allclose(item.matrix.weights, want, rtol=0, atol=1e-12)

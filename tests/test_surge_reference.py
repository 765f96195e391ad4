"""The three Strategy Unit workbooks against an independent transcription of the R model."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from conftest import FOOTPRINTS, MODELS, WORKBOOKS
from reference_r import run_reference

from simulator import load_model, simulate, su_table

KEYS = ["time", "type", "group", "condition", "treatment"]


def whole_months(ref: pd.DataFrame) -> pd.DataFrame:
    ref = ref[np.abs(ref["time"] - np.round(ref["time"])) < 1e-9].copy()
    ref["time"] = ref["time"].round().astype(int)
    return ref


def compare(ref: pd.DataFrame, mine: pd.DataFrame) -> float:
    merged = ref.merge(mine, on=KEYS, how="outer", suffixes=("_r", "_u"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"].head()
    a, b = merged["value_r"].to_numpy(), merged["value_u"].to_numpy()
    rel = np.abs(a - b) / np.maximum(np.abs(a), 1e-300)
    rel[(a == 0) & (b == 0)] = 0.0
    return float(rel.max())


@pytest.mark.parametrize("footprint", list(FOOTPRINTS))
@pytest.mark.parametrize("dt", [1.0, 0.5, 0.25, 0.2, 0.3, 0.1])
def test_workbook_reproduces_reference(footprint, dt):
    path = WORKBOOKS / FOOTPRINTS[footprint]
    ref = whole_months(run_reference(str(path), dt))
    ds = simulate(load_model(path), dt=dt)
    assert compare(ref, su_table(ds)) < 1e-9


@pytest.mark.parametrize("curve", ["Sudden Shock", "Even Ebb"])
def test_other_curves_reproduce_reference(curve):
    path = WORKBOOKS / FOOTPRINTS["england"]
    ref = whole_months(run_reference(str(path), 0.5, curve=curve))
    ds = simulate(load_model(path).with_curve(curve), dt=0.5)
    assert compare(ref, su_table(ds)) < 1e-9


def test_longer_horizon_holds_curves_flat():
    path = WORKBOOKS / FOOTPRINTS["mersey-care"]
    ref = whole_months(run_reference(str(path), 0.5, months=30))
    ds = simulate(load_model(path), dt=0.5, months=30)
    assert ds.sizes["time"] == 30
    assert compare(ref, su_table(ds)) < 1e-9


@pytest.mark.parametrize("footprint", list(FOOTPRINTS))
def test_yaml_twin_equals_workbook(footprint):
    a = simulate(load_model(WORKBOOKS / FOOTPRINTS[footprint]), dt=0.5)
    b = simulate(load_model(MODELS / f"{footprint}.yaml"), dt=0.5)
    for v in ("at_risk", "treatment", "new_referral", "new_treatment", "no_mh_needs", "contacts"):
        np.testing.assert_array_equal(a[v].to_numpy(), b[v].to_numpy())
    np.testing.assert_array_equal(a["underlying"].to_numpy(), b["underlying"].to_numpy())


@pytest.mark.parametrize(
    ("footprint", "paths", "ignored"), [("england", 580, 41), ("mersey-care", 230, 0), ("cwp", 490, 26)]
)
def test_paths_and_ignored_rows(footprint, paths, ignored):
    m = load_model(WORKBOOKS / FOOTPRINTS[footprint])
    assert len(m.spec.stock("treatment").space) == paths
    assert len(m.tables.ignored_c2t()) == ignored
    warned = [w for w in m.warnings if "not referral paths" in w.message]
    if not ignored:
        assert not warned
        return
    assert len(warned) == 1 and warned[0].message.startswith(f"{ignored} c2t rows")
    # every ignored row is listed: its (group, condition) and its row number
    listed = set()
    for a, b in re.findall(r"(\d+)(?:-(\d+))?", " ".join(re.findall(r"rows ([\d, -]+)", warned[0].message))):
        listed |= set(range(int(a), int(b or a) + 1))
    assert set(m.tables.ignored_c2t()["_row"]) == listed
    for g, c in m.tables.ignored_c2t()[["group", "condition"]].drop_duplicates().itertuples(index=False):
        assert f"{g} / {c}" in warned[0].message


def test_england_stock_count(england):
    assert england.compiled.n_stocks == 597


def test_contacts_are_caseload_times_demand(england_run, england):
    demand = pd.Series(england.spec.param("demand").values, index=england.spec.dims["service"])
    case = england_run["treatment"].sum(["group", "condition"])
    contacts = england_run["contacts"].sum(["group", "condition"])
    np.testing.assert_allclose(
        contacts.to_numpy(), case.to_numpy() * demand.to_numpy()[None, None, :], rtol=1e-12
    )


def test_demand_sheet_reported_beside(england_run, england):
    d = england.tables.demand
    iapt = d[d["service"] == "IAPT"].sort_values("month")
    np.testing.assert_array_equal(
        england_run["underlying"].sel(service="IAPT").to_numpy(), iapt["underlying"].to_numpy()
    )
    assert str(england_run["date"].to_numpy()[0])[:7] == "2020-05"

"""A tiny workbook whose first three Euler steps are computed by hand (dt = 1 month)."""

from __future__ import annotations

import numpy as np
import pytest
from tiny import write_tiny

from simulator import load_model, simulate


@pytest.fixture
def tiny(tmp_path):
    return load_model(write_tiny(tmp_path / "tiny.xlsx"))


def path_values(ds, var, t):
    da = ds[var].isel(member=0, time=t)
    return {
        (g, c, s): float(da.sel(group=g, condition=c, service=s))
        for g, c, s in [
            ("A", "X", "S1"),
            ("A", "X", "S2"),
            ("A", "Y", "S3"),
            ("B", "X", "S1"),
            ("B", "X", "S3"),
        ]
    }


def test_structure(tiny):
    assert tiny.compiled.n_stocks == 1 + 2 + 5
    assert [w.message.split(":")[0] for w in tiny.warnings if "c2t rows" in w.message] == [
        "1 c2t rows have no g2c row for their group and condition, so they are not referral paths and are "
        "ignored (as in the surge model)"
    ]
    assert "B / Y: rows 7" in next(w.message for w in tiny.warnings if "c2t rows" in w.message)


def test_first_three_euler_steps_by_hand(tiny):
    ds = simulate(tiny, dt=1.0, record="all")
    # inflow A = 1000 * 50% * curve = 500 c(t); B = 2000 * 10% * curve = 200 c(t); c = .1 .4 .3 .2
    np.testing.assert_allclose(ds["new_at_risk"].isel(member=0).sel(group="A"), [50, 200, 150, 100])
    # path fractions: A-X-S1 .2*1/4, A-X-S2 .2*3/4, A-Y-S3 .1*2/2, B-X-S1 .3*1/2, B-X-S3 .3*1/2
    # exit rates: S1 1-(1-.5)^(1/1) = .5, S2 1-(1-.75)^(1/2) = .5, S3 1-(1-1)^1 = 1
    # t=1: only the month-0 inflows have arrived
    assert float(ds["at_risk"].isel(member=0, time=1).sel(group="A")) == pytest.approx(50, rel=1e-14)
    assert float(ds["at_risk"].isel(member=0, time=1).sel(group="B")) == pytest.approx(20, rel=1e-14)
    # t=1 flows: referrals A: 50 * (.05, .15, .1); B: 20 * (.15, .15)
    ref1 = path_values(ds, "new_referral", 1)
    assert ref1 == pytest.approx(
        {
            ("A", "X", "S1"): 2.5,
            ("A", "X", "S2"): 7.5,
            ("A", "Y", "S3"): 5,
            ("B", "X", "S1"): 3,
            ("B", "X", "S3"): 3,
        }
    )
    # t=2: AR_A = 50 + 200 - (2 + 7.5 + 2.5) - 50*.7 = 203; AR_B = 20 + 80 - (2.4 + 1.5) - 14 = 82.1
    ar2 = ds["at_risk"].isel(member=0, time=2)
    assert float(ar2.sel(group="A")) == pytest.approx(203, rel=1e-14)
    assert float(ar2.sel(group="B")) == pytest.approx(82.1, rel=1e-14)
    assert path_values(ds, "treatment", 2) == pytest.approx(
        {
            ("A", "X", "S1"): 2,
            ("A", "X", "S2"): 7.5,
            ("A", "Y", "S3"): 2.5,
            ("B", "X", "S1"): 2.4,
            ("B", "X", "S3"): 1.5,
        }
    )
    assert float(ds["no_mh_needs"].isel(member=0, time=2)) == pytest.approx(49, rel=1e-14)
    # t=3: exits at t=2: A-X-S1 1 (.5 back, .5 well), A-X-S2 3.75 (3 back, .75 well), A-Y-S3 2.5 (well),
    #      B-X-S1 1.2 (.6 back, .6 well), B-X-S3 1.5 (well)
    # AR_A = 203 + 150 + 3.5 - (8.12 + 30.45 + 10.15) - 142.1 = 165.68
    # AR_B = 82.1 + 60 + .6 - (9.852 + 6.1575) - 57.47 = 69.2205
    ar3 = ds["at_risk"].isel(member=0, time=3)
    assert float(ar3.sel(group="A")) == pytest.approx(165.68, rel=1e-13)
    assert float(ar3.sel(group="B")) == pytest.approx(69.2205, rel=1e-13)
    assert path_values(ds, "treatment", 3) == pytest.approx(
        {
            ("A", "X", "S1"): 9.12,
            ("A", "X", "S2"): 34.2,
            ("A", "Y", "S3"): 10.15,
            ("B", "X", "S1"): 11.052,
            ("B", "X", "S3"): 6.1575,
        },
        rel=1e-13,
    )
    # no needs: 49 + 142.1 + 57.47 + (.5 + .75 + 2.5 + .6 + 1.5) = 254.42; all 560 people accounted for
    assert float(ds["no_mh_needs"].isel(member=0, time=3)) == pytest.approx(254.42, rel=1e-13)
    held = ds["at_risk"].isel(member=0, time=3).sum() + ds["treatment"].isel(member=0, time=3).sum()
    assert float(held + ds["no_mh_needs"].isel(member=0, time=3)) == pytest.approx(560, rel=1e-14)
    # contacts = caseload x demand (S1 2, S2 1, S3 3)
    c3 = ds["contacts"].isel(member=0, time=3).sum(["group", "condition"])
    np.testing.assert_allclose(
        c3.sel(service=["S1", "S2", "S3"]), [2 * (9.12 + 11.052), 34.2, 3 * (10.15 + 6.1575)]
    )


def test_curve_switch(tiny):
    ds = simulate(tiny.with_curve("c2"), dt=1.0)
    np.testing.assert_allclose(ds["new_at_risk"].isel(member=0).sel(group="A"), [125] * 4)
    assert ds.attrs["curve"] == "c2"

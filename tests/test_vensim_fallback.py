"""``fallback="pysd"``: members of a model Upstream does not compile run in PySD worker processes."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

from simulator import InputError, load_model, simulate
from simulator.vensim._fallback import PySDModel

MODEL = """{UTF-8}
inp = 1 + Time * slope ~~|
slope = 0.5 ~~|
out = DELAY N(inp, 2 + STEP(1, 3), 0, 2) ~~|
acc = INTEG(out, 0) ~~|
FINAL TIME = 8 ~ Month ~|
INITIAL TIME = 0 ~ Month ~|
SAVEPER = 1 ~ Month ~|
TIME STEP = 0.5 ~ Month ~|
"""


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    p = tmp_path_factory.mktemp("fallback") / "delayn.mdl"
    p.write_text(MODEL, encoding="utf-8")
    return p


def test_without_fallback_the_construct_is_named(path):
    with pytest.raises(InputError, match="variable 'out': DELAY N with a delay time that changes"):
        load_model(path)


def test_members_run_in_pysd_workers_and_equal_single_pysd_runs(path, tmp_path):
    import pysd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = load_model(path, fallback="pysd")
    assert isinstance(m, PySDModel) and m.constants == ["slope"]
    assert "DELAY N" in str(m.warnings[0]) and "PySD" in str(m.warnings[0])
    assert not list(path.parent.glob("*.py"))  # PySD translated it elsewhere
    slopes = np.array([0.5, 1.0, 2.0])
    ds = simulate(m, params={"slope": slopes}, workers=2)
    assert ds.sizes["member"] == 3 and ds["time"].values.tolist() == list(range(9))
    shutil.copy(path, tmp_path / "delayn.mdl")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pysd.read_vensim(str(tmp_path / "delayn.mdl"))
        for i, s in enumerate(slopes):
            out = ref.run(params={"slope": s}, return_columns=["acc", "out"])
            np.testing.assert_allclose(ds["acc"].isel(member=i), out["acc"], rtol=1e-12)
            np.testing.assert_allclose(ds["out"].isel(member=i), out["out"], rtol=1e-12)
    assert not np.allclose(ds["acc"].isel(member=0), ds["acc"].isel(member=2))
    with pytest.raises(ValueError, match="unknown constants"):
        simulate(m, params={"nope": 1.0})

"""Every surge workbook survives Vensim: export -> PySD run, and export -> import, equal Upstream's run.

PySD 3.14 runs the exported ``.mdl`` (its own Python translation, xarray, Euler) and must give
Upstream's numbers to 1e-9 (relative) at every whole month for every series of the surge
model's table and the contacts; Upstream's import of the same file must give them too.
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
from conftest import WORKBOOKS

from simulator import load_model, simulate
from simulator.vensim import import_model
from simulator.vensim._names import unquote, vensim_text
from simulator.vensim._writer import element_label, export_mdl, mdl_text

DT = 0.5
SERIES = ("no_mh_needs", "at_risk", "treatment", "new_at_risk", "new_referral", "new_treatment", "contacts")
BOOKS = ["params_England.xlsx", "params_Mersey-Care.xlsx", "params_CWP.xlsx"]


def labelled(model, ds, name):
    """Series ``name`` as {element label tuple: values over time} for the original model."""
    sp = model.compiled.space_of(name)
    da = ds[name].isel(member=0)
    if not sp.dims:
        return {(): da.to_numpy()}
    return {c: da.sel(dict(zip(sp.dims, c))).to_numpy() for c in sp.coords}


def as_exported(coords: tuple[str, ...]) -> str:
    """How the exporter names an element (``group / condition / service`` for a path)."""
    return element_label(coords) if len(coords) > 1 else vensim_text(coords[0])


@pytest.fixture(scope="module", params=BOOKS)
def exported(request, tmp_path_factory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load_model(WORKBOOKS / request.param)
        ds = simulate(model, dt=DT, record=list(SERIES))
    folder = tmp_path_factory.mktemp(request.param.split(".")[0])
    path = export_mdl(model, folder / "model.mdl", dt=DT)
    return model, ds, path


@pytest.mark.slow
def test_pysd_runs_the_export_and_agrees_to_1e9(exported, tmp_path):
    import pysd

    model, ds, path = exported
    shutil.copy(path, tmp_path / "model.mdl")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = pysd.read_vensim(str(tmp_path / "model.mdl")).run(flatten_output=False)
    assert np.array_equal(run.index.to_numpy(), ds["time"].to_numpy())
    for name in SERIES:
        col = run[name.replace("_", " ")].to_list()
        if isinstance(col[0], float | int):
            values, position = np.asarray(col, dtype=float)[:, None], {(): 0}
        else:
            dim = col[0].dims[0]
            values = np.stack([v.transpose(dim).to_numpy() for v in col])
            position = {unquote(str(lab)): i for i, lab in enumerate(col[0].coords[dim].to_numpy())}
        for coords, ours in labelled(model, ds, name).items():
            got = values[:, position[as_exported(coords) if coords else ()]]
            np.testing.assert_allclose(got, ours, rtol=1e-9, atol=1e-9 * max(1.0, np.abs(ours).max()))


@pytest.mark.slow
def test_import_of_the_export_equals_the_original(exported):
    model, ds, path = exported
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back = import_model(path)
        ds2 = simulate(back, record=list(SERIES))
    assert back.spec.meta["clock"]["dt"] == DT
    np.testing.assert_array_equal(ds2["time"].to_numpy(), ds["time"].to_numpy())
    for name in SERIES:
        da = ds2[name].isel(member=0)
        for coords, ours in labelled(model, ds, name).items():
            if not coords:
                got = da.to_numpy()
            elif len(coords) == 1:
                got = da.sel({da.dims[1]: as_exported(coords)}).to_numpy()
            else:
                got = da.sel(path=as_exported(coords)).to_numpy()
            np.testing.assert_allclose(got, ours, rtol=1e-9, atol=1e-9 * max(1.0, np.abs(ours).max()))
    # the workbook's parameters keep their names in the imported model
    for p in ("size", "pcnt", "split", "success", "months", "decay", "demand", "treat_pcnt"):
        np.testing.assert_array_equal(back.spec.param(p).values, model.spec.param(p).values)


@pytest.mark.slow
def test_export_is_deterministic_and_has_a_sketch(exported):
    model, _, path = exported
    text = path.read_text(encoding="utf-8")
    assert text == mdl_text(model.spec, dt=DT)
    sketch = text.split("\\\\\\---/// Sketch information")[1]
    placed = [line.split(",")[2] for line in sketch.splitlines() if line.startswith("10,")]
    assert len(placed) == len(set(placed))
    for name in ("at risk", "treatment", "no mh needs", "new referral", "relapse", "split", "curve"):
        assert name in placed
    stocks = [line for line in sketch.splitlines() if line.startswith("10,") and line.split(",")[7] == "3"]
    assert {line.split(",")[2] for line in stocks} == {"no mh needs", "at risk", "treatment"}
    valves = [line for line in sketch.splitlines() if line.startswith("11,")]
    assert len(valves) == 5  # the five flows that move people (referrals are measured only)


@pytest.mark.slow
def test_capacity_model_exports_and_comes_back(tmp_path):
    """The capacity extension (waiting lists, wait bands, escalation) through PySD and back."""
    from simulator.files import BUILTIN_MODELS

    if "england-capacity" not in BUILTIN_MODELS:
        pytest.skip("the capacity model arrives with the main branch; this runs once merged")
    import pysd

    stocks = ("waiting", "treatment", "wait_band", "at_risk", "background_waiting", "background_treatment")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load_model("england-capacity")
        ours = simulate(model, dt=0.5, record=list(stocks))
        path = export_mdl(model, tmp_path / "capacity.mdl", dt=0.5)
        run = pysd.read_vensim(str(path)).run(
            return_columns=[s.replace("_", " ") for s in stocks], flatten_output=False
        )
        back = simulate(import_model(path), record=list(stocks))
    for s in stocks:
        want = ours[s].isel(member=0).sum([d for d in ours[s].dims if d not in ("member", "time")]).to_numpy()
        got = np.array([float(np.sum(v.values)) for v in run[s.replace("_", " ")]])
        np.testing.assert_allclose(got, want, rtol=1e-9)
        again = (
            back[s].isel(member=0).sum([d for d in back[s].dims if d not in ("member", "time")]).to_numpy()
        )
        np.testing.assert_allclose(again, want, rtol=1e-9)

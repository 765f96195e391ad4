"""Plots for people: no forced backend, labelled axes with units, capped sizes, words, notebooks with charts."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner
from matplotlib.figure import Figure
from tiny import write_tiny

import simulator as up
from simulator.analysis import Design, Intervention, Package, UncertaintyGroup, appraise, run_ensemble
from simulator.analysis._appraisal_result import Appraisal
from simulator.analysis._comparison import Comparison
from simulator.analysis._distributions import distribution_from_dict as D
from simulator.analysis._sensitivity import sensitivity_analysis
from simulator.cli import main
from simulator.report import (
    plot_averted_over_time,
    plot_calibration_fit,
    plot_compare,
    plot_curves,
    plot_fan,
    plot_frontier,
    plot_heatmap,
    plot_marginals,
    plot_pairs,
    plot_ranking,
    plot_services,
    plot_waiting,
    save_figure,
)
from simulator.report._figures import MAX_PANELS, OKABE_ITO, choose

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
PALETTE = {c.lower() for c in OKABE_ITO.values()}
#: tallest image allowed, whatever --top asks (pixels at the 130 dpi of save_figure)
MAX_HEIGHT_PX = 2000


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return up.load_model(write_tiny(tmp_path_factory.mktemp("t") / "tiny.xlsx"))


@pytest.fixture(scope="module")
def capacity_run():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return up.simulate(up.load_model("england-capacity"))


def groups():
    return [
        UncertaintyGroup(
            "size A", "size", D({"type": "uniform", "low": 0.5, "high": 1.5}), {"group": ("A",)}
        ),
        UncertaintyGroup(
            "size B", "size", D({"type": "uniform", "low": 0.8, "high": 1.2}), {"group": ("B",)}
        ),
    ]


@pytest.fixture(scope="module")
def ensemble(tiny):
    return run_ensemble(tiny, Design(tiny.spec, groups()), members=40, seed=1, name="tiny scenario")


@pytest.fixture(scope="module")
def sobol(tiny):
    return sensitivity_analysis(
        tiny, Design(tiny.spec, groups()), method="sobol", n=64, seed=1, services=["S1"]
    )


@pytest.fixture(scope="module")
def appraisal(tiny):
    def iv(name, effect):
        return Intervention(name=name, lever="conversion", effect=D({"type": "fixed", "value": effect}))

    # three packages with the same effect and cost: their labels sit on one point and must not overlap
    pkgs = [Package(n, (iv(n, -0.2),)) for n in ("first package", "second package", "third package")]
    return appraise(tiny, pkgs, members=20, seed=1, dt=1.0)


@pytest.fixture(scope="module")
def calibration():
    from simulator.analysis._calibrate import calibrate
    from simulator.analysis._calibration import CalibrationProblem, Period, Target
    from simulator.analysis._likelihoods import Likelihood

    model = up.load_model(DATA / "constant_inflow.yaml")
    g = UncertaintyGroup("rate", "rate", D({"type": "lognormal", "median": 100.0, "sigma": 0.5}), apply="set")
    periods = tuple(Period(f"y{i}", 12 * i, 12 * i + 11) for i in range(3))
    t = Target(
        "arrivals", ("arrivals",), periods, np.array([1300.0, 1150.0, 1250.0]), Likelihood("lognormal", 0.1)
    )
    return calibrate(CalibrationProblem(model, [g], [t], months=36, dt=1.0), "smc", particles=200, seed=1)


def is_colorbar(ax) -> bool:
    return hasattr(ax, "_colorbar")


def assert_readable(fig, y_unit: str) -> None:
    """A Figure with a title in words, no empty panel, every visible axis labelled, the unit on the first."""
    assert isinstance(fig, Figure)
    title = fig._suptitle.get_text() if fig._suptitle is not None else ""
    assert title.strip(), "no title"
    for raw in ("new_referral", "new_treatment", "waiting_all", "referrals_total"):
        assert raw not in title
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert axes
    main_axes = [ax for ax in axes if not is_colorbar(ax)]
    placed = {}
    for ax in main_axes:
        placed.setdefault(tuple(np.round(ax.get_position().bounds, 4)), []).append(ax)
    for ax in axes:
        assert ax.get_ylabel().strip(), f"unlabelled y axis: {ax.get_title()!r}"
        if is_colorbar(ax):
            continue
        assert ax.has_data() or any(
            o.has_data() for o in placed[tuple(np.round(ax.get_position().bounds, 4))]
        ), "empty panel"
        # a twin axis shares its panel's x label
        twins = placed[tuple(np.round(ax.get_position().bounds, 4))]
        assert any(o.get_xlabel().strip() for o in twins), f"unlabelled x axis: {ax.get_title()!r}"
    assert y_unit in main_axes[0].get_ylabel() or any(y_unit in a.get_ylabel() for a in axes), (
        [a.get_ylabel() for a in axes],
        y_unit,
    )
    assert fig.get_figheight() * 130 <= MAX_HEIGHT_PX


def colours(fig) -> set[str]:
    from matplotlib.colors import to_hex

    out = set()
    for ax in fig.axes:
        for line in ax.get_lines():
            out.add(to_hex(line.get_color()))
        for coll in ax.collections:
            for c in coll.get_facecolors():
                out.add(to_hex(c[:3]))
    return out


# ---------------------------------------------------------------- backend


def test_importing_and_plotting_never_forces_a_backend(tmp_path):
    code = (
        "import matplotlib, pandas as pd\n"
        "import simulator, simulator.report\n"
        "from simulator.report import plot_curves, save_figure\n"
        "simulator.plot_fan\n"  # the lazy public API loads the report modules
        f"save_figure(plot_curves(pd.DataFrame({{'a': [0.1, 0.2]}})), {str(tmp_path / 'c.png')!r})\n"
        "print(matplotlib.get_backend())\n"
    )
    env = {**os.environ, "MPLBACKEND": "svg"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().lower() == "svg"
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_refresh_runs_a_notebook_in_place_and_keeps_its_charts(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell
    nb.cells = [
        cell("import pandas as pd\nfrom pathlib import Path\nfrom simulator.report import plot_curves"),
        cell("df = pd.DataFrame({'a': [0.1, 0.3, 0.2]})\nfig = plot_curves(df)"),  # assigned
        cell("plot_curves(df)"),  # the cell's result
        cell("plot_curves(df);"),  # the result silenced
        cell("print(Path.cwd().name, type(fig).__name__)"),
    ]
    folder = tmp_path / "books"
    folder.mkdir()
    path = folder / "tiny.ipynb"
    nbformat.write(nb, path)
    env = {**os.environ, "MPLBACKEND": "Agg"}  # refresh clears it: the kernel's inline backend draws
    r = subprocess.run(
        [sys.executable, str(ROOT / "notebooks" / "refresh.py"), str(path)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert "refreshed" in r.stderr
    done = nbformat.read(path, as_version=4)
    outputs = [c["outputs"] for c in done.cells]
    images = [sum("image/png" in o.get("data", {}) for o in out) for out in outputs]
    assert images == [0, 1, 1, 1, 0]  # every figure shown once, however the cell ends
    assert "books Figure" in "".join(o.get("text", "") for o in outputs[-1])  # ran in the notebook's folder
    assert not list(folder.glob("*.part"))


def test_refresh_leaves_a_failing_notebook_unchanged(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("raise ValueError('broken on purpose')")]
    path = tmp_path / "bad.ipynb"
    nbformat.write(nb, path)
    before = path.read_text()
    r = subprocess.run([sys.executable, str(ROOT / "notebooks" / "refresh.py"), str(path)], capture_output=True,
                       text=True)  # fmt: skip
    assert r.returncode == 1 and "left unchanged" in r.stderr
    assert path.read_text() == before
    assert not list(tmp_path.glob("*.part"))


# ---------------------------------------------------------------- every plot function


def test_services_and_waiting_are_labelled_with_units_and_dates(capacity_run):
    fig = plot_services(capacity_run, top=4)
    assert_readable(fig, "people referred per month")
    assert any("surge caseload (people)" in a.get_ylabel() for a in fig.axes)
    ax = fig.axes[0]
    assert "Date" in type(ax.xaxis.get_major_formatter()).__name__  # calendar dates, not month numbers
    assert ax.yaxis.get_major_formatter()(12500, 0) == "12,500"
    fig = plot_waiting(capacity_run, top=3)
    assert_readable(fig, "people waiting")
    waiting_axes = [a for a in fig.axes if a.get_ylabel() == "people waiting"]
    assert len(waiting_axes) == 3  # a waiting list is people, not "per month"
    assert colours(fig) - {"#000000"} <= PALETTE | {"#dddddd", "#bbbbbb"}


def test_curves(tiny):
    fig = plot_curves(pd.DataFrame({"c1": [0.1, 0.4, 0.3], "c2": [0.2, 0.2, 0.2]}))
    assert_readable(fig, "per month")


def test_fan_says_what_the_bands_are(ensemble):
    fig = plot_fan(ensemble, top=2)
    assert_readable(fig, "referrals per month")
    labels = fig.legends[0].get_texts()
    text = [t.get_text() for t in labels]
    assert "surge 90% interval of 40 members" in text and "surge 50% interval of 40 members" in text
    assert fig._suptitle.get_text() == "tiny scenario: Referrals (2 of 3 shown)"
    assert colours(fig) <= PALETTE | {"#dddddd", "#bbbbbb"}
    fig = plot_fan(ensemble, output="caseload", top=0)
    assert_readable(fig, "people")


def test_compare(ensemble):
    cmp = Comparison(["low", "high"], [ensemble, ensemble])
    fig = plot_compare(cmp, top=3)
    assert_readable(fig, "referrals per month")
    assert "90% interval of 40 members" in fig._suptitle.get_text()
    assert colours(fig) <= PALETTE


def test_sensitivity_ranking_and_heatmap(sobol):
    fig = plot_ranking(sobol, "referrals_total", "S1", top=0)
    assert_readable(fig, "uncertainty group")
    assert "Sobol index" in fig.axes[0].get_xlabel()
    assert "referrals over the horizon" in fig._suptitle.get_text()
    fig = plot_heatmap(sobol, "S1")
    assert_readable(fig, "uncertainty group")
    bar = next(a for a in fig.axes if is_colorbar(a))
    assert "share of variance" in bar.get_ylabel()


def test_frontier_and_averted_over_time(appraisal):
    fig = plot_frontier(appraisal, "referrals")
    assert_readable(fig, "people")
    ax = fig.axes[0]
    assert "pounds" in ax.get_xlabel()
    texts = [t for t in ax.texts if t.get_text().endswith("package")]
    assert len(texts) == 3
    renderer = fig.canvas.get_renderer() if hasattr(fig.canvas, "get_renderer") else None
    if renderer is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        renderer = FigureCanvasAgg(fig).get_renderer()
    from matplotlib.text import Text

    boxes = [Text.get_window_extent(t, renderer) for t in texts]  # the words, not their leader lines
    for i in range(3):
        for j in range(i + 1, 3):
            assert not boxes[i].overlaps(boxes[j]), "frontier labels overlap"
    fig = plot_averted_over_time(appraisal)
    assert_readable(fig, "people per month")
    assert "shaded: 90% interval of 20 members" in [
        t.get_text() for t in fig.axes[0].get_legend().get_texts()
    ]


def test_calibration_figures(calibration):
    assert_readable(plot_calibration_fit(calibration, n=200), "total over the period")
    assert_readable(plot_marginals(calibration), "density")
    assert_readable(plot_pairs(calibration), "draws")


# ---------------------------------------------------------------- sizes whatever --top is


def test_choose_caps_the_panels_and_says_so():
    names = [f"s{i}" for i in range(40)]
    assert choose(names, 0) == (names[:MAX_PANELS], f" ({MAX_PANELS} of 40 shown)")
    assert choose(names, 1000)[0] == names[:MAX_PANELS]
    assert choose(names, 3) == (names[:3], " (3 of 40 shown)")
    assert choose(names[:2], 5) == (names[:2], "")
    assert choose(names, 2, chosen=names[:14])[0] == names[:MAX_PANELS]


@pytest.mark.parametrize("view", ["services", "waiting"])
@pytest.mark.parametrize("top", ["0", "1000"])
def test_cli_plot_top_zero_or_huge_gives_a_bounded_image(tmp_path, view, top):
    from PIL import Image

    out = tmp_path / "p.png"
    r = CliRunner().invoke(
        main, ["plot", "england-capacity", "--view", view, "--top", top, "-o", str(out), "-q"]
    )
    assert r.exit_code == 0, (r.output, r.exception)
    with Image.open(out) as im:
        width, height = im.size
    assert height <= MAX_HEIGHT_PX and width <= 2400


def test_saved_figure_is_the_figure(tmp_path):
    fig = plot_curves(pd.DataFrame({"a": [0.1, 0.2]}))
    save_figure(fig, tmp_path / "c.svg")
    assert (tmp_path / "c.svg").read_text().lstrip().startswith("<?xml")


# ---------------------------------------------------------------- ratios whose denominator may be zero


def synthetic_appraisal(averted_a: np.ndarray, averted_b: np.ndarray) -> Appraisal:
    n = len(averted_a)
    base = np.full(n, 1000.0)
    refs = np.stack([base, base - averted_a, base - averted_b])[:, :, None]  # package, member, service
    pkg = ["baseline", "a", "b"]
    dims = ("package", "member", "service")
    ds = xr.Dataset(
        {
            "referrals": (dims, refs),
            "starts": (dims, refs / 2),
            "contacts": (dims, refs * 3),
            "at_risk_months": (("package", "member", "group"), refs),
            "crisis_referrals": (("package", "member"), refs[:, :, 0] / 10),
            "cost": (("package", "member"), np.stack([np.zeros(n), np.full(n, 5000.0), np.full(n, 5000.0)])),
        },
        coords={"package": pkg, "service": ["S1"], "group": ["A"]},
    )
    return Appraisal(ds, pkg, [], {"members": n})


def test_cost_per_referral_is_not_defined_when_the_averted_interval_includes_zero():
    a = synthetic_appraisal(np.linspace(-10, 30, 101), np.linspace(10, 30, 101))
    text = a.format_table()
    row_a = next(line for line in text.splitlines() if line.strip().startswith("a "))
    row_b = next(line for line in text.splitlines() if line.strip().startswith("b "))
    assert "not defined (the averted referrals' 90% interval includes 0)" in row_a
    assert "not defined" not in row_b and "£250 [" in row_b  # 5,000 / 20 referrals averted (median)
    # the numbers themselves are unchanged
    t = a.table()
    assert t.loc[t["package"] == "b", "cost per referral averted median"].item() == pytest.approx(250.0)


def test_cli_heat_map_without_sobol_is_refused_before_any_run(tmp_path):
    out = tmp_path / "h.png"
    scenario = ROOT / "scenarios" / "england-evidence.yaml"
    r = CliRunner().invoke(
        main, ["sensitivity", str(scenario), "--method", "morris", "--heatmap", str(out), "-q"]
    )
    assert r.exit_code == 2 and "the heat map needs --method sobol" in r.output
    assert not out.exists()

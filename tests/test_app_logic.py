"""The web app's logic without a browser: edits, limits, uploads, downloads and page helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

pytest.importorskip("shiny")

from simulator.app._app_figures import service_series, surge_by
from simulator.app._edits import (
    GENERATOR_PARAMS,
    EditError,
    curve_definition,
    define_curve,
    edit_group,
    edit_service,
    rate_limit,
    set_condition_rate,
    set_split,
)
from simulator.app._page_capacity import capacity_services
from simulator.app._page_downloads import write_run
from simulator.app._page_interventions import library, read_package_text
from simulator.app._state import (
    MEMBER_CAP,
    UPLOAD_LIMIT_BYTES,
    SessionFiles,
    builtin_model,
    cap_members,
    ensemble_design,
)
from simulator.app._uploads import read_upload
from simulator.core._run import simulate
from simulator.surge._curves import GENERATORS


@pytest.fixture(scope="module")
def england():
    return builtin_model("england")


@pytest.fixture
def files():
    f = SessionFiles()
    yield f
    f.cleanup()


# ----------------------------------------------------------------------------- edits
def test_group_percent_at_risk_scales_that_groups_referrals_exactly(england):
    g = "Children & young people"
    pcnt = float(england.tables.groups.set_index("group").loc[g, "pcnt"])
    doubled = edit_group(england, g, pcnt=2 * pcnt)
    a = simulate(england)["new_referral"].sel(group=g).sum()
    b = simulate(doubled)["new_referral"].sel(group=g).sum()
    assert float(b) == pytest.approx(2 * float(a), rel=1e-9)
    # other groups are untouched
    other = "Elderly alone"
    assert float(simulate(doubled)["new_referral"].sel(group=other).sum()) == pytest.approx(
        float(simulate(england)["new_referral"].sel(group=other).sum()), rel=1e-12
    )
    # the shared built-in model never changes
    assert float(england.tables.groups.set_index("group").loc[g, "pcnt"]) == pcnt


def test_group_edit_refuses_out_of_range_and_unknown(england):
    with pytest.raises(EditError, match="from 0 to 100"):
        edit_group(england, "Children & young people", pcnt=120)
    with pytest.raises(EditError, match="unknown group"):
        edit_group(england, "Nobody", size=10)
    with pytest.raises(EditError, match="unknown curve"):
        edit_group(england, "Children & young people", curve="No such curve")
    assert edit_group(england, "Children & young people") is england  # nothing changed, no rebuild


def test_condition_rates_stay_at_most_one(england):
    g, c = "Children & young people", "Anxiety"
    g2c = england.tables.g2c
    rates = g2c[g2c["group"] == g].set_index("condition")["pcnt"]
    limit = rate_limit(england, g, c)
    assert limit == pytest.approx(1 - (rates.sum() - rates[c]))
    at_limit = set_condition_rate(england, g, c, limit)
    new = at_limit.tables.g2c
    assert new[new["group"] == g]["pcnt"].sum() == pytest.approx(1.0)
    with pytest.raises(EditError, match="at most"):
        set_condition_rate(england, g, c, limit + 0.01)
    with pytest.raises(EditError, match="no rate"):
        set_condition_rate(england, g, "Postnatal Depression", 0.1)


def test_split_and_service_edits(england):
    p = england.tables.paths().iloc[0]
    m = set_split(england, p["group"], p["condition"], p["treatment"], 7.5)
    c2t = m.tables.c2t
    row = c2t[
        (c2t["group"] == p["group"])
        & (c2t["condition"] == p["condition"])
        & (c2t["treatment"] == p["treatment"])
    ]
    assert float(row["split"].iloc[0]) == 7.5
    with pytest.raises(EditError, match="split"):
        set_split(england, p["group"], p["condition"], p["treatment"], -1)
    m2 = edit_service(england, "IAPT", {"demand": 2.0, "treat_pcnt": 0.5})
    t = m2.tables.treatments.set_index("treatment")
    assert (t.loc["IAPT", "demand"], t.loc["IAPT", "treat_pcnt"]) == (2.0, 0.5)
    with pytest.raises(EditError, match="from 0 to 1"):
        edit_service(england, "IAPT", {"success": 1.5})
    # contacts are caseload times contacts per person per month: doubling demand doubles contacts
    base = float(england.tables.treatments.set_index("treatment").loc["IAPT", "demand"])
    a = float(simulate(england)["contacts"].sel(service="IAPT").sum())
    b = simulate(edit_service(england, "IAPT", {"demand": 2 * base}))
    assert float(b["contacts"].sel(service="IAPT").sum()) == pytest.approx(2 * a, rel=1e-9)


def test_generated_curve_for_one_group(england):
    d = curve_definition("sudden_shock", {"peak_month": 3, "decay_months": ""})
    assert d == {"generator": "sudden_shock", "peak_month": 3.0, "decay_months": 4.0}
    m = define_curve(england, "CYP: sudden shock", d, "Children & young people")
    assert m.tables.curves["CYP: sudden shock"].sum() == pytest.approx(1.0)
    groups = m.tables.groups.set_index("group")["curve"]
    assert groups["Children & young people"] == "CYP: sudden shock"
    assert groups["Elderly alone"] == england.tables.groups.set_index("group").loc["Elderly alone", "curve"]
    with pytest.raises(EditError, match="decay"):
        define_curve(england, "x", {"generator": "repeating_waves", "decay": 2.0}, "Children & young people")


def test_generator_table_matches_the_engine():
    import inspect

    for name, params in GENERATOR_PARAMS.items():
        assert name in GENERATORS
        allowed = set(inspect.signature(GENERATORS[name]).parameters) - {"months"}
        assert set(params) <= allowed


# ----------------------------------------------------------------------------- limits and sessions
def test_member_cap():
    assert cap_members("500") == (500, None)
    n, msg = cap_members(MEMBER_CAP + 1)
    assert n == MEMBER_CAP and "at most" in (msg or "")
    assert cap_members(0)[0] == 1
    assert cap_members("lots")[0] == 100


def test_session_folders_are_separate_and_removed():
    a, b = SessionFiles(), SessionFiles()
    assert a.root != b.root
    p = a.path("../../etc/passwd")
    assert p.parent == a.root and p.name == "passwd"
    p.write_text("x")
    a.cleanup()
    assert not a.root.exists() and b.root.exists()
    b.cleanup()


# ----------------------------------------------------------------------------- uploads
def test_upload_above_the_limit_is_refused_and_removed(files, tmp_path):
    f = tmp_path / "big.xlsx"
    f.write_bytes(b"x")
    up = read_upload("big.xlsx", UPLOAD_LIMIT_BYTES + 1, f, files)
    assert up.model is None and "above the app's limit" in up.problems["what is wrong"].iloc[0]
    assert "20 MB" in up.problems["what is allowed"].iloc[0]
    assert not f.exists()


def test_upload_of_a_broken_workbook_lists_sheet_row_column(files, tmp_path, england):
    from openpyxl import load_workbook

    from simulator.surge._workbook import write_workbook

    f = tmp_path / "broken.xlsx"
    write_workbook(england.tables, f)
    wb = load_workbook(f)
    ws = wb["g2c"]
    col = [c.value for c in ws[1]].index("pcnt") + 1
    ws.cell(row=3, column=col, value=1.7)
    wb.save(f)
    up = read_upload("broken.xlsx", f.stat().st_size, f, files)
    assert up.model is None
    errors = up.problems[up.problems["severity"] == "error"]
    hit = errors[(errors["sheet"] == "g2c") & (errors["column"] == "pcnt") & (errors["row"] == "3")]
    assert len(hit) == 1 and "1" in hit["what is allowed"].iloc[0]
    assert (files.root / "broken.xlsx").exists()  # kept in the session's folder only


def test_upload_of_garbage_and_of_a_wrong_type(files, tmp_path):
    f = tmp_path / "junk.xlsx"
    f.write_bytes(b"\x00not a workbook" * 50)
    up = read_upload("junk.xlsx", f.stat().st_size, f, files)
    assert up.model is None and len(up.problems) >= 1
    g = tmp_path / "model.exe"
    g.write_bytes(b"MZ")
    up = read_upload("model.exe", 2, g, files)
    assert up.model is None and "file type" in up.problems["what is wrong"].iloc[0]


def test_upload_of_a_good_yaml_model(files, tmp_path, england):
    from simulator.surge._yamlfile import write_surge_yaml

    f = tmp_path / "mine.yaml"
    write_surge_yaml(england.tables, f)
    up = read_upload("mine.yaml", f.stat().st_size, f, files)
    assert up.ok
    a = simulate(up.model)["new_referral"].sum()
    assert float(a) == pytest.approx(float(simulate(england)["new_referral"].sum()), rel=1e-9)


# ----------------------------------------------------------------------------- results, downloads, pages
def test_surge_tables_add_up(england):
    ds = simulate(england)
    total = float(ds["new_referral"].sum())
    for dim in ("service", "group", "condition"):
        t = surge_by(ds, dim)
        assert t["surge referrals"].sum() == pytest.approx(
            total, abs=0.5 * len(t)
        )  # each rounded to a person
        assert t["surge referrals"].is_monotonic_decreasing
    s = service_series(ds, "IAPT")
    assert s["surge referrals"].sum() == pytest.approx(float(ds["new_referral"].sel(service="IAPT").sum()))
    assert (s["underlying"] > 0).all()


@pytest.mark.slow
def test_results_workbook_equals_the_command_line(tmp_path, england):
    from simulator.cli import main

    ours = write_run(england, simulate(england), "xlsx", tmp_path / "app.xlsx")
    res = CliRunner().invoke(main, ["run", "england", "-o", str(tmp_path / "cli.xlsx"), "--quiet"])
    assert res.exit_code == 0, res.output
    a = pd.read_excel(ours, sheet_name=None)
    b = pd.read_excel(tmp_path / "cli.xlsx", sheet_name=None)
    assert list(a) == list(b) and "summary" in a
    for sheet in a:
        pd.testing.assert_frame_equal(a[sheet], b[sheet], check_exact=True)


def test_ensemble_design_and_band(england):
    from simulator.app._page_results import band_summary, run_members

    design, note = ensemble_design(england)
    assert "evidence" in note and design.groups
    mc = builtin_model("mersey-care")
    d2, note2 = ensemble_design(mc)
    assert d2.groups and ("evidence" in note2 or "illustrative" in note2)
    told: list[tuple[int, int]] = []
    res = run_members(england, 200, progress=lambda d, t: told.append((d, t)))
    assert told[0] == (0, 200) and told[-1] == (200, 200)  # the page's "members done / total"
    assert [d for d, _ in told] == sorted({d for d, _ in told})
    b = band_summary(res, "IAPT")
    assert b["p5"] < b["p50"] < b["p95"]
    totals = res.members["referrals"].sel(service="IAPT").sum("time").to_numpy()
    assert b["p5"] == pytest.approx(np.quantile(totals, 0.05), rel=0.02)


def test_progress_words_say_members_done_of_all():
    from simulator.app._page_results import _progress_words

    assert _progress_words(384, 1000, 2.4) == "Running the ensemble: 384 / 1,000 members done (2 s so far)"


def test_capacity_services_only_for_capacity_models(england):
    assert capacity_services(simulate(england)) == []
    cap = builtin_model("england-capacity")
    assert len(capacity_services(simulate(cap))) > 0


def test_package_library_and_written_packages(files):
    lib = library()
    assert "community-first" in lib and "debt-advice" in lib
    ok, msg = read_package_text(
        "upstream: package\nname: Mine\ninterventions: [community-hubs]\n", files.path("p.yaml")
    )
    assert ok is not None and ok.name == "Mine" and msg == ""
    bad, msg = read_package_text(
        "upstream: package\nname: Bad\ninterventions: [no-such-thing]\n", files.path("q.yaml")
    )
    assert bad is None and "no-such-thing" in msg


def test_app_listens_on_localhost_by_default():
    from simulator._cli._app_command import app

    host = next(p for p in app.params if p.name == "host")
    port = next(p for p in app.params if p.name == "port")
    assert host.default == "127.0.0.1" and port.default == 8050


def test_create_app_refuses_a_missing_model_file(tmp_path, monkeypatch):
    from simulator.app._app import create_app

    # create_app makes its process run ensembles on threads; restore the test process afterwards
    monkeypatch.setenv("UPSTREAM_PARALLEL", "threads")
    from simulator.core._problems import InputError

    with pytest.raises(InputError):
        create_app(str(tmp_path / "missing.xlsx"))


def test_board_report_of_the_sessions_runs(tmp_path, england):
    import re

    from simulator.app._page_downloads import write_report
    from simulator.app._page_interventions import compare_packages
    from simulator.app._page_results import run_members
    from simulator.files._interventions import load_package

    res = run_members(england, 100)
    pkgs = [load_package("community-first"), load_package("prevention-first")]
    appraisal = compare_packages(england, pkgs, 100)
    path = write_report(england, res, appraisal, pkgs, tmp_path / "report.html")
    html = path.read_text(encoding="utf-8")
    assert "England (Upstream app)" in html
    assert "Community first" in html and "Prevention first" in html
    external = [u for u in re.findall(r'(?:src|href)="([^"]*)"', html) if not u.startswith(("#", "data:"))]
    assert external == []


def test_inequalities_page_only_for_stratified_models(england):
    from simulator.app._page_inequalities import equity_run, stratified

    assert not stratified(england)
    imd = builtin_model("england-imd")
    assert stratified(imd)
    res = equity_run(imd, 20)
    t = res.table()
    assert len(t) > 0 and (t["low"] <= t["high"]).all()


def test_edited_model_downloads_read_back_with_the_edit(tmp_path, england):
    from simulator.files._loading import load_model
    from simulator.surge._workbook import write_workbook
    from simulator.surge._yamlfile import write_surge_yaml

    g = "Children & young people"
    edited = define_curve(
        edit_group(england, g, pcnt=12.5), "CYP: plateau", curve_definition("plateau", {}), g
    )
    write_workbook(edited.tables, tmp_path / "m.xlsx")
    write_surge_yaml(edited.tables, tmp_path / "m.yaml")
    want = float(simulate(edited)["new_referral"].sel(group=g).sum())
    for f in ("m.xlsx", "m.yaml"):
        back = load_model(tmp_path / f)
        row = back.tables.groups.set_index("group").loc[g]
        assert (row["pcnt"], row["curve"]) == (12.5, "CYP: plateau")
        assert float(simulate(back)["new_referral"].sel(group=g).sum()) == pytest.approx(want, rel=1e-9)


def test_upload_size_is_refused_when_announced():
    from simulator.app._uploads import size_refusal

    assert size_refusal([1000, UPLOAD_LIMIT_BYTES]) is None
    msg = size_refusal([UPLOAD_LIMIT_BYTES + 1024**2])
    assert msg is not None and "21.0 MB" in msg and "20 MB" in msg


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: edit_group(m, "Children & young people", pcnt=37.5),
        lambda m: edit_group(m, "Children & young people", size=1_234_567),
        lambda m: set_condition_rate(m, "Children & young people", "Anxiety", 0.0),
        lambda m: set_split(m, *_first_path(m), 3.5),
        lambda m: edit_service(m, "IAPT", {"treat_pcnt": 0.5, "months": 7, "decay": 0.2}),
    ],
)
def test_value_edits_keep_the_compiled_model_and_run_as_a_rebuilt_one(england, edit):
    from simulator.surge._surge_model import surge_model

    fast = edit(england)
    assert fast.compiled.transfers is england.compiled.transfers  # arrays and nodes reused, not recompiled
    rebuilt = surge_model(fast.tables)  # the same tables built and compiled from scratch
    for p, q in zip(fast.spec.params, rebuilt.spec.params, strict=True):
        assert p.name == q.name and np.array_equal(p.values, q.values)
    a, b = simulate(fast), simulate(rebuilt)
    assert not a.equals(simulate(england))  # the edit changed the run
    for v in b.data_vars:
        np.testing.assert_array_equal(a[v].to_numpy(), b[v].to_numpy())


def _first_path(m):
    p = m.tables.paths().iloc[0]
    return str(p["group"]), str(p["condition"]), str(p["treatment"])


def test_curve_edits_and_capacity_models_are_rebuilt(england):
    cap = builtin_model("england-capacity")
    _ = cap.compiled
    g = str(cap.tables.groups["group"].iloc[0])
    assert edit_group(cap, g, pcnt=12.0).compiled.transfers is not cap.compiled.transfers
    _ = england.compiled
    other = next(c for c in england.tables.curves.columns if c != england.tables.groups["curve"].iloc[0])
    g = str(england.tables.groups["group"].iloc[0])
    assert edit_group(england, g, curve=other).compiled.transfers is not england.compiled.transfers


@pytest.mark.parametrize("size_px", [(650, 200), (420, 200), (1100, 260)])
def test_group_chart_keeps_its_margins_and_every_word_inside(england, size_px):
    import matplotlib

    from simulator.app._app_figures import FixedMargins, group_figure

    fig = group_figure(simulate(england), "Children & young people")
    engine = fig.get_layout_engine()
    assert isinstance(engine, FixedMargins) and engine.adjust_compatible  # Shiny keeps it (no tight layout)
    fig.set_size_inches(size_px[0] / 96, size_px[1] / 96)
    fig.set_dpi(96)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()  # as Shiny draws it: Agg at the box's size
    fig.draw(renderer)
    box = fig.bbox
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text()]
    assert len(texts) > 5  # title, axis label, tick labels
    for t in texts:
        e = t.get_window_extent(renderer)
        assert box.x0 - 1 <= e.x0 and e.x1 <= box.x1 + 1 and box.y0 - 1 <= e.y0 and e.y1 <= box.y1 + 1, (
            t.get_text()
        )

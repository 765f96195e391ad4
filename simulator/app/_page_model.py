"""The Model page: choose a built-in model or upload one, edit its parameters, download it.

Group edits (size, % at risk, curve) apply at once, as in the Strategy Unit's app; the rest
apply with their button, and a refused edit says what is allowed.
"""

from __future__ import annotations

import pandas as pd
from shiny import reactive, render, req, ui

from simulator.app._edits import (
    GENERATOR_PARAMS,
    SERVICE_FIELDS,
    EditError,
    condition_rates,
    curve_definition,
    define_curve,
    edit_group,
    edit_service,
    rate_limit,
    set_condition_rate,
    set_split,
)
from simulator.app._state import BUILTINS, UPLOAD_LIMIT_BYTES, AppState, builtin_model, surge_now
from simulator.app._uploads import ALLOWED_SUFFIXES, PROBLEM_COLUMNS, guard_upload_size, read_upload
from simulator.surge._surge_model import SurgeModel

__all__ = ["page", "server"]


def _group_card():
    return ui.card(
        ui.card_header("Population group"),
        ui.input_select("m_group", "Group", choices=[]),
        ui.layout_columns(
            ui.input_numeric("m_size", "Group size (people)", value=0, min=0),
            ui.input_slider("m_pcnt", "% of the group at risk", min=0, max=100, value=0, step=0.01),
        ),
        ui.input_select("m_curve", "Curve the group follows", choices=[]),
        ui.output_plot("m_curve_plot", height="200px"),
        ui.output_plot("m_group_plot", height="200px"),
    )


def _generator_card():
    return ui.card(
        ui.card_header("Make a curve for this group"),
        ui.input_select("m_gen", "Generator", choices=list(GENERATOR_PARAMS)),
        ui.output_ui("m_gen_params"),
        ui.input_action_button("m_gen_apply", "Use this curve for the group"),
    )


def _rates_card():
    return ui.card(
        ui.card_header("Condition rates of the group (share per month; their sum is at most 1)"),
        ui.output_data_frame("m_rates"),
        ui.layout_columns(
            ui.input_select("m_cond", "Condition", choices=[]),
            ui.input_numeric("m_rate", "Rate (0-1)", value=0, min=0, max=1, step=0.001),
        ),
        ui.output_text("m_rate_limit"),
        ui.input_action_button("m_rate_apply", "Set rate"),
        ui.layout_columns(
            ui.input_select("m_split_service", "Service the condition is referred to", choices=[]),
            ui.input_numeric("m_split", "Split (relative weight)", value=0, min=0),
        ),
        ui.input_action_button("m_split_apply", "Set split"),
    )


def _service_card():
    fields = [
        ui.input_numeric(f"m_svc_{k}", label, value=0, min=low, max=high)
        for k, (label, low, high) in SERVICE_FIELDS.items()
    ]
    return ui.card(
        ui.card_header("Service"),
        ui.input_select("m_service", "Service", choices=[]),
        ui.layout_columns(*fields, col_widths=4),
        ui.input_action_button("m_svc_apply", "Set service parameters"),
    )


def page():
    """The page's layout (a navigation panel)."""
    limit = UPLOAD_LIMIT_BYTES // 1024**2
    sidebar = ui.sidebar(
        ui.input_select("m_builtin", "Built-in model", choices=list(BUILTINS)),
        ui.input_action_button("m_load", "Load built-in model"),
        ui.input_file("m_upload", f"Or upload a model (up to {limit} MB)", accept=list(ALLOWED_SUFFIXES)),
        ui.output_ui("m_status"),
        ui.download_button("m_dl_xlsx", "Download model (xlsx)"),
        ui.download_button("m_dl_yaml", "Download model (YAML)"),
        width=320,
    )
    body = ui.div(
        ui.output_ui("m_message"),
        ui.output_ui("m_problems_box"),
        ui.layout_columns(_group_card(), _generator_card(), col_widths=(7, 5)),
        ui.layout_columns(_rates_card(), _service_card(), col_widths=(6, 6)),
    )
    return ui.nav_panel("Model", ui.layout_sidebar(sidebar, body), value="model")


def server(input, output, session, st: AppState, run) -> None:
    """The page's behaviour; ``run`` is the session's deterministic run (a reactive calc)."""
    problems: reactive.Value[pd.DataFrame] = reactive.value(pd.DataFrame(columns=PROBLEM_COLUMNS))

    def apply(edit) -> None:
        m = surge_now(st)
        if m is None:
            st.message.set(
                "this model is not a surge model: it has no groups, conditions or services to edit"
            )
            return
        try:
            new = edit(m)
        except EditError as err:
            st.message.set(f"not changed: {err}")
            return
        if new is not m:
            if new.tables.curves is not m.tables.curves:
                st.curves_changed.set(st.curves_changed() + 1)
            st.model.set(new)
            st.ensemble.set(None)
            st.message.set("")

    guard_upload_size(session, st.message.set)

    @reactive.effect
    @reactive.event(input.m_load)
    def _load():
        name = input.m_builtin()
        st.set_model(builtin_model(name), f"built-in model {name}")
        problems.set(pd.DataFrame(columns=PROBLEM_COLUMNS))
        st.message.set("")

    @reactive.effect
    @reactive.event(input.m_upload)
    def _upload():
        info = input.m_upload()
        if not info:
            return
        f = info[0]
        up = read_upload(f["name"], int(f.get("size") or 0), f["datapath"], st.files)
        problems.set(up.problems)
        if up.model is not None:
            st.set_model(up.model, f"uploaded file {up.name}")
            st.message.set(f"loaded {up.name}")
        else:
            st.message.set(f"{up.name} was not loaded: see the problems below; the model in use is unchanged")

    _sync_selectors(input, st)
    _edit_effects(input, st, apply)
    _outputs(input, output, st, problems)
    _group_effect(input, st, run)
    _downloads(st)


def _sync_selectors(input, st: AppState) -> None:
    """Fill the group, condition, service and curve lists, and the inputs, from the model."""

    @reactive.effect
    def _fill_lists():
        st.loaded()  # refilled when a model is loaded, not on every edit
        m = surge_now(st)
        if not isinstance(m, SurgeModel):
            return
        t = m.tables
        groups = list(t.groups["group"])
        with reactive.isolate():
            keep = input.m_group() if input.m_group() in groups else groups[0]
            svc = list(t.treatments["treatment"])
            keep_s = input.m_service() if input.m_service() in svc else svc[0]
        ui.update_select("m_group", choices=groups, selected=keep)
        ui.update_select("m_service", choices=svc, selected=keep_s)

    @reactive.effect
    def _fill_group():
        st.loaded(), st.curves_changed()  # a new curve joins the list and is selected
        m, g = surge_now(st), input.m_group()
        if not isinstance(m, SurgeModel) or g not in set(m.tables.groups["group"]):
            return
        row = m.tables.groups.set_index("group").loc[g]
        ui.update_numeric("m_size", value=float(row["size"]))
        ui.update_slider("m_pcnt", value=float(row["pcnt"]))
        ui.update_select("m_curve", choices=list(m.tables.curves.columns), selected=str(row["curve"]))
        conds = list(condition_rates(m, g)["condition"])
        with reactive.isolate():
            keep = input.m_cond() if input.m_cond() in conds else (conds[0] if conds else None)
        ui.update_select("m_cond", choices=conds, selected=keep)

    @reactive.effect
    def _fill_condition():
        st.loaded()
        m, g, c = surge_now(st), input.m_group(), input.m_cond()
        if not isinstance(m, SurgeModel) or not c:
            return
        r = condition_rates(m, g)
        hit = r.loc[r["condition"] == c, "pcnt"]
        if len(hit):
            ui.update_numeric("m_rate", value=float(hit.iloc[0]), max=rate_limit(m, g, c))
        p = m.tables.paths()
        p = p[(p["group"] == g) & (p["condition"] == c)]
        with reactive.isolate():
            keep = input.m_split_service() if input.m_split_service() in set(p["treatment"]) else None
        ui.update_select("m_split_service", choices=list(p["treatment"]), selected=keep)

    @reactive.effect
    def _fill_split():
        st.loaded()
        m, g, c, s = surge_now(st), input.m_group(), input.m_cond(), input.m_split_service()
        if not isinstance(m, SurgeModel) or not s:
            return
        p = m.tables.c2t
        hit = p.loc[(p["group"] == g) & (p["condition"] == c) & (p["treatment"] == s), "split"]
        if len(hit):
            ui.update_numeric("m_split", value=float(hit.iloc[0]))

    @reactive.effect
    def _fill_service():
        st.loaded()
        m, s = surge_now(st), input.m_service()
        if not isinstance(m, SurgeModel) or s not in set(m.tables.treatments["treatment"]):
            return
        row = m.tables.treatments.set_index("treatment").loc[s]
        for k in SERVICE_FIELDS:
            ui.update_numeric(f"m_svc_{k}", value=float(row[k]))


def _edit_effects(input, st: AppState, apply) -> None:
    """Edits: group fields at once, the rest by their buttons."""

    # one effect per field, applied only when it differs from the model: the values the page
    # itself puts in the inputs (on a change of group) come back equal and change nothing
    def _group_field(field: str, value: object) -> None:
        m, g = surge_now(st), input.m_group()
        if m is None or g not in set(m.tables.groups["group"]) or value is None or value == "":
            return
        have = m.tables.groups.set_index("group").loc[g, field]
        if field == "curve" and value == have:
            return
        if field != "curve" and abs(float(str(value)) - float(have)) <= 0.005 * (1 if field == "pcnt" else 2):
            return
        apply(
            lambda mm: edit_group(
                mm,
                g,
                size=value if field == "size" else None,
                pcnt=value if field == "pcnt" else None,
                curve=str(value) if field == "curve" else None,
            )
        )

    @reactive.effect
    @reactive.event(input.m_size, ignore_init=True)
    def _size():
        _group_field("size", input.m_size())

    @reactive.effect
    @reactive.event(input.m_pcnt, ignore_init=True)
    def _pcnt():
        _group_field("pcnt", input.m_pcnt())

    @reactive.effect
    @reactive.event(input.m_curve, ignore_init=True)
    def _curve():
        _group_field("curve", input.m_curve())

    @reactive.effect
    @reactive.event(input.m_gen_apply)
    def _generate():
        gen, g = input.m_gen(), input.m_group()
        values = {k: input[f"m_gen_{k}"]() for k in GENERATOR_PARAMS[gen]}
        apply(lambda m: define_curve(m, f"{g}: {gen.replace('_', ' ')}", curve_definition(gen, values), g))

    @reactive.effect
    @reactive.event(input.m_rate_apply)
    def _rate():
        apply(lambda m: set_condition_rate(m, input.m_group(), input.m_cond(), input.m_rate()))

    @reactive.effect
    @reactive.event(input.m_split_apply)
    def _split():
        s = input.m_split_service()
        apply(lambda m: set_split(m, input.m_group(), input.m_cond(), s, input.m_split()))

    @reactive.effect
    @reactive.event(input.m_svc_apply)
    def _service():
        values = {k: input[f"m_svc_{k}"]() for k in SERVICE_FIELDS}
        apply(lambda m: edit_service(m, input.m_service(), values))


def _outputs(input, output, st: AppState, problems) -> None:
    """Status, messages, the problem table, the rates table and the curve preview."""

    @render.ui
    def m_status():
        m = st.model()
        return ui.p(ui.strong("In use: "), f"{m.name} ({st.label()})", id="m-status")

    @render.ui
    def m_message():
        msg = st.message()
        return ui.div(msg, class_="alert alert-warning", id="m-message") if msg else ui.div()

    @render.ui
    def m_problems_box():
        if problems().empty:
            return ui.div()
        return ui.card(ui.card_header("Problems in the uploaded file"), ui.output_data_frame("m_problems"))

    @render.data_frame
    def m_problems():
        return render.DataGrid(problems(), width="100%")

    @render.data_frame
    def m_rates():
        m = st.model()
        if not isinstance(m, SurgeModel):
            return pd.DataFrame()
        r = condition_rates(m, input.m_group())
        total = pd.DataFrame({"condition": ["sum (at most 1)"], "pcnt": [r["pcnt"].sum()]})
        return render.DataGrid(
            pd.concat([r, total]).rename(columns={"pcnt": "rate per month"}), height="200px"
        )

    @render.text
    def m_rate_limit():
        m, c = st.model(), input.m_cond()
        if not isinstance(m, SurgeModel) or not c:
            return ""
        return f"this rate can be at most {rate_limit(m, input.m_group(), c):.4g} (1 minus the group's other rates)"

    @render.ui
    def m_gen_params():
        params = GENERATOR_PARAMS[input.m_gen()]
        boxes = [
            ui.input_numeric(f"m_gen_{k}", label, value=default, min=low, max=high)
            for k, (label, default, low, high) in params.items()
        ]
        return ui.layout_columns(*boxes, col_widths=6)

    @render.plot(alt="The share of the group's at-risk people arriving each month, by the chosen curve")
    def m_curve_plot():
        st.curves_changed()  # redrawn when curves change, not on every edit
        req(st.served())  # drawn after the first page went out (matplotlib is imported then)
        m = surge_now(st)
        if m is None or input.m_curve() not in m.tables.curves.columns:
            return None
        from simulator.app._app_figures import curve_figure

        return curve_figure(m, input.m_curve())


def _group_effect(input, st: AppState, run) -> None:
    """The chosen group's surge referrals per month: every edit shows its effect at once."""

    @render.plot(alt="Surge referrals from the chosen group per month, after the edits")
    def m_group_plot():
        m, g = st.model(), input.m_group()
        if not isinstance(m, SurgeModel) or g not in set(m.tables.groups["group"]):
            return None
        ds = run()  # waits (silently) for the first page to go out
        from simulator.app._app_figures import group_figure

        return group_figure(ds, g)


def _downloads(st: AppState) -> None:
    """The edited model as a workbook and as YAML."""
    from simulator.surge._workbook import write_workbook
    from simulator.surge._yamlfile import write_surge_yaml

    def _name(suffix: str) -> str:
        return f"{st.model().name.replace(' ', '-').lower()}-edited.{suffix}"

    @render.download_button(filename=lambda: _name("xlsx"))
    def m_dl_xlsx():
        m = st.model()
        if not isinstance(m, SurgeModel):
            raise ValueError("only surge models can be written as a workbook")
        path = st.files.path(_name("xlsx"))
        write_workbook(m.tables, path)
        return str(path)

    @render.download_button(filename=lambda: _name("yaml"))
    def m_dl_yaml():
        m = st.model()
        if not isinstance(m, SurgeModel):
            raise ValueError("only surge models can be written as surge YAML")
        path = st.files.path(_name("yaml"))
        write_surge_yaml(m.tables, path, header=f"{m.name}, edited in the Upstream app")
        return str(path)

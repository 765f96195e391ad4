"""The Interventions page: packages from the library (or written here) compared on common draws.

Every package runs on the same members as the baseline (:func:`simulator.analysis.appraise`),
so differences are the packages', not the draws'.  The page shows the table of
referrals averted and costs, the cost-outcome frontier and referrals averted over time.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from shiny import reactive, render, ui

from simulator.app._state import MEMBER_CAP, AppState, cap_members, ensemble_design, library_dir
from simulator.app._widgets import task_status
from simulator.core._model import Model
from simulator.core._problems import InputError

if TYPE_CHECKING:  # the appraisal engine is imported when a comparison starts
    from simulator.analysis._appraisal_result import Appraisal
    from simulator.files._interventions import Package

__all__ = ["compare_packages", "library", "page", "read_package_text", "server"]


def library() -> dict[str, str]:
    """Packages and single interventions shipped in ``scenarios/``: file stem -> name shown.

    Returns
    -------
    dict
        ``{"community-first": "Community first (package)", ...}``, packages first.
    """
    out: dict[str, str] = {}
    for sub, kind in (("packages", "package"), ("interventions", "intervention")):
        for p in sorted((library_dir() / sub).glob("*.yaml")):
            out[p.stem] = f"{p.stem.replace('-', ' ').capitalize()} ({kind})"
    return out


def read_package_text(text: str, path) -> tuple[Package | None, str]:
    """A package written on the page (YAML), checked like a package file.

    Parameters
    ----------
    text
        The YAML text (parsed by the bounded safe loader, never evaluated).
    path
        Where to keep it (a file in the session's folder).

    Returns
    -------
    tuple of (Package or None, str)
        The package, or ``None`` and every problem, one a line.
    """
    from simulator.files._interventions import load_package

    path.write_text(text, encoding="utf-8")
    try:
        return load_package(path, base=library_dir().parent), ""
    except InputError as err:
        return None, "\n".join(str(p) for p in err.problems) or str(err)


def compare_packages(model: Model, packages: list[Package], members: int) -> Appraisal:
    """The baseline and ``packages`` on common draws of the app's design.

    Parameters
    ----------
    model
        The session's model.
    packages
        Packages compared (distinct names).
    members
        Members (already capped).

    Returns
    -------
    Appraisal
    """
    from simulator.analysis._appraisal import appraise

    design, _ = ensemble_design(model)
    return appraise(model, packages, design=design, members=members, seed=2020)


def page():
    """The page's layout (a navigation panel)."""
    sidebar = ui.sidebar(
        ui.input_checkbox_group("i_packages", "Packages and interventions", choices=library()),
        ui.input_text_area("i_own", "Or write a package (YAML)", rows=6, placeholder=_EXAMPLE),
        ui.input_action_button("i_add", "Add my package"),
        ui.output_ui("i_own_status"),
        ui.input_numeric("i_members", f"Members (up to {MEMBER_CAP:,})", value=200, min=1, max=MEMBER_CAP),
        ui.input_task_button("i_run", "Compare on common draws", label_busy="Comparing..."),
        ui.output_ui("i_status"),
        width=360,
    )
    body = ui.div(
        ui.card(
            ui.card_header("Packages compared (people over the horizon; costs in pounds)"),
            ui.output_data_frame("i_table"),
        ),
        ui.layout_columns(
            ui.card(ui.card_header("Cost and outcome"), ui.output_plot("i_frontier", height="380px")),
            ui.card(
                ui.card_header("Referrals averted over time"), ui.output_plot("i_averted", height="380px")
            ),
        ),
    )
    return ui.nav_panel("Interventions", ui.layout_sidebar(sidebar, body), value="interventions")


_EXAMPLE = "upstream: package\nname: My package\ninterventions: [community-hubs, debt-advice]\n"


def server(input, output, session, st: AppState) -> None:
    """The page's behaviour."""
    own: reactive.Value[dict[str, Package]] = reactive.value({})
    own_msg: reactive.Value[str] = reactive.value("")
    cap_msg: reactive.Value[str] = reactive.value("")

    @reactive.extended_task
    async def task(model: Model, packages: list[Package], members: int) -> Appraisal:
        return await asyncio.to_thread(compare_packages, model, packages, members)

    @reactive.effect
    @reactive.event(input.i_add)
    def _add():
        pkg, msg = read_package_text(input.i_own() or _EXAMPLE, st.files.path("my-package.yaml"))
        if pkg is None:
            own_msg.set(f"not added:\n{msg}")
            return
        own.set({**own(), pkg.name: pkg})
        choices = {**library(), **{f"own:{n}": f"{n} (yours)" for n in own()}}
        ui.update_checkbox_group(
            "i_packages", choices=choices, selected=[*input.i_packages(), f"own:{pkg.name}"]
        )
        own_msg.set(f"added {pkg.name}")

    @reactive.effect
    @reactive.event(input.i_run)
    def _run():
        chosen = list(input.i_packages())
        if not chosen:
            cap_msg.set("choose at least one package or intervention")
            return
        from simulator.files._interventions import load_package

        try:
            pkgs = [
                own()[c[4:]] if c.startswith("own:") else load_package(library_dir() / _sub(c) / f"{c}.yaml")
                for c in chosen
            ]
        except InputError as err:
            cap_msg.set("; ".join(str(p) for p in err.problems))
            return
        members, msg = cap_members(input.i_members())
        cap_msg.set(msg or "")
        st.appraisal.set(None)
        st.packages = list(pkgs)
        task(st.model(), pkgs, members)

    @reactive.effect
    def _done():
        if task.status() == "success":
            with reactive.isolate():
                st.appraisal.set(task.result())

    @render.ui
    def i_own_status():
        msg = own_msg()
        return ui.pre(msg, id="i-own-status") if msg else ui.div()

    @render.ui
    def i_status():
        return task_status(
            task, cap_msg(), failed="The comparison failed", done="Comparison finished", done_id="i-done"
        )

    _figures(st)


def _figures(st: AppState) -> None:
    """The comparison table, the frontier and referrals averted over time."""

    @render.data_frame
    def i_table():
        a = st.appraisal()
        if a is None:
            return None
        return render.DataGrid(a.table().round(1), width="100%")

    @render.plot(alt="Referrals averted against cost per package, with 90% intervals")
    def i_frontier():
        from simulator.report._appraisal_plots import plot_frontier

        a = st.appraisal()
        return None if a is None else plot_frontier(a)

    @render.plot(alt="Referrals averted per month by each package")
    def i_averted():
        from simulator.report._appraisal_plots import plot_averted_over_time

        a = st.appraisal()
        return None if a is None or "referrals_monthly" not in a.members else plot_averted_over_time(a)


def _sub(stem: str) -> str:
    """The library folder holding ``stem``."""
    return "packages" if (library_dir() / "packages" / f"{stem}.yaml").exists() else "interventions"

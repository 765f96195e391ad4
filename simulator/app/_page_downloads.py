"""The Downloads page: results as xlsx, CSV and NetCDF; the ensemble; the board report once its run finished.

The workbook is the command line's (``upstream run MODEL -o results.xlsx``): the same
run written by the same writer with the same extra sheets, so the two files hold the
same tables.  Every file is written through :func:`simulator.core._atomic.atomic_path`
into the session's folder, which is removed when the session ends.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import xarray as xr
from shiny import render, ui

from simulator.app._state import AppState, ensemble_design
from simulator.core._model import Model
from simulator.files._writers import write_results
from simulator.surge._surge_model import SurgeModel

__all__ = ["RESULT_FORMATS", "page", "server", "write_report", "write_run"]

#: result files offered: format -> (suffix, words)
RESULT_FORMATS = {
    "xlsx": ("xlsx", "Results workbook (xlsx), as `upstream run MODEL -o results.xlsx`"),
    "csv": ("csv", "Results, one row per value (CSV)"),
    "su-csv": ("csv", "The Strategy Unit's results table (CSV)"),
    "netcdf": ("nc", "Results with every dimension (NetCDF)"),
}


def write_run(model: Model, ds: xr.Dataset, fmt: str, path: str | Path) -> Path:
    """Write a deterministic run as the command line ``upstream run`` writes it.

    Parameters
    ----------
    model
        The model run.
    ds
        Its results.
    fmt
        A key of :data:`RESULT_FORMATS`.
    path
        The file written.

    Returns
    -------
    pathlib.Path
    """
    from simulator.surge._summary import surge_summary
    from simulator.surge._waiting import capacity_summary, has_capacity

    extra = None
    if fmt == "xlsx" and isinstance(model, SurgeModel):
        extra = {"summary": surge_summary(ds)}
        if has_capacity(ds):
            extra["capacity"] = capacity_summary(ds)
    write_results(ds, path, fmt, extra_sheets=extra)
    return Path(path)


def _stem(model: Model) -> str:
    return model.name.replace(" ", "-").replace("/", "-").lower() or "model"


def page():
    """The page's layout (a navigation panel)."""
    runs = [
        ui.p(ui.download_button(f"d_{k.replace('-', '_')}", words))
        for k, (_, words) in RESULT_FORMATS.items()
    ]
    return ui.nav_panel(
        "Downloads",
        ui.card(ui.card_header("The deterministic run of the model in use"), *runs),
        ui.card(ui.card_header("The ensemble"), ui.output_ui("d_ensemble_box")),
        ui.card(ui.card_header("Board report"), ui.output_ui("d_report_box")),
        value="downloads",
    )


def server(input, output, session, st: AppState, run) -> None:
    """The page's behaviour; ``run`` is the session's deterministic run."""

    def make(fmt: str):
        suffix = RESULT_FORMATS[fmt][0]
        name = (
            (lambda: f"{_stem(st.model())}-su.{suffix}")
            if fmt == "su-csv"
            else (lambda: f"{_stem(st.model())}.{suffix}")
        )

        def body():
            path = st.files.path(name())
            return str(write_run(st.model(), run(), fmt, path))

        body.__name__ = f"d_{fmt.replace('-', '_')}"
        return render.download_button(filename=name)(body)

    for fmt in RESULT_FORMATS:
        output(id=f"d_{fmt.replace('-', '_')}")(make(fmt))

    @render.ui
    def d_ensemble_box():
        if st.ensemble() is None:
            return ui.p("Run an ensemble on the Results page first.", id="d-no-ensemble")
        return ui.download_button("d_ensemble", "Ensemble quantiles (NetCDF)")

    @render.download_button(filename=lambda: f"{_stem(st.model())}-ensemble.nc")
    def d_ensemble():
        res = st.ensemble()
        path = st.files.path(f"{_stem(st.model())}-ensemble.nc")
        res.to_netcdf(path)  # type: ignore[union-attr]
        return str(path)

    _report(input, st)


def _report(input, st: AppState) -> None:
    """The board report: offered only after the session's ensemble has finished."""

    @render.ui
    def d_report_box():
        if st.ensemble() is None:
            return ui.p(
                "The board report needs a finished ensemble: run one on the Results page; "
                "the button appears here when it has finished.",
                id="d-report-wait",
            )
        return ui.download_button("d_report", "Board report (HTML, opens offline, prints to PDF)")

    @render.download_button(filename=lambda: f"{_stem(st.model())}-report.html", media_type="text/html")
    async def d_report():
        res, model = st.ensemble(), st.model()
        if res is None:  # the button is only shown after the run; a stale click gets nothing
            raise ValueError("the board report needs a finished ensemble")
        appraisal = st.appraisal()
        packages = list(st.packages) if appraisal is not None else []
        path = st.files.path(f"{_stem(model)}-report.html")
        # drawn on a worker thread: the page (and every other session) keeps answering meanwhile
        await asyncio.to_thread(write_report, model, res, appraisal, packages, path)
        yield path.read_bytes()


def write_report(model: Model, ensemble, appraisal, packages, path: str | Path) -> Path:
    """The board report of the session's finished runs (no run again), written atomically.

    Parameters
    ----------
    model
        The session's model.
    ensemble
        Its finished ensemble (:func:`~simulator.app._page_results.run_members`).
    appraisal, packages
        The finished comparison of packages and the packages, or ``None`` and ``[]``.
    path
        The file written.

    Returns
    -------
    pathlib.Path
    """
    from simulator.analysis._scenario import Scenario
    from simulator.report._board_report import board_report

    design, note = ensemble_design(model)
    attrs = ensemble.attrs
    scenario = Scenario(
        name=f"{model.name} (Upstream app)",
        model=model,
        months=model.spec.horizon,
        dt=float(attrs.get("dt", 1.0)),
        members=int(attrs.get("members", 1)),
        seed=int(attrs.get("seed", 0)),
        sampler=str(attrs.get("sampler", "lhs")),
        groups=list(design.groups),
        description=f"Run in the Upstream app; uncertainty: {note}.",
    )
    board_report(scenario, packages, path=path, ensemble=ensemble, appraisal=appraisal)
    return Path(path)

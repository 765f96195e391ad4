"""The board report: one self-contained HTML file a Health & Wellbeing Board can read and print.

:func:`build_report` runs (or takes) a scenario's ensemble and the comparison of
intervention packages on the same draws, and gathers headline figures, fan charts,
the surge table, capacity pressure, the packages compared, inequality gaps (stratified
models: their equity metrics run on the same members), the system map and every source; :func:`board_report` returns (and writes)
its HTML.  The page needs no network: figures are embedded SVG images, the style is
inline, there is no script; it prints on A4 with each section on a new page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from simulator.core._atomic import atomic_path
from simulator.report._board_report_data import Figure, headline_figures

__all__ = ["BoardReport", "board_report", "build_report"]


@dataclass
class BoardReport:
    """A board report's parts; :meth:`html` draws it.

    Attributes
    ----------
    scenario
        The scenario run (:class:`~simulator.analysis.Scenario`).
    ensemble
        Its ensemble (:class:`~simulator.analysis.EnsembleResult`, members kept).
    appraisal
        The packages compared on the same draws (:class:`~simulator.analysis.Appraisal`), or ``None``.
    packages
        The packages compared.
    headline
        Whole-system figures, median and 90% interval over members.
    month
        Month of the system map's edge widths (``None``: the month of the most referrals).
    equity
        Equity metrics of a stratified model (:class:`~simulator.analysis.EquityResult`), or ``None``.
    """

    scenario: Any
    ensemble: Any
    appraisal: Any = None
    packages: list[Any] = field(default_factory=list)
    headline: list[Figure] = field(default_factory=list)
    month: float | None = None
    created: str = ""
    equity: Any = None

    def html(self) -> str:
        """The report as one self-contained HTML document.

        Returns
        -------
        str
        """
        from simulator.report._board_report_render import render_report

        return render_report(self)

    def write(self, path: str | Path) -> Path:
        """Write the report's HTML, atomically (no partial file on failure).

        Parameters
        ----------
        path
            The ``.html`` file.

        Returns
        -------
        pathlib.Path
        """
        path = Path(path)
        text = self.html()
        with atomic_path(path) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
        return path


def _scenario(scenario: Any):
    if isinstance(scenario, str | Path):
        from simulator.files._scenarios import load_scenario

        return load_scenario(scenario)
    return scenario


def _packages(packages: Sequence[Any], scenario: Any) -> list[Any]:
    from simulator.files._interventions import load_package

    base = scenario.path.parent.parent if scenario.path is not None else Path.cwd()
    return [load_package(p, base) if isinstance(p, str | Path) else p for p in packages]


def build_report(
    scenario: Any,
    packages: Sequence[Any] = (),
    *,
    members: int | None = None,
    seed: int | None = None,
    ensemble: Any = None,
    appraisal: Any = None,
    month: float | None = None,
    progress: bool = False,
) -> BoardReport:
    """Run a scenario's ensemble and package comparison (unless given) and gather the report.

    Parameters
    ----------
    scenario
        A :class:`~simulator.analysis.Scenario` or a scenario file.
    packages
        Packages or interventions (:class:`~simulator.analysis.Package`, or names / files as
        ``upstream compare-interventions --package`` takes them).
    members
        Ensemble members (default the scenario's); every member is kept.
    seed
        Random seed (default the scenario's).
    ensemble
        The scenario's ensemble if already run (:func:`~simulator.analysis.scenario_ensemble`).
    appraisal
        The packages' comparison if already run (:func:`~simulator.analysis.appraise`).
    month
        Month of the system map's edge widths (default the month of the most referrals).
    progress
        Show progress bars while running.

    Returns
    -------
    BoardReport
    """
    sc = _scenario(scenario)
    pkgs = _packages(packages, sc)
    n = members or sc.members
    seed = sc.seed if seed is None else seed
    if ensemble is None:
        from simulator.analysis._ensembles import scenario_ensemble

        ensemble = scenario_ensemble(sc, members=n, seed=seed, progress=progress)
    if appraisal is None and pkgs:
        from simulator.analysis._appraisal import appraise

        appraisal = appraise(
            sc.model,
            pkgs,
            design=sc.design,
            members=n,
            seed=seed,
            sampler=sc.sampler,
            months=sc.months,
            dt=sc.dt,
            method=sc.method,
            progress=progress,
        )
    from simulator.report._board_report_equity import package_equity, report_equity

    n = int(ensemble.attrs.get("members", n))
    equity = report_equity(sc, n, int(ensemble.attrs.get("seed", seed)), progress)
    if equity is not None and appraisal is not None:
        appraisal = package_equity(sc, appraisal, pkgs, progress)
    created = datetime.now(timezone.utc).strftime("%d %b %Y %H:%M UTC")
    return BoardReport(sc, ensemble, appraisal, pkgs, headline_figures(ensemble), month, created, equity)


def board_report(
    scenario: Any,
    packages: Sequence[Any] = (),
    *,
    path: str | Path | None = None,
    members: int | None = None,
    seed: int | None = None,
    ensemble: Any = None,
    appraisal: Any = None,
    month: float | None = None,
    progress: bool = False,
) -> str:
    """The board report of a scenario as HTML text, written to ``path`` if given.

    Parameters
    ----------
    scenario
        A :class:`~simulator.analysis.Scenario` or a scenario file.
    packages
        Packages to compare (objects, names or files).
    path
        Write the report here too (atomically), or ``None``.
    members, seed
        Ensemble size and seed (default the scenario's).
    ensemble, appraisal
        Results already run, reused instead of running again (as the app does after its run).
    month
        Month of the system map's edge widths.
    progress
        Show progress bars while running.

    Returns
    -------
    str
        The self-contained HTML document.
    """
    report = build_report(
        scenario,
        packages,
        members=members,
        seed=seed,
        ensemble=ensemble,
        appraisal=appraisal,
        month=month,
        progress=progress,
    )
    text = report.html()
    if path is not None:
        with atomic_path(path) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
    return text

"""Converting surge models between workbooks and YAML files, keeping every number exact."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from simulator.files._loading import load_model
from simulator.surge._surge_model import SurgeModel
from simulator.surge._workbook import write_workbook
from simulator.surge._yamlfile import write_surge_yaml

__all__ = ["convert_model"]

TABLE_NOTES = {
    "curves": "share of a group's at-risk people arriving in each month, one column per scenario curve",
    "groups": "population groups: size (people), curve, and pcnt, the % of the group at risk",
    "g2c": "monthly share of each group's at-risk people referred with each condition",
    "c2t": "relative weights (split) of the services each group's condition is referred to",
    "treatments": "services: success share, months and decay (discharge), contacts per person "
    "per month (demand) and the share of referrals treated (treat_pcnt)",
    "demand": "underlying (pre-pandemic) monthly referrals per service and suppressed referrals "
    "returning after lockdown",
}


def convert_model(
    src: str | Path,
    dst: str | Path,
    *,
    name: str | None = None,
    start: str | None = None,
    source: str | None = None,
    licence: str | None = None,
    description: str | None = None,
) -> Path:
    """Convert a surge workbook to YAML (``.yaml``) or a surge model to a workbook (``.xlsx``).

    The YAML file gets a ``source`` note on every table: ``source`` (the
    original publication) plus the sheet it came from.

    Parameters
    ----------
    src
        A surge model file or built-in name.
    dst
        The file to write (``.yaml`` or ``.xlsx``).
    name
        New model name.
    start
        Calendar month of model month 0 (e.g. ``2020-05``).
    source, licence, description
        Notes recorded with the model.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    from simulator.files._writers import atomic_path

    model = load_model(src)
    if not isinstance(model, SurgeModel):
        raise ValueError(f"{src} is not a surge model; only surge models convert to workbooks")
    t = model.tables
    if name:
        t.name = name
    if start:
        t.start = pd.Timestamp(start).to_period("M").to_timestamp()
    origin = Path(src).name
    for key, text in (("source", source), ("licence", licence), ("description", description)):
        if text:
            t.meta[key] = text
    if Path(src).suffix.lower() in (".xlsx", ".xlsm"):
        base = source or origin
        t.sources = {k: f"{base}; sheet {k} of {origin}: {TABLE_NOTES[k]}" for k in TABLE_NOTES}
    dst = Path(dst)
    with atomic_path(dst) as tmp:
        if dst.suffix.lower() in (".yaml", ".yml"):
            header = (
                f"Upstream surge model: {t.name}\n"
                f"Converted from {origin} by `upstream convert`; every number is as in the workbook.\n"
                "Tables have the workbook's sheet names and columns; see README, 'Model files'."
            )
            write_surge_yaml(t, tmp, header=header)
        elif dst.suffix.lower() == ".xlsx":
            write_workbook(t, tmp)
        else:
            raise ValueError(f"convert writes .yaml or .xlsx, not {dst.suffix!r}")
    return dst

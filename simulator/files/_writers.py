"""Writing results to files, atomically: a partial output file is never left behind.

Every writer renders into a temporary file in the destination folder and
renames it over the destination only when writing has succeeded
(:func:`~simulator.core._atomic.atomic_path`, re-exported here).  A write that
fails raises :class:`~simulator.core._atomic.WriteError` (one line: the file and
the reason); a disk with less free space than the results' values take is
refused before writing starts.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import xarray as xr

from simulator.core._atomic import WriteError, atomic_path
from simulator.core._budget import format_bytes
from simulator.core._results import netcdf_ready, tidy
from simulator.surge._results_table import su_table

__all__ = ["FORMATS", "WriteError", "atomic_path", "check_disk_space", "format_from_suffix", "write_results"]

FORMATS = ("csv", "su-csv", "parquet", "netcdf", "xlsx")
_SUFFIX = {".csv": "csv", ".parquet": "parquet", ".nc": "netcdf", ".nc4": "netcdf", ".xlsx": "xlsx"}
EXCEL_MAX_ROWS = 1_048_575


def format_from_suffix(path: str | Path) -> str:
    """Output format implied by a file name (``.csv`` -> csv, ``.nc`` -> netcdf ...).

    Parameters
    ----------
    path
        The file name.

    Returns
    -------
    str
        One of :data:`FORMATS`.
    """
    fmt = _SUFFIX.get(Path(path).suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot tell the format of {str(path)!r}; use one of {', '.join(FORMATS)}")
    return fmt


def check_disk_space(path: str | Path, need: int) -> None:
    """Refuse to start writing ``need`` bytes to ``path`` when its disk has less free space.

    Parameters
    ----------
    path
        The file to write (its folder, or the nearest existing parent, is looked at).
    need
        Bytes the file will take at least.

    Raises
    ------
    WriteError
        When the disk's free space is smaller.
    """
    folder = Path(path).absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        usage = shutil.disk_usage(folder)
    except OSError:
        return  # the write itself will say what is wrong
    free = usage.free
    if usage.total > 0 and need > free:  # pseudo file systems (/proc) have no size: let the write say
        raise WriteError(
            f"cannot write {str(path)!r}: the disk is full (the results take at least "
            f"{format_bytes(need)}; {format_bytes(free)} free)"
        )


def write_results(
    ds: xr.Dataset,
    path: str | Path,
    fmt: str | None = None,
    extra_sheets: dict[str, pd.DataFrame] | None = None,
) -> Path:
    """Write results to a file, atomically.

    Formats: ``csv`` (tidy), ``su-csv`` (the surge model's own table),
    ``parquet`` (tidy), ``netcdf`` (the dataset) or ``xlsx`` (tidy sheet plus
    any extra sheets and a metadata sheet).

    Parameters
    ----------
    ds
        Results of a run.
    path
        The file to write.
    fmt
        One of :data:`FORMATS` (default: from the file's suffix).
    extra_sheets
        Tables written as sheets before the results (``xlsx`` only).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    fmt = fmt or format_from_suffix(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    writers: dict[str, Callable[[Path], None]] = {
        "csv": lambda p: tidy(ds).to_csv(p, index=False),
        "su-csv": lambda p: su_table(ds).to_csv(p, index=False),
        "parquet": lambda p: tidy(ds).to_parquet(p, index=False),
        "netcdf": lambda p: netcdf_ready(ds).to_netcdf(p, engine="h5netcdf"),
        "xlsx": lambda p: _write_xlsx(ds, p, extra_sheets or {}),
    }
    check_disk_space(path, int(sum(v.size for v in ds.data_vars.values())) * 8)
    with atomic_path(path) as tmp:
        writers[fmt](tmp)
    return Path(path)


def _write_xlsx(ds: xr.Dataset, path: Path, extra: dict[str, pd.DataFrame]) -> None:
    table = tidy(ds)
    if len(table) > EXCEL_MAX_ROWS:
        raise ValueError(
            f"{len(table):,} rows do not fit in an Excel sheet; record fewer variables or use parquet"
        )
    meta = pd.DataFrame({"key": list(ds.attrs), "value": [str(v) for v in ds.attrs.values()]})
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for name, df in extra.items():
            df.to_excel(xw, sheet_name=name[:31], index=False)
        table.to_excel(xw, sheet_name="results", index=False)
        meta.to_excel(xw, sheet_name="metadata", index=False)

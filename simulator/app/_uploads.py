"""Uploaded model files: size limit, kept in the session's folder, read without eval, problems as a table.

A broken upload never takes the app down: every error the readers raise, and any
unexpected one, becomes rows of the problem table and the session keeps its
current model.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from simulator.app._state import UPLOAD_LIMIT_BYTES, SessionFiles
from simulator.core._model import Model
from simulator.core._problems import InputError, Problem
from simulator.core._spec import SpecError
from simulator.files._loading import check_model

__all__ = [
    "ALLOWED_SUFFIXES",
    "PROBLEM_COLUMNS",
    "Upload",
    "guard_upload_size",
    "problem_table",
    "read_upload",
    "size_refusal",
]

ALLOWED_SUFFIXES = (".xlsx", ".xlsm", ".yaml", ".yml", ".mdl", ".xmile")
PROBLEM_COLUMNS = ["severity", "sheet", "row", "column", "what is wrong", "what is allowed"]

_log = logging.getLogger(__name__)


@dataclass
class Upload:
    """What reading one uploaded file gave: the model (``None`` on errors) and its problems."""

    name: str
    model: Model | None
    problems: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROBLEM_COLUMNS))

    @property
    def ok(self) -> bool:
        """Whether the file gave a model."""
        return self.model is not None


def problem_table(problems: list[Problem]) -> pd.DataFrame:
    """Problems as a table: severity, sheet, row, column, what is wrong, what is allowed.

    Parameters
    ----------
    problems
        Problems found in a file (errors first, then warnings).

    Returns
    -------
    pandas.DataFrame
        One row a problem (``sheet`` is the sheet or table; ``row`` the Excel row or YAML line).
    """
    ordered = sorted(problems, key=lambda p: p.severity != "error")
    rows = [
        {
            "severity": p.severity,
            "sheet": p.part or "",
            "row": "" if p.row is None and p.line is None else str(p.row if p.row is not None else p.line),
            "column": p.column or "",
            "what is wrong": p.message,
            "what is allowed": p.allowed or "",
        }
        for p in ordered
    ]
    return pd.DataFrame(rows, columns=PROBLEM_COLUMNS)


def _one(message: str, allowed: str) -> pd.DataFrame:
    """A table of one error about the whole file."""
    return problem_table([Problem(message, allowed=allowed)])


def read_upload(name: str, size: int, temp_path: str | Path, files: SessionFiles) -> Upload:
    """Check an uploaded file, move it into the session's folder and read it.

    Parameters
    ----------
    name
        The file's name as the browser sent it.
    size
        Its size, bytes.
    temp_path
        Where the web server stored it (moved from there, so nothing is left behind).
    files
        The session's folder.

    Returns
    -------
    Upload
        The model, or ``None`` and the problem table (never raises for a bad file).
    """
    suffix = Path(name).suffix.lower()
    if size > UPLOAD_LIMIT_BYTES:
        Path(temp_path).unlink(missing_ok=True)
        limit = UPLOAD_LIMIT_BYTES / 1024**2
        return Upload(
            name,
            None,
            _one(
                f"the file is {size / 1024**2:.1f} MB, above the app's limit", f"files up to {limit:.0f} MB"
            ),
        )
    if suffix not in ALLOWED_SUFFIXES:
        Path(temp_path).unlink(missing_ok=True)
        return Upload(
            name, None, _one(f"{suffix or 'no'} file type", "a workbook (.xlsx), YAML or Vensim file")
        )
    dest = files.path(name)
    shutil.move(str(temp_path), dest)
    try:
        model, problems = check_model(dest)
    except (InputError, SpecError) as err:
        return Upload(name, None, problem_table([*err.problems]))
    except Exception as err:  # a reader's bug must not take the app down: report it as a problem
        _log.exception("reading upload %s", name)
        return Upload(
            name,
            None,
            _one(f"the file could not be read ({type(err).__name__}: {err})", "a valid model file"),
        )
    return Upload(name, model, problem_table(list(problems)))


def size_refusal(sizes: list[int]) -> str | None:
    """Why a set of files is refused before any byte is sent, or ``None`` if they may be sent.

    Parameters
    ----------
    sizes
        The files' sizes, bytes, as the browser announces them.

    Returns
    -------
    str or None
    """
    big = max(sizes, default=0)
    if big <= UPLOAD_LIMIT_BYTES:
        return None
    limit = UPLOAD_LIMIT_BYTES / 1024**2
    return f"the file is {big / 1024**2:.1f} MB, above the app's limit of {limit:.0f} MB: not uploaded"


def guard_upload_size(session, refused) -> None:
    """Refuse files above the limit when the browser announces them, before they are sent.

    Shiny's upload starts with an ``uploadInit`` message listing each file's name and size;
    this wraps its handler so a file above :data:`UPLOAD_LIMIT_BYTES` is never received (the
    browser shows the message under the file input, and ``refused(message)`` is called).
    Without that handler (another Shiny version) the check after the upload still applies.

    Parameters
    ----------
    session
        The Shiny session.
    refused
        Called with the message when files are refused.
    """
    from shiny.types import SafeException

    handlers = getattr(session, "_message_handlers", None)
    if not isinstance(handlers, dict) or "uploadInit" not in handlers:
        return
    original = handlers["uploadInit"][0]

    async def upload_init(file_infos):
        msg = size_refusal([int(fi.get("size") or 0) for fi in file_infos])
        if msg is not None:
            refused(msg)
            raise SafeException(msg)
        return await original(file_infos)

    session.set_message_handler("uploadInit", upload_init)

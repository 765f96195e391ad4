"""Problems found in input files, collected rather than raised one at a time.

Readers append every problem they find to a :class:`Problems` list, each with
its location (file, sheet or table, row, column), what is wrong and what is
allowed; when reading ends, errors are raised together as one
:class:`InputError`.  The CLI prints them and exits with status 2 without a
traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["InputError", "Problem", "Problems"]


@dataclass(frozen=True)
class Problem:
    """One problem in an input file.

    Attributes
    ----------
    message
        What is wrong, e.g. ``"value 1.3 is out of range"``.
    file, part, row, column
        Where: the file name, the sheet (workbooks) or table (YAML), the row
        as the user sees it (the Excel row number; the YAML data row) and the column.
    allowed
        What would be accepted, e.g. ``"a number from 0 to 1"``.
    line
        Line in a text file, where known.
    severity
        ``"error"`` stops the run; ``"warning"`` is reported and the run goes on.
    """

    message: str
    file: str | None = None
    part: str | None = None
    row: int | None = None
    column: str | None = None
    allowed: str | None = None
    line: int | None = None
    severity: Literal["error", "warning"] = "error"
    part_kind: str = "sheet"

    def location(self) -> str:
        """Human-readable location, e.g. ``params.xlsx, sheet 'g2c', row 14, column 'pcnt'``.

        Returns
        -------
        str
            The location (empty if nothing is known).
        """
        bits = []
        if self.file:
            bits.append(self.file)
        if self.part:
            bits.append(f"{self.part_kind} {self.part!r}")
        if self.row is not None:
            bits.append(f"row {self.row}")
        if self.column:
            bits.append(f"column {self.column!r}")
        if self.line is not None:
            bits.append(f"line {self.line}")
        return ", ".join(bits)

    def __str__(self) -> str:
        loc = self.location()
        text = f"{loc}: {self.message}" if loc else self.message
        if self.allowed:
            text += f" (allowed: {self.allowed})"
        return text


@dataclass
class Problems:
    """An ordered collection of problems for one file."""

    file: str | None = None
    part_kind: str = "sheet"
    items: list[Problem] = field(default_factory=list)

    def add(
        self,
        message: str,
        part: str | None = None,
        row: int | None = None,
        column: str | None = None,
        allowed: str | None = None,
        line: int | None = None,
        severity: Literal["error", "warning"] = "error",
    ) -> None:
        """Record a problem at a location.

        Parameters
        ----------
        message
            What is wrong.
        part
            Sheet, table or field it is in.
        row
            Row number (as the user sees it).
        column
            Column name.
        allowed
            What would be accepted.
        line
            Line of a text file.
        severity
            ``"error"`` (stops the run) or ``"warning"``.
        """
        self.items.append(
            Problem(message, self.file, part, row, column, allowed, line, severity, self.part_kind)
        )

    def warn(self, message: str, **where) -> None:
        """Record a warning (the run goes on).

        Parameters
        ----------
        message
            What is odd.
        **where
            Location, as for :meth:`add`.
        """
        self.add(message, severity="warning", **where)

    @property
    def errors(self) -> list[Problem]:
        """The problems that stop a run."""
        return [p for p in self.items if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """The problems that are only reported."""
        return [p for p in self.items if p.severity == "warning"]

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.items)

    def raise_if_errors(self) -> None:
        """Raise :class:`InputError` with every error found so far."""
        if self.errors:
            raise InputError(self.errors, self.warnings)


class InputError(ValueError):
    """One or more errors in an input file (see ``problems``)."""

    def __init__(self, problems: list[Problem], warnings: list[Problem] | None = None):
        self.problems = list(problems)
        self.warnings = list(warnings or [])
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} found"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))

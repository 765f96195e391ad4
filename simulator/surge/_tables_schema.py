"""What a surge model's tables are: sheet names, columns, cell types and keys; raw tables as read.

:data:`SCHEMA` gives each table's columns and how their cells are parsed
(:class:`ColumnType`), :data:`KEYS` the columns that identify a row.  Readers
(:mod:`._workbook`, :mod:`._yamlfile`) produce :class:`RawTable` objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "CURVE_SUM_TOLERANCE",
    "DEFAULT_HEADROOM",
    "DEFAULT_STAGES",
    "EIGHTEEN_WEEKS",
    "KEYS",
    "NONNEG",
    "OPTIONAL_SHEETS",
    "SCHEMA",
    "SHEETS",
    "ColumnType",
    "RawTable",
]

SHEETS = ("curves", "groups", "g2c", "c2t", "treatments", "demand")
#: optional sheets: service capacity, waiting-list behaviour, and the wait bands
OPTIONAL_SHEETS = ("capacity", "waiting", "stages")
#: the default wait bands (months); 18 weeks falls inside 3-6
DEFAULT_STAGES = (("0-1", 1.0), ("1-2", 2.0), ("2-3", 3.0), ("3-6", 6.0), ("6-12", 12.0), ("12+", None))
EIGHTEEN_WEEKS = 18 * 7 / (365.25 / 12)  # months
DEFAULT_HEADROOM = 1.1
CURVE_SUM_TOLERANCE = 1e-6


@dataclass
class RawTable:
    """A table as read from a file, before any parsing.

    ``rows[i]`` came from user-visible row ``row_numbers[i]`` (the Excel row,
    or the 1-based data row in YAML) and, in text files, ``lines[i]``.
    """

    name: str
    columns: list[str]
    rows: list[list[object]]
    row_numbers: list[int]
    lines: list[int | None] = field(default_factory=list)
    source: str | None = None
    header_line: int | None = None


@dataclass(frozen=True)
class ColumnType:
    """How to parse a column and what to say when a cell is not allowed."""

    kind: str  # "name", "number", "date", "month"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    optional: bool = False  # a blank cell means "use the default" (None)

    def allowed(self) -> str:
        """Text for the ``allowed`` part of a problem."""
        if self.kind == "name":
            return "non-empty text"
        if self.kind == "date":
            return "a date such as 2020-05-01"
        if self.kind == "month":
            return "a whole number of months from 0"
        if self.optional:
            return ColumnType(self.kind, self.low, self.high, self.low_open).allowed() + " or blank (default)"
        if self.low is not None and self.high is not None:
            return f"a number from {self.low:g} to {self.high:g}"
        if self.low is not None:
            return (
                f"a number greater than {self.low:g}"
                if self.low_open
                else f"a number of at least {self.low:g}"
            )
        return "a number"


NAME = ColumnType("name")
NONNEG = ColumnType("number", 0.0)
SHARE = ColumnType("number", 0.0, 1.0)
PERCENT = ColumnType("number", 0.0, 100.0)
POSITIVE = ColumnType("number", 0.0, low_open=True)

#: columns of each table (``curves`` has ``month`` then one column per curve)
SCHEMA: dict[str, dict[str, ColumnType]] = {
    "curves": {"month": ColumnType("month")},
    "groups": {"group": NAME, "curve": NAME, "size": NONNEG, "pcnt": PERCENT},
    "g2c": {"group": NAME, "condition": NAME, "pcnt": SHARE},
    "c2t": {"group": NAME, "condition": NAME, "treatment": NAME, "split": NONNEG},
    "treatments": {
        "treatment": NAME,
        "success": SHARE,
        "months": POSITIVE,
        "decay": SHARE,
        "demand": NONNEG,
        "treat_pcnt": SHARE,
    },
    "demand": {
        "service": NAME,
        "month": ColumnType("date"),
        "underlying": NONNEG,
        "suppressed": NONNEG,
    },
    "capacity": {
        "service": NAME,
        "month": ColumnType("month"),
        "starts": ColumnType("number", 0.0, optional=True),
        "ceiling": ColumnType("number", 0.0, optional=True),
        "headroom": ColumnType("number", 0.0, low_open=True, optional=True),
    },
    "waiting": {
        "service": NAME,
        "escalates_to": ColumnType("name", optional=True),
        "escalation_rate": ColumnType("number", 0.0, 1.0, optional=True),
        "dropout_rate": ColumnType("number", 0.0, 1.0, optional=True),
        "initial_waiting": ColumnType("number", 0.0, optional=True),
    },
    "stages": {
        "stage": NAME,
        "upper": ColumnType("number", 0.0, low_open=True, optional=True),
        "escalation": ColumnType("number", 0.0, optional=True),
        "dropout": ColumnType("number", 0.0, optional=True),
    },
}
KEYS = {
    "curves": ("month",),
    "groups": ("group",),
    "g2c": ("group", "condition"),
    "c2t": ("group", "condition", "treatment"),
    "treatments": ("treatment",),
    "demand": ("service", "month"),
    "capacity": ("service", "month"),
    "waiting": ("service",),
    "stages": ("stage",),
}

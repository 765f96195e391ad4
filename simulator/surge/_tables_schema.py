"""What a surge model's tables are: sheet names, columns, cell types and keys; raw tables as read.

:data:`SCHEMA` gives each table's columns and how their cells are parsed
(:class:`ColumnType`), :data:`KEYS` the columns that identify a row.  Readers
(:mod:`._workbook`, :mod:`._yamlfile`) produce :class:`RawTable` objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "CURVE_SUM_TOLERANCE",
    "DEFAULT_DT",
    "DEFAULT_HEADROOM",
    "DEFAULT_STAGES",
    "EIGHTEEN_WEEKS",
    "KEYS",
    "MAX_MONTHS",
    "MAX_PEOPLE",
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
#: the surge model's own step (months): feasibility rules on rates are checked at it
DEFAULT_DT = 1.0
#: sane bounds: no population, caseload or monthly flow above ten billion people ...
MAX_PEOPLE = 1e10
#: ... and no duration or wait above a hundred years
MAX_MONTHS = 1200.0


def number_text(v: float) -> str:
    """A bound in words: ``10,000,000,000`` for large whole numbers, else as ``:g`` gives it.

    Parameters
    ----------
    v
        The number.

    Returns
    -------
    str
        The number as text.
    """
    return f"{v:,.0f}" if float(v).is_integer() and abs(v) >= 1e4 else f"{v:g}"


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
    #: the quantity in words and its unit, for a sane upper bound ("group size", "people"):
    #: a value above ``high`` is "group size 1e+308 is above 10,000,000,000 people"
    what: str | None = None
    unit: str = ""

    def too_high(self, v: float) -> str:
        """What to say when ``v`` is above ``high`` (the cell's problem, without "value")."""
        assert self.high is not None
        if self.what is None:
            return f"is {v:g}, above {self.high:g}"
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.what} {v:g} is above {number_text(self.high)}{unit}"

    def allowed(self) -> str:
        """Text for the ``allowed`` part of a problem."""
        if self.kind == "name":
            return "non-empty text"
        if self.kind == "date":
            return "a date such as 2020-05-01"
        if self.kind == "month":
            return "a whole number of months from 0"
        if self.optional:
            plain = ColumnType(self.kind, self.low, self.high, self.low_open, what=self.what, unit=self.unit)
            return plain.allowed() + " or blank (default)"
        if self.what is not None and self.low is not None and self.high is not None:
            low = f"greater than {self.low:g}" if self.low_open else f"of at least {self.low:g}"
            unit = f" {self.unit}" if self.unit else ""
            return f"a number {low} and at most {number_text(self.high)}{unit}"
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


def _people(what: str, unit: str = "people", optional: bool = False) -> ColumnType:
    """A count of people (or people per month): at least 0, at most :data:`MAX_PEOPLE`."""
    return ColumnType("number", 0.0, MAX_PEOPLE, optional=optional, what=what, unit=unit)


def _bounded(what: str, high: float, unit: str, low_open: bool = False, optional: bool = False) -> ColumnType:
    """A number from 0 (or above 0) to a sane ``high``."""
    return ColumnType("number", 0.0, high, low_open, optional, what, unit)


#: columns of each table (``curves`` has ``month`` then one column per curve)
SCHEMA: dict[str, dict[str, ColumnType]] = {
    "curves": {"month": ColumnType("month")},
    "groups": {"group": NAME, "curve": NAME, "size": _people("group size"), "pcnt": PERCENT},
    "g2c": {"group": NAME, "condition": NAME, "pcnt": SHARE},
    "c2t": {
        "group": NAME,
        "condition": NAME,
        "treatment": NAME,
        "split": _bounded("split", 1e9, "(a weight)"),
    },
    "treatments": {
        "treatment": NAME,
        "success": SHARE,
        "months": _bounded("treatment length", MAX_MONTHS, "months", low_open=True),
        "decay": SHARE,
        "demand": _bounded("demand", 1e4, "contacts per person per month"),
        "treat_pcnt": SHARE,
    },
    "demand": {
        "service": NAME,
        "month": ColumnType("date"),
        "underlying": _people("underlying referrals", "people per month"),
        "suppressed": _people("suppressed referrals", "people per month"),
    },
    "capacity": {
        "service": NAME,
        "month": ColumnType("month"),
        "starts": _people("starts", "people per month", optional=True),
        "ceiling": _people("ceiling", "people per month", optional=True),
        "headroom": _bounded("headroom", 1e3, "(a multiplier)", low_open=True, optional=True),
    },
    "waiting": {
        "service": NAME,
        "escalates_to": ColumnType("name", optional=True),
        "escalation_rate": ColumnType("number", 0.0, 1.0, optional=True),
        "dropout_rate": ColumnType("number", 0.0, 1.0, optional=True),
        "initial_waiting": _people("initial waiting list", optional=True),
    },
    "stages": {
        "stage": NAME,
        "upper": _bounded("upper bound", MAX_MONTHS, "months", low_open=True, optional=True),
        "escalation": _bounded("escalation multiplier", 1e3, "(a multiplier)", optional=True),
        "dropout": _bounded("drop-out multiplier", 1e3, "(a multiplier)", optional=True),
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

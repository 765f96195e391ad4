"""The Strategy Unit's Covid-19 mental health surge model: tables, readers, spec builder."""

from .build import build_surge_spec
from .tables import SHEETS, RawTable, SurgeTables, check_tables

__all__ = ["SHEETS", "RawTable", "SurgeTables", "build_surge_spec", "check_tables"]

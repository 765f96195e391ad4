"""The Strategy Unit's Covid-19 mental health surge model.

Tables, readers, spec builder, capacity extension, curves, the surge table and the
capacity report.
"""

from ._build import build_surge_spec
from ._capacity import default_capacity
from ._curves import GENERATORS, CurveError, generate
from ._results_table import SU_TYPES, su_table
from ._summary import format_summary, surge_summary
from ._surge_model import SurgeModel, surge_model
from ._surge_outputs import CAPACITY_OUTPUTS, SURGE_OUTPUTS
from ._tables import EIGHTEEN_WEEKS, SHEETS, RawTable, SurgeTables, check_tables
from ._waiting import capacity_summary, format_capacity_summary, has_capacity, service_load
from ._workbook import read_workbook, write_workbook
from ._yamlfile import read_surge_yaml, write_surge_yaml

__all__ = [
    "CAPACITY_OUTPUTS",
    "EIGHTEEN_WEEKS",
    "GENERATORS",
    "SHEETS",
    "SURGE_OUTPUTS",
    "SU_TYPES",
    "CurveError",
    "RawTable",
    "SurgeModel",
    "SurgeTables",
    "build_surge_spec",
    "capacity_summary",
    "check_tables",
    "default_capacity",
    "format_capacity_summary",
    "format_summary",
    "generate",
    "has_capacity",
    "read_surge_yaml",
    "read_workbook",
    "service_load",
    "su_table",
    "surge_model",
    "surge_summary",
    "write_surge_yaml",
    "write_workbook",
]

"""Public names imported on first use (PEP 562), shared by the packages' ``__init__`` modules.

Importing one private module of a package runs the package's ``__init__``; if that
imported every public name eagerly, loading a model would also import the analyses
(scipy), the figures (matplotlib) and PySD.  Each ``__init__`` instead lists its names
in a table and gets its module ``__getattr__`` and ``__dir__`` from :func:`lazy_names`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str, table: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module-level ``__getattr__`` and ``__dir__`` that import ``table``'s names on first use.

    Parameters
    ----------
    package
        The package's ``__name__``.
    table
        Public name -> the private module that defines it.

    Returns
    -------
    tuple
        ``(__getattr__, __dir__)`` for the package's namespace; a name, once imported, is
        stored in the package so later lookups are plain attribute reads.
    """

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *table})

    return __getattr__, __dir__

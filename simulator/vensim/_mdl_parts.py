"""The pieces an exported ``.mdl`` file is made of, shared by the writer's layers and the sketch.

:class:`MdlRange` is one subscript range, :class:`MdlVar` one variable with its
equation(s); :func:`mdl_units` and :func:`mdl_doc` clean text for Vensim's
units and comment fields.  :class:`ExportError` is raised, with a message
saying what, when a model uses something the writer cannot express.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from simulator.core._spaces import Space
from simulator.core._spec import Flow
from simulator.vensim._names import vensim_text
from simulator.vensim._numbers import fmt

__all__ = ["ExportError", "MdlRange", "MdlVar", "element_label", "mdl_doc", "mdl_units"]


class ExportError(ValueError):
    """The model uses something the Vensim writer cannot express; the message says what."""


@dataclass
class MdlRange:
    """One subscript range of the file."""

    name: str  # Vensim name
    labels: tuple[str, ...]  # Vensim element names (quoted where needed)
    dims: tuple[str, ...]  # Upstream dimensions it covers
    coords: tuple[tuple[str, ...], ...]  # Upstream labels of each element
    doc: str = ""
    copy_of: str | None = None  # a copy of another range (``Stage from <-> Stage``)


@dataclass
class MdlVar:
    """One variable of the file: its equation, or one equation per piece (``pieces``)."""

    name: str  # Upstream name
    space: Space
    equation: str  # right-hand side(s), already formatted
    units: str = ""
    doc: str = ""
    kind: str = "aux"  # aux, constant, lookup, stock, flow
    lhs: str = ""
    refs: set[str] = field(default_factory=set)
    flow: Flow | None = None
    pieces: list[tuple[str, str]] = field(default_factory=list)


def element_label(coords: Sequence[str]) -> str:
    """The Vensim name of an element of a sparse set: its labels joined by `` / ``.

    Parameters
    ----------
    coords
        The element's label in each dimension.

    Returns
    -------
    str
    """
    return " / ".join(vensim_text(c) for c in coords)


def _clean(text: str) -> str:
    return " ".join(str(text).replace("~", "-").replace("|", "/").split())


def mdl_doc(text: str) -> str:
    """``text`` for a comment field (no ``~`` or ``|``, whitespace collapsed).

    Parameters
    ----------
    text
        Any text.

    Returns
    -------
    str
    """
    return _clean(text)


def mdl_units(unit: str, bounds: tuple = (None, None)) -> str:
    """``unit`` for a units field, with the bounds as Vensim limits (``[0,?]``) when given.

    Parameters
    ----------
    unit, bounds
        The unit, and ``(low, high)`` limits (``None`` for no limit).

    Returns
    -------
    str
    """
    u = _clean(unit).replace("[", "(").replace("]", ")")
    lo, hi = bounds
    if lo is None and hi is None:
        return u
    return f"{u} [{'?' if lo is None else fmt(lo)},{'?' if hi is None else fmt(hi)}]"

"""The program of the compiled step kernel: what lowering a model gives (:mod:`simulator.core._jit_lower`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulator.core._nodes import Node, SeriesNode

__all__ = ["Program"]


@dataclass
class Program:
    """A lowered model: the kernel's op table and what fills the workspace (see the module docstring)."""

    ops: np.ndarray  # the op table; ``ix``, ``fl``: the index arrays and constants it refers to
    ix: np.ndarray
    fl: np.ndarray
    rows: int  # workspace rows; ``s``, ``d``, ``lrow``: stocks, derivative and loss-rate rows
    s: int
    d: int
    lrow: int
    #: static slots ``(node, row, width)``, filled per block from a numpy evaluation per chunk
    static: list[tuple[Node, int, int]]
    #: tables of lookups ``(parameter, row, width)``, filled like static slots
    tables: list[tuple[str, int, int]]
    #: member-shared weights ``(node, offset, width)`` of folded contractions
    shared: list[tuple[Node, int, int]]
    shared_size: int
    #: series ``(node, column, width)`` in the per-time table
    series: list[tuple[SeriesNode, int, int]]
    series_width: int
    #: time-varying parameters ``(name, column, width)`` in the per-segment table
    vparams: list[tuple[str, int, int]]
    vparam_width: int
    #: recorded items ``(name, row, n, hidden)`` and their offsets in the recording
    record: list[tuple[str, int, int, bool]]
    rec: np.ndarray
    rec_width: int
    cache: dict = field(default_factory=dict)

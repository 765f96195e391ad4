"""Write any Upstream model as a Vensim ``.mdl`` file that PySD and Vensim read.

Layout of the file:

* every dimension becomes a subscript range (``Group: ...``); labels that are
  not plain Vensim names are written in double quotes;
* a *sparse* element set (the surge model's 580 (group, condition, service)
  paths out of 6,528 combinations) becomes a one-dimensional range of its own
  (``Path``), whose elements name their labels (``"Parents / Anxiety / IAPT"``),
  with one 0/1 membership table per dimension (``path to group[Path, Group]``);
  values move between a path and its group, condition or service with
  ``SUM(path to group[Path, Group!] * at risk[Group!])`` (a gather) and
  ``SUM(path to group[Path!, Group] * relapse[Path!])`` (a sum per group);
* parameters become constants (tables of numbers, with their bounds as Vensim
  limits), parameters over a sparse set with few missing combinations are
  written as full tables with zeros where no element exists;
* series become lookups called with ``Time``; lookup tables (imported
  ``lookup(table, x)``) become lookups;
* derived values and outputs become auxiliaries; every flow becomes an
  auxiliary (inflow: its rate; outflow: rate x stock; fraction: rate x its
  parent flow) and every stock an ``INTEG`` of its inflows minus its outflows;
* a sketch places each stock, flow (valve and pipes) and other variable, with
  influence arrows, so that Vensim opens the model.

**PySD 3.14 and dimension order.**  PySD stacks the states of all stocks in one
numpy array and crashes when two stocks of different shapes have the same
length along their first dimension (``[Group]`` beside ``[Group, Condition]``).
The exporter orders each stock's dimensions so that this never happens
(``[Condition, Group]`` there); surge models never meet it, since their paths
are one range.

**Where the code is.**  This module holds the entry points and renders the
text; the writer itself is three layers, each a subclass of the one below:
:mod:`._writer_spaces` (names, ranges, the space of every value),
:mod:`._writer_equations` (formulas as equation text) and :mod:`._writer_vars`
(the model's variables); :mod:`._mdl_parts` holds the pieces they share and
:mod:`._sketch` draws the sketch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from simulator.core._spec import ModelSpec
from simulator.vensim._mdl_parts import ExportError, element_label, mdl_doc
from simulator.vensim._names import vensim_name
from simulator.vensim._numbers import NumberError, fmt, pysd_exact, pysd_printed, pysd_terms
from simulator.vensim._sketch import sketch
from simulator.vensim._writer_vars import VariableWriter

__all__ = [
    "ExportError",
    "element_label",
    "export_mdl",
    "mdl_text",
    "pysd_exact",
    "pysd_printed",
    "pysd_terms",
]


def _render(w: VariableWriter) -> str:
    """The text of the ``.mdl`` file once ``w`` has written every variable."""
    out = ["{UTF-8}"]
    for r in w.ranges.values():
        if r.copy_of is not None:
            out.append(f"{r.name} <-> {r.copy_of}\n\t~\t\n\t~\t{mdl_doc(r.doc)}\n\t|\n")
            continue
        labels = ",\n\t".join(", ".join(r.labels[i : i + 6]) for i in range(0, len(r.labels), 6))
        out.append(f"{r.name}:\n\t{labels}\n\t~\t\n\t~\t{mdl_doc(r.doc)}\n\t|\n")
    for v in [*w.vars.values(), *w.helpers]:
        pieces = v.pieces
        if pieces:
            for i, (lhs, eq) in enumerate(pieces):
                last = i == len(pieces) - 1
                sep = f"\n\t~\t{v.units}\n\t~\t{mdl_doc(v.doc)}\n\t|\n" if last else " ~~|\n"
                if v.kind == "lookup":  # name(\n\t[(x0,y0)-(x1,y1)],(x,y),...) as Vensim writes it
                    out.append(f"{lhs}(\n\t{eq[1:]}{sep}")
                else:
                    out.append(f"{lhs}=\n\t{eq}{sep}")
            continue
        lhs = v.lhs or vensim_name(v.name)
        out.append(f"{lhs}=\n\t{v.equation}\n\t~\t{v.units}\n\t~\t{mdl_doc(v.doc)}\n\t|\n")
    unit = w.unit or "Month"
    out.append(
        "********************************************************\n\t.Control\n"
        "********************************************************~\n"
        "\t\tSimulation Control Parameters\n\t|\n"
    )
    for name, value, doc in (
        ("FINAL TIME", w.final, "The final time for the simulation."),
        ("INITIAL TIME", w.t0, "The initial time for the simulation."),
        ("SAVEPER", w.every, "The frequency with which output is stored."),
        ("TIME STEP", w.dt, "The time step for the simulation."),
    ):
        lim = " [0,?]" if name in ("SAVEPER", "TIME STEP") else ""
        out.append(f"{name}  = {fmt(value)}\n\t~\t{unit}{lim}\n\t~\t{doc}\n\t|\n")
    out.append(sketch(w.vars, w.helpers, w.t0, w.final))
    return "\n".join(out)


def mdl_text(
    spec: ModelSpec,
    *,
    dt: float | None = None,
    months: int | None = None,
) -> str:
    """The ``.mdl`` text of a model (see the module docstring).

    Parameters
    ----------
    spec
        The model.
    dt
        TIME STEP (months for surge models; default 1, or an imported model's own).
    months
        Reporting months ``0 .. months - 1`` (default the model's horizon): FINAL TIME
        is ``months - 1``; SAVEPER is one month (an imported model keeps its own).

    Returns
    -------
    str
        The whole file: subscript ranges, equations, the control section and the sketch.

    Raises
    ------
    ExportError
        When the model uses something Vensim or PySD cannot express; the message says what.
    """
    meta: Mapping[str, Any] = spec.meta if isinstance(spec.meta, Mapping) else {}
    clock = meta.get("clock") or {}
    t0 = float(clock.get("t0", 0.0))
    every = float(clock.get("every", 1.0))
    step = float(dt if dt is not None else clock.get("dt", 1.0))
    if not (math.isfinite(step) and step > 0):
        raise ExportError(f"dt must be a positive number, not {dt!r}")
    if abs(every / step - round(every / step)) > 1e-9:
        every = step
    horizon = int(months if months is not None else spec.horizon)
    final = t0 + (horizon - 1) * float(clock.get("every", 1.0))
    unit = str(clock.get("unit") or "Month")
    w = VariableWriter(spec, step, t0, final, every, unit)
    try:
        w.build()
    except NumberError as err:
        raise ExportError(str(err)) from None
    return _render(w)


def export_mdl(model, path: str | Path, *, dt: float | None = None, months: int | None = None) -> Path:
    """Write a model to a Vensim ``.mdl`` file, atomically.

    Parameters
    ----------
    model
        A :class:`~simulator.core._model.Model` (any kind) or a
        :class:`~simulator.core._spec.ModelSpec`.
    path
        The file to write (replaced only once the whole text is written).
    dt
        TIME STEP (months for surge models; default 1, or an imported model's own).
    months
        Reporting months ``0 .. months - 1`` (default the model's horizon).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ExportError
        When the model uses something Vensim or PySD cannot express; the message says what.
    """
    from simulator.core._atomic import atomic_path

    spec = getattr(model, "spec", model)
    text = mdl_text(spec, dt=dt, months=months)
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path

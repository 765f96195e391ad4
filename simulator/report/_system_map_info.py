"""What a system map's node shows when clicked: parameters, their values, units and sources.

Rows are ``(name, value, unit, source)`` text; values of a parameter over several
elements are listed element by element (the first :data:`MAX_ROWS`) so the numbers
a planner sees are the model's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from simulator.core._formulas import refs
from simulator.core._spec import ModelSpec

__all__ = ["MAX_ROWS", "dist_text", "fmt", "intervention_rows", "param_rows", "referenced_params"]

#: most element rows listed for one parameter on one node
MAX_ROWS = 12

Row = tuple[str, str, str, str]


def fmt(x: float) -> str:
    """A number for people: thousands separated, four significant figures below 1,000.

    Parameters
    ----------
    x
        The number.

    Returns
    -------
    str
    """
    x = float(x)
    if not np.isfinite(x):
        return str(x)
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def dist_text(d: object) -> str:
    """A distribution (or a number) in words: ``triangular: low 0.7, mode 1, high 1.3``.

    Parameters
    ----------
    d
        A :class:`~simulator.analysis.Distribution`, or a plain number.

    Returns
    -------
    str
    """
    params = getattr(d, "params", None)
    kind = getattr(d, "kind", None)
    if params is None or kind is None:
        return fmt(d) if isinstance(d, int | float) else str(d)
    return f"{kind}: " + ", ".join(f"{k} {fmt(v)}" for k, v in params)


def param_rows(spec: ModelSpec, names: Iterable[str], where: Mapping[str, str], month: float) -> list[Row]:
    """Rows of the named parameters and series, restricted to the elements matching ``where``.

    Parameters
    ----------
    spec
        The model's spec.
    names
        Parameter or series names.
    where
        Labels a row's element must have (``{"service": "IAPT"}``); dimensions not named
        are listed element by element.
    month
        Month series are read at (linear or step, as the series says).

    Returns
    -------
    list of tuple
        ``(name [element], value, unit, source)``.
    """
    params = {p.name: p for p in spec.params}
    series = {s.name: s for s in spec.series}
    rows: list[Row] = []
    for name in dict.fromkeys(names):
        piece = params.get(name) or series.get(name)
        if piece is None:
            continue
        values = piece.values if name in params else _series_at(series[name], month)
        label = name if name in params else f"{name} (month {fmt(month)})"
        rows.extend(_element_rows(label, piece.space, values, where, piece.unit, piece.source))
    return rows


def _series_at(s, month: float) -> np.ndarray:
    if s.kind == "step":
        k = max(int(np.searchsorted(s.times, month, side="right")) - 1, 0)
        return s.values[:, k]
    return np.array([np.interp(month, s.times, row) for row in s.values])


def _element_rows(label, space, values, where, unit, source) -> list[Row]:
    dims = space.dims
    keep = []
    for coord, v in zip(space.coords, values):
        labels = dict(zip(dims, coord))
        if all(labels.get(d, w) == w for d, w in where.items()):
            rest = [labels[d] for d in dims if d not in where]
            keep.append((rest, v))
    rows: list[Row] = []
    for rest, v in keep[:MAX_ROWS]:
        name = f"{label} [{', '.join(rest)}]" if rest else label
        rows.append((name, fmt(v), unit, source))
    if len(keep) > MAX_ROWS:
        rows.append((f"{label}: {len(keep) - MAX_ROWS} more elements", "", unit, source))
    return rows


def referenced_params(spec: ModelSpec, exprs: Iterable) -> list[str]:
    """Parameters and series the expressions use, directly or through derived values.

    Parameters
    ----------
    spec
        The model's spec.
    exprs
        Formulas (flow rates).

    Returns
    -------
    list of str
        Names in first-use order.
    """
    auxes = {a.name: a.expr for a in spec.auxes}
    known = {p.name for p in spec.params} | {s.name for s in spec.series}
    out: dict[str, None] = {}
    seen: set[str] = set()
    todo = [r for e in exprs for r in refs(e)]
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.add(name)
        if name in known:
            out[name] = None
        elif name in auxes:
            todo.extend(refs(auxes[name]))
    return list(out)


def intervention_rows(iv) -> list[Row]:
    """What an intervention does, when, for how many and at what cost, with its source.

    Parameters
    ----------
    iv
        An :class:`~simulator.analysis.Intervention`.

    Returns
    -------
    list of tuple
        ``(name, value, unit, source)`` rows.
    """
    scope = "; ".join(f"{d}: {', '.join(v)}" for d, v in iv.scope.items()) or "every element"
    end = "" if iv.end is None else f", ends month {fmt(iv.end)}"
    return [
        ("tier", iv.tier, "", ""),
        ("lever", f"{iv.lever} (changes {iv.target})", "", ""),
        ("scope", scope, "", ""),
        ("effect", f"{iv.effect_type}, {dist_text(iv.effect)}", "", iv.source),
        ("coverage", dist_text(iv.coverage), "share reached", ""),
        ("timing", f"starts month {fmt(iv.start)}, ramp {fmt(iv.ramp_months)} months{end}", "months", ""),
        ("cost", f"£{fmt(iv.fixed_per_month)} a month + £{fmt(iv.per_person)} a person", "pounds", ""),
    ]

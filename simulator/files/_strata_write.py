"""Strata declarations written back to model files (YAML entries; workbook rows in ``surge/_strata_sheet.py``).

What :func:`simulator.files._strata_spec.read_strata` reads, :func:`strata_mapping` writes, so
converting a stratified model between YAML and a workbook keeps its strata.
"""

from __future__ import annotations

from simulator.core._strata import ILLUSTRATIVE, StrataDecl

__all__ = ["source_fields", "strata_mapping"]


def source_fields(text: str) -> dict[str, str]:
    """``source`` and ``assumption`` fields that read back as ``text``.

    Parameters
    ----------
    text
        A source as read (``"illustrative assumption"`` for ``assumption: illustrative``).

    Returns
    -------
    dict
        ``source`` and/or ``assumption``.
    """
    if text == ILLUSTRATIVE:
        return {"assumption": "illustrative"}
    if text.endswith(f"; {ILLUSTRATIVE}"):
        return {"source": text[: -len(ILLUSTRATIVE) - 2], "assumption": "illustrative"}
    return {"source": text}


def strata_mapping(d: StrataDecl) -> dict[str, object]:
    """A declaration as the mapping of a YAML ``strata`` entry (read back by :func:`read_strata`).

    Parameters
    ----------
    d
        The declaration.

    Returns
    -------
    dict
        ``name``, ``label``, ``ordered``, ``categories``, ``population``, ``total``,
        ``pool_over``, ``targets``, ``shares`` and ``multipliers``, as given.
    """
    out: dict[str, object] = {"name": d.name}
    if d.label:
        out["label"] = d.label
    out["ordered"] = bool(d.ordered)
    out["categories"] = list(d.categories)
    for key, value in (("population", d.population), ("total", d.total)):
        if value is not None:
            out[key] = value
    if d.pool_over is not None:
        out["pool_over"] = list(d.pool_over)
    out["targets"] = list(d.targets)
    out["shares"] = {**source_fields(d.shares_source), **{k: list(v) for k, v in d.shares.items()}}
    out["multipliers"] = [
        {"parameter": m.param, "values": list(m.values), **source_fields(m.source)} for m in d.multipliers
    ]
    return out

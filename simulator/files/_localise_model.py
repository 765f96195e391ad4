"""Writing a local model: a surge model's people scaled to an area, every derived number with its provenance.

See :mod:`simulator.files._localise` for the areas and the population tables.
"""

from __future__ import annotations

from pathlib import Path

from simulator.files._loading import _resolve, load_model
from simulator.files._localise import SCALED, LocalArea, group_factors
from simulator.files._yaml import dump_model_yaml, load_with_lines, read_yaml_text
from simulator.surge._surge_model import SurgeModel
from simulator.surge._yamlfile import surge_yaml_data

__all__ = ["localise_model"]

STRATA_KEY = "strata"


def _scale_tables(data: dict, area: LocalArea, factors: dict[str, tuple[float, str]]) -> dict[str, str]:
    """Multiply every count of people in the tables; return the note added to each table scaled."""
    notes = {}
    for name, cols in SCALED.items():
        table = data["tables"].get(name)
        if table is None:
            continue
        idx = {c: table["columns"].index(c) for c in cols if c in table["columns"]}
        if name == "groups":
            gi = table["columns"].index("group")
            for row in table["rows"]:
                row[idx["size"]] = row[idx["size"]] * factors[row[gi]][0]
            note = "size multiplied per group as listed under localised.group_factors"
        else:
            for row in table["rows"]:
                for i in idx.values():
                    if row[i] is not None and row[i] == row[i]:  # NaN: an empty optional cell
                        row[i] = row[i] * area.factor
            note = f"{', '.join(idx)} multiplied by {area.factor:.6g} ({area.name}'s share of England's population)"
        table["source"] = f"{table['source']}; LOCALISED to {area.name} ({area.code}): {note}"
        notes[name] = note
    return notes


def _source_strata(path: str | Path | None) -> list | None:
    """The ``strata`` entries of a YAML model file, as plain data (``None`` if it has none)."""
    p = _resolve(path)
    if p.suffix.lower() not in (".yaml", ".yml"):
        return None
    root = load_with_lines(read_yaml_text(p))
    loc = root.get(STRATA_KEY)
    return None if loc is None else _plain(loc.value)


def _plain(v):
    """Located values nested in lists and dicts, as plain data."""
    if hasattr(v, "value") and hasattr(v, "line"):
        return _plain(v.value)
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def _localise_strata(strata: list | dict, area: LocalArea) -> list[str]:
    """Give a ``deprivation`` stratifier the area's own mix; return what was changed, in words."""
    entries = strata if isinstance(strata, list) else [dict(s, name=k) for k, s in strata.items()]
    changed = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("name") != "deprivation":
            continue
        mix = area.mix(len(entry.get("categories") or []))
        if mix is None:
            continue
        kind = "decile" if len(mix) == 10 else "quintile"
        src = f"{area.name} ({area.code}): people per IMD 2019 {kind} (1 = most deprived), {area.source}"
        # the area's mix for every group (group-specific rows of the original are England's)
        entry["shares"] = {"source": src, "all": [round(x, 10) for x in mix]}
        changed.append(f"deprivation shares: {area.name}'s own mix")
    if isinstance(strata, dict):
        strata.clear()
        strata.update({e.pop("name"): e for e in entries})
    return changed


def localise_model(model: str | Path | None, area: LocalArea, dst: str | Path) -> tuple[Path, dict]:
    """Write ``model`` scaled to ``area`` as a YAML surge model.

    Parameters
    ----------
    model
        A surge model file or built-in name.
    area
        The area (:func:`simulator.files._localise.find_area`).
    dst
        The YAML file to write (written whole or not at all).

    Returns
    -------
    tuple
        The file written and the ``localised`` record it holds (area, populations,
        factors, deprivation mix, sources).

    Raises
    ------
    ValueError
        If the model is not a surge model.
    """
    from simulator.core._atomic import atomic_path

    m = load_model(model)
    if not isinstance(m, SurgeModel):
        raise ValueError(
            f"{model} is not a surge model: only surge models have population groups to localise"
        )
    data = surge_yaml_data(m.tables)
    factors = group_factors(area, [str(g) for g in m.tables.groups["group"]])
    notes = _scale_tables(data, area, factors)
    strata = _source_strata(model)
    changed = _localise_strata(strata, area) if strata else []
    record = _record(area, factors, notes, changed)
    data["name"] = f"{data['name']}, localised to {area.name}"
    data["description"] = (
        f"{data.get('description') or data['name']} Localised to {area.name} ({area.kind}, {area.code}) "
        "by `upstream localise`: see 'localised' for every derived number and its source."
    )
    if strata:
        data[STRATA_KEY] = strata
    data["localised"] = record
    header = (
        f"Upstream surge model localised to {area.name} ({area.code}) by `upstream localise`.\n"
        "Every count of people is scaled to the area; 'localised' records how and from what."
    )
    dst = Path(dst)
    with atomic_path(dst) as tmp:
        dump_model_yaml(data, tmp, header)
    return dst, record


def _record(
    area: LocalArea, factors: dict[str, tuple[float, str]], notes: dict[str, str], changed: list[str]
) -> dict:
    """The provenance written under ``localised:``."""
    rec: dict[str, object] = {
        "area": area.name,
        "code": area.code,
        "kind": area.kind,
        "population": area.population,
        "england_population": area.england,
        "population_factor": area.factor,
        "population_source": area.source,
        "group_factors": {g: {"factor": f, "why": why} for g, (f, why) in factors.items()},
        "tables_scaled": notes,
        "assumption": "illustrative assumption: the area's referral rates, condition rates and service "
        "figures per person are England's; only its population (and its deprivation mix) are its own",
    }
    if area.deciles is not None:
        total = sum(area.deciles)
        rec["deprivation"] = {
            "categories": "IMD 2019 deciles, 1 = most deprived (English Indices of Deprivation 2019)",
            "people": [float(x) for x in area.deciles],
            "shares": [round(x / total, 10) for x in area.deciles],
            "source": area.source,
        }
    else:
        rec["deprivation"] = (
            "not available for ICBs from the shipped data (no LSOA -> ICB lookup): a stratified model keeps "
            "its England mix"
        )
    if area.ages:
        rec["age_bands"] = {b: {"area": here, "england": eng} for b, (here, eng) in area.ages.items()}
    if changed:
        rec["strata_changed"] = changed
    return rec

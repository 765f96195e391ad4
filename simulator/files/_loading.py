"""Load a model from a file or a built-in name, collecting every problem on the way.

Supported inputs:

* ``.xlsx``: a surge model workbook (six sheets);
* ``.yaml`` / ``.yml``: ``kind: surge`` (the six tables, optionally capacity,
  waiting and stages; ``extends:`` another surge file to add or replace tables)
  or ``kind: network`` (a stock-and-flow model written directly);
* a built-in name: ``england``, ``mersey-care``, ``cwp`` (the Strategy Unit's
  public workbooks, as YAML files in ``models/``) and ``england-capacity``
  (England with service capacity, waiting lists and escalation);
* ``.mdl`` (Vensim) / ``.xmile`` (XMILE): imported through PySD's parser
  (:mod:`simulator.vensim`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path

import yaml

from simulator.core._model import Model
from simulator.core._problems import InputError, Problems
from simulator.core._strata import StrataDecl, StrataError
from simulator.files._strata_spec import (
    SURGE_TARGETS,
    apply_strata,
    read_strata,
    read_strata_file,
    report_strata_error,
)
from simulator.files._yaml import Located, YAMLLimitError, load_with_lines, read_yaml_text
from simulator.surge._build import build_surge_spec
from simulator.surge._strata_sheet import strata_sheet
from simulator.surge._surge_model import SurgeModel
from simulator.surge._tables import RawTable, check_tables
from simulator.surge._workbook import read_workbook
from simulator.surge._yamlfile import read_surge_yaml

__all__ = ["BUILTIN_MODELS", "builtin_path", "check_model", "load_model", "with_strata"]

BUILTIN_MODELS = {
    "england": "england.yaml",
    "mersey-care": "mersey-care.yaml",
    "cwp": "cwp.yaml",
    "england-capacity": "england-capacity.yaml",
    "england-imd": "england-imd.yaml",
    "england-ethnicity": "england-ethnicity.yaml",
}
DEFAULT_MODEL = "england"


def builtin_path(name: str) -> Path:
    """Path of a built-in model file (shipped in the ``models/`` folder).

    Parameters
    ----------
    name
        One of :data:`BUILTIN_MODELS`.

    Returns
    -------
    pathlib.Path
        The model file.
    """
    fname = BUILTIN_MODELS[name.lower()]
    try:
        p = Path(str(resources.files("simulator.models").joinpath(fname)))
        if p.exists():
            return p
    except (ModuleNotFoundError, TypeError):
        pass
    p = Path(__file__).resolve().parents[2] / "models" / fname
    if p.exists():
        return p
    raise FileNotFoundError(f"built-in model {name!r} not found (looked for {fname} in models/)")


def _resolve(path: str | Path | None) -> Path:
    if path is None:
        return builtin_path(DEFAULT_MODEL)
    p = Path(path)
    if not p.exists() and str(path).lower() in BUILTIN_MODELS:
        return builtin_path(str(path))
    return p


def check_model(path: str | Path | None = None) -> tuple[Model | None, Problems]:
    """Read and validate a model; return it (or ``None``) and every problem found.

    Parameters
    ----------
    path
        A model file (``.xlsx``, ``.yaml``, ``.mdl``, ``.xmile``) or a built-in name
        (``None``: the built-in England model).

    Returns
    -------
    tuple of (Model or None, Problems)
        The model (``None`` if there are errors) and every problem, errors and warnings.
    """
    p = _resolve(path)
    problems = Problems(file=p.name)
    if not p.exists():
        problems.add(
            f"file {str(p)!r} does not exist",
            allowed="a .xlsx or .yaml model file, or " + ", ".join(BUILTIN_MODELS),
        )
        return None, problems
    if p.is_dir():
        problems.add(
            f"{str(p)!r} is a folder, not a model file",
            allowed="a .xlsx, .yaml, .mdl or .xmile model file, or " + ", ".join(BUILTIN_MODELS),
        )
        return None, problems
    suffix = p.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        raw = read_workbook(p, problems)
        if problems.errors:
            return None, problems
        strata = strata_sheet(raw.pop("strata", None), problems)
        tables = check_tables(
            raw,
            problems,
            name=p.stem,
            sources={s: f"{p.name}, sheet {s}" for s in raw},
            meta={"strata": strata},
        )
        if tables is None:
            return None, problems
        return _surge_model(tables, p, problems)
    if suffix in (".yaml", ".yml"):
        return _check_yaml(p, problems)
    if suffix in (".mdl", ".xmile", ".xml", ".stmx"):
        from simulator.vensim._importer import check_import

        return check_import(p, problems), problems
    problems.add(f"unknown model file type {suffix!r}", allowed=".xlsx, .yaml, .mdl or .xmile")
    return None, problems


def _check_yaml(p: Path, problems: Problems) -> tuple[Model | None, Problems]:
    """Read a YAML model file: ``kind: surge`` or ``kind: network``."""
    problems.part_kind = "table"
    root = read_yaml(p, problems)
    if root is None:
        return None, problems
    if not isinstance(root.value, dict):
        problems.add("the file must be a YAML mapping", allowed="upstream: model, kind: ...")
        return None, problems
    kind = root.value.get("kind")
    if kind == "surge":
        raw, meta = _surge_yaml_tables(p, root, problems, (p.resolve(),))
        meta["strata"] = read_strata(root.get("strata"), problems, population="size", targets=SURGE_TARGETS)
        if problems.errors:
            return None, problems
        import pandas as pd

        start = None
        if meta.get("start") is not None:
            try:
                start = pd.Timestamp(str(meta["start"])).to_period("M").to_timestamp()
            except ValueError:
                problems.add(f"start {meta['start']!r} is not a month", allowed="e.g. 2020-05")
        tables = check_tables(
            raw,
            problems,
            name=str(meta.get("name") or p.stem),
            sources={k: v.source for k, v in raw.items() if v.source},
            start=start,
            meta=meta,
        )
        if tables is None:
            return None, problems
        return _surge_model(tables, p, problems)
    if kind == "network":
        from simulator.files._network import read_network

        model = read_network(root, p, problems)
        return (None if problems.errors else model), problems
    kind_loc = root.get("kind")
    problems.add(
        f"kind {kind!r} is not known",
        line=kind_loc.line if kind_loc is not None else root.line,
        allowed="kind: surge or kind: network",
    )
    return None, problems


def read_yaml(p: Path, problems: Problems) -> Located | None:
    """A YAML file parsed with line numbers, or ``None`` with the problem recorded.

    Parameters
    ----------
    p
        The file.
    problems
        Where a problem is recorded: not UTF-8, not valid YAML (with its line), too
        large to read (too long, too deep, too many aliases), or not readable.

    Returns
    -------
    Located or None
        The document, or ``None``.
    """
    try:
        return load_with_lines(read_yaml_text(p))
    except YAMLLimitError as err:
        mark = err.problem_mark
        problems.add(
            f"refused: {err.problem}",
            line=None if mark is None else mark.line + 1,
            allowed="a model file without alias bombs (aliases may repeat a value, not multiply it)",
        )
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problems.add(
            f"not valid YAML: {getattr(err, 'problem', err)}",
            line=None if mark is None else mark.line + 1,
        )
    except UnicodeDecodeError:
        problems.add("not a UTF-8 text file", allowed="a YAML model file")
    except OSError as err:
        problems.add(f"cannot read the file: {err.strerror or err}")
    return None


def _surge_yaml_tables(
    p: Path, root, problems: Problems, seen: tuple[Path, ...]
) -> tuple[dict[str, RawTable], dict[str, object]]:
    """Raw tables of a surge YAML file, with those of the file it ``extends`` underneath.

    ``extends: england.yaml`` (a path relative to this file, or a built-in
    model name) takes every table of that model; this file's tables add to
    them or replace them whole.  A footprint's capacity file can so add a
    ``capacity`` table without copying the workbook tables.
    """
    raw, meta = read_surge_yaml(root, problems)
    ext = root.get("extends")
    if ext is None:
        return raw, meta
    base = p.parent / str(ext.value)
    if not base.exists() and str(ext.value).lower() in BUILTIN_MODELS:
        base = builtin_path(str(ext.value))
    if not base.exists() or base.is_dir():
        problems.add(
            f"extends {ext.value!r}: "
            + ("is a folder, not a model file" if base.exists() else "file not found"),
            line=ext.line,
            allowed="a surge model file next to this one, or " + ", ".join(BUILTIN_MODELS),
        )
        return raw, meta
    if base.resolve() in seen:
        problems.add(f"extends {ext.value!r}: the files extend each other in a loop", line=ext.line)
        return raw, meta
    sub = Problems(file=base.name, part_kind="table")
    base_raw: dict[str, RawTable] = {}
    base_meta: dict[str, object] = {}
    if base.suffix.lower() in (".xlsx", ".xlsm"):
        sub.part_kind = "sheet"
        base_raw = read_workbook(base, sub)
        for name, table in base_raw.items():
            table.source = table.source or f"{base.name}, sheet {name}"
    else:
        base_root = read_yaml(base, sub)
        if base_root is not None:
            if not isinstance(base_root.value, dict) or base_root.value.get("kind") != "surge":
                sub.add("extends needs a surge model", allowed="kind: surge")
            else:
                base_raw, base_meta = _surge_yaml_tables(base, base_root, sub, (*seen, base.resolve()))
    problems.items.extend(sub.items)
    own_name = meta.get("name")
    merged_meta = {**base_meta, **meta}
    if own_name is None and "name" in base_meta:
        merged_meta["name"] = base_meta["name"]
    return {**base_raw, **raw}, merged_meta


def _surge_model(tables, p: Path, problems: Problems) -> tuple[Model | None, Problems]:
    try:
        spec = build_surge_spec(tables)
    except StrataError as err:
        report_strata_error(
            err, tables.meta.get("strata", ()), problems, rows=p.suffix.lower() in (".xlsx", ".xlsm")
        )
        return None, problems
    problems_spec = spec.check()
    for msg in problems_spec:
        problems.add(msg)
    if problems.errors:
        return None, problems
    return SurgeModel(spec, kind="surge", path=p, tables=tables, warnings=problems.warnings), problems


def load_model(
    path: str | Path | None = None,
    *,
    fallback: str | None = None,
    strata: str | Path | Sequence[StrataDecl] | None = None,
) -> Model:
    """Load a model file (``.xlsx``, ``.yaml``, ``.mdl``/``.xmile``) or a built-in model by name.

    With no argument, the built-in England surge model.  ``fallback="pysd"``
    returns a Vensim/XMILE model that uses constructs Upstream does not
    compile as a :class:`simulator.vensim._fallback.PySDModel`, run by PySD.

    Parameters
    ----------
    path
        A model file or a built-in name (``None``: the built-in England model).
    fallback
        ``"pysd"`` to run unsupported Vensim/XMILE models through PySD.
    strata
        Stratify the model (any kind, e.g. an imported Vensim model): a YAML file with a
        ``strata:`` list (:mod:`simulator.files._strata_spec`) or declarations.

    Returns
    -------
    Model
        The model (a :class:`~simulator.surge._surge_model.SurgeModel` for surge files).

    Raises
    ------
    InputError
        Listing every problem found in the file (sheet/table, row, column, what is allowed).
    """
    if fallback not in (None, "pysd"):
        raise ValueError(f"fallback must be None or 'pysd', not {fallback!r}")
    model, problems = check_model(path)
    if model is None:
        if fallback == "pysd" and path is not None:
            from simulator.vensim._importer import unsupported_only

            if unsupported_only(problems):
                from simulator.vensim._fallback import PySDModel

                return PySDModel(_resolve(path), problems.errors)  # type: ignore[return-value]
        raise InputError(problems.errors, problems.warnings)
    return model if strata is None else with_strata(model, strata)


def with_strata(model: Model, strata: str | Path | Sequence[StrataDecl]) -> Model:
    """``model`` stratified by the declarations of a strata file (or given declarations).

    Parameters
    ----------
    model
        A loaded model (surge models keep their strata through curve and table edits).
    strata
        A YAML file with a ``strata:`` list, or declarations.

    Returns
    -------
    Model
        The stratified model.

    Raises
    ------
    InputError
        Naming the place of every problem of the declarations.
    """
    if isinstance(strata, str | Path):
        name, decls = (
            Path(strata).name,
            read_strata_file(strata, population="size" if model.kind == "surge" else None),
        )
    else:
        name, decls = "strata", tuple(strata)
    problems = Problems(file=name, part_kind="entry")
    if isinstance(model, SurgeModel):
        t = model.tables
        old: tuple = tuple(t.meta.get("strata") or ())  # type: ignore[arg-type]
        meta = {**t.meta, "strata": (*old, *decls)}
        try:
            return model.with_tables(replace(t, meta=meta))
        except StrataError as err:
            report_strata_error(err, decls, problems)
    else:
        spec = apply_strata(model.spec, decls, problems)
        if spec is not None:
            return replace(model, spec=spec, _compiled=None)
    raise InputError(problems.errors, problems.warnings)

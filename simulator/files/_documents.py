"""Reading Upstream's YAML documents: the tree with line numbers, its kind, and the model it names."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import yaml

from simulator.core._model import Model
from simulator.core._problems import InputError, Problems
from simulator.files._loading import BUILTIN_MODELS, load_model
from simulator.files._yaml import Located, load_with_lines

__all__ = ["model_reference", "read_document"]


def read_document(p: Path, problems: Problems, kind: str, fields: Collection[str]) -> Located:
    """The YAML tree of an ``upstream: KIND`` file; raises :class:`InputError` if it is not one.

    Parameters
    ----------
    p
        The file.
    problems
        Where problems are collected (unknown fields are added, the rest raise at once).
    kind
        The expected ``upstream:`` value (``scenario``, ``calibration`` ...).
    fields
        The top-level fields allowed.

    Returns
    -------
    Located
        The document, every node with its line.
    """
    if not p.is_file():
        problems.add(f"file {str(p)!r} does not exist", allowed=f"a {kind} .yaml file")
        problems.raise_if_errors()
    try:
        root = load_with_lines(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problems.add(
            f"not valid YAML: {getattr(err, 'problem', err)}", line=None if mark is None else mark.line + 1
        )
        problems.raise_if_errors()
        raise AssertionError from None  # unreachable
    if not isinstance(root.value, dict) or root.value.get("upstream") != kind:
        problems.add(f"not a {kind} file", line=1, allowed=f"a mapping starting 'upstream: {kind}'")
        problems.raise_if_errors()
    for k in root.value:
        if k not in fields:
            loc = root.get(k)
            problems.add(
                f"unknown field {k!r}", part=k, line=None if loc is None else loc.line,
                allowed=", ".join(sorted(fields)),
            )  # fmt: skip
    return root


def model_reference(root: Located, p: Path, problems: Problems) -> Model | None:
    """The model a document names in ``model:`` (a built-in name or a path relative to the file).

    Parameters
    ----------
    root
        The document.
    p
        Its file (relative model paths start from its folder).
    problems
        Where a missing or broken model is reported.

    Returns
    -------
    Model or None
        The loaded model, or ``None`` after a problem was added.
    """
    mloc = root.get("model")
    if mloc is None or not isinstance(mloc.value, str):
        problems.add("is missing", part="model", allowed="a built-in model name or a model file path")
        return None
    ref = mloc.value
    target = ref if ref.lower() in BUILTIN_MODELS else str((p.parent / ref).resolve())
    try:
        return load_model(target)
    except InputError as err:
        problems.add(
            f"model {ref!r} has {len(err.problems)} problem(s): "
            + "; ".join(str(e) for e in err.problems[:5]),
            part="model",
            line=mloc.line,
        )
        return None
    except FileNotFoundError as err:
        problems.add(str(err), part="model", line=mloc.line)
        return None

"""YAML reading with line numbers, and writing with one table row per line.

Files are read with PyYAML's *safe* loader only (no Python objects can be
constructed from a file).  :func:`load_with_lines` returns the plain data and
a parallel tree of line numbers, so problems can point at the line a user
must edit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["Located", "dump_model_yaml", "load_with_lines"]


class Located:
    """A YAML value with the line it starts on and located children."""

    __slots__ = ("children", "line", "value")

    def __init__(self, value: Any, line: int, children: Any = None):
        self.value, self.line, self.children = value, line, children

    def get(self, key: str) -> Located | None:
        """The located child under ``key`` of a mapping (``None`` if absent).

        Parameters
        ----------
        key
            The key.

        Returns
        -------
        Located or None
            The child, with its line.
        """
        if isinstance(self.children, dict):
            return self.children.get(key)
        return None

    def items(self) -> list[Located]:
        """Located children of a sequence.

        Returns
        -------
        list of Located
            The items (empty if this is not a sequence).
        """
        return list(self.children) if isinstance(self.children, list) else []


def _locate(node: yaml.Node, loader: yaml.SafeLoader) -> Located:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        children = {}
        value = {}
        for k, v in node.value:
            key = loader.construct_object(k, deep=True)
            loc = _locate(v, loader)
            children[str(key)] = loc
            value[str(key)] = loc.value
        return Located(value, line, children)
    if isinstance(node, yaml.SequenceNode):
        items = [_locate(v, loader) for v in node.value]
        return Located([i.value for i in items], line, items)
    return Located(loader.construct_object(node, deep=True), line)


def load_with_lines(text: str) -> Located:
    """Parse YAML safely, keeping the line of every value.

    Parameters
    ----------
    text
        YAML text.

    Returns
    -------
    Located
        The document's value, its line and its located children.

    Raises
    ------
    yaml.YAMLError
        With the line and column of a syntax error.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Located(None, 1)
        return _locate(node, loader)
    finally:
        loader.dispose()


class _Flow(list):
    """A list written in flow style: ``[a, b, c]`` on one line."""


class _Dumper(yaml.SafeDumper):
    pass


def _flow_repr(dumper: yaml.SafeDumper, data: _Flow) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


def _str_repr(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = ">" if len(data) > 90 and "\n" not in data else ("|" if "\n" in data else None)
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(_Flow, _flow_repr)
_Dumper.add_representer(str, _str_repr)


def flow(seq: list) -> _Flow:
    """Mark a list to be written on one line.

    Parameters
    ----------
    seq
        The list.

    Returns
    -------
    list
        The same items, written in flow style (``[a, b, c]``).
    """
    return _Flow(seq)


def dump_model_yaml(data: dict, path: str | Path | None = None, header: str = "") -> str:
    """Write a model mapping as YAML (rows of tables on one line each); return the text.

    Parameters
    ----------
    data
        The model mapping.
    path
        File to write (``None``: only return the text).
    header
        Comment lines put at the top.

    Returns
    -------
    str
        The YAML text.
    """
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
    if header:
        text = "".join(f"# {h}\n" if h else "#\n" for h in header.splitlines()) + text
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text

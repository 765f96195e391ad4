"""YAML reading with line numbers, and writing with one table row per line.

Files are read with PyYAML's *safe* loader only (no Python objects can be
constructed from a file).  :func:`load_with_lines` returns the plain data and
a parallel tree of line numbers, so problems can point at the line a user
must edit.

Tiny documents must not exhaust the machine: a document is refused (a
:class:`YAMLLimitError`, which is a :class:`yaml.YAMLError`) before any value is
built when its text is longer than :data:`MAX_CHARS`, its nesting is deeper than
:data:`MAX_DEPTH`, or expanding its aliases would give more than
:data:`MAX_VALUES` values or add more than :data:`MAX_ALIAS_VALUES` (the
"billion laughs" alias bomb: a few hundred bytes that expand to a billion values).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from simulator.core._atomic import atomic_path

__all__ = [
    "MAX_ALIAS_VALUES",
    "MAX_CHARS",
    "MAX_DEPTH",
    "MAX_VALUES",
    "Located",
    "YAMLLimitError",
    "dump_model_yaml",
    "load_with_lines",
    "read_yaml_text",
]

#: longest YAML document read (characters; the largest built-in model has 140,000)
MAX_CHARS = 20_000_000
#: most values (scalars, lists, mappings) in a document once its aliases are expanded
MAX_VALUES = 2_000_000
#: most values that expanding aliases may add to a document
MAX_ALIAS_VALUES = 100_000
#: deepest nesting of lists and mappings
MAX_DEPTH = 200


#: libyaml's parser where PyYAML was built with it (about ten times faster, with the same safe
#: constructors, line marks and a nesting limit of its own), else PyYAML's pure-Python one
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YAMLLimitError(yaml.MarkedYAMLError):
    """A YAML document too large to read: too long, too deeply nested, or too many aliases."""

    def __init__(self, problem: str, mark: Any = None):
        super().__init__(problem=problem, problem_mark=mark)

    def __str__(self) -> str:
        at = "" if self.problem_mark is None else f" (line {self.problem_mark.line + 1})"
        return f"{self.problem}{at}"


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


def _locate(node: yaml.Node, loader: Any) -> Located:
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


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for kv in node.value for n in kv]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def check_expansion(root: yaml.Node) -> int:
    """Refuse a composed document whose aliases expand too far; return its number of values.

    Counts the values the document has once every alias is expanded, without
    expanding them (each distinct node is visited once, its expanded size
    memoised), so an alias bomb is refused in microseconds.

    Parameters
    ----------
    root
        The composed document (aliases are shared nodes).

    Returns
    -------
    int
        Values in the expanded document.

    Raises
    ------
    YAMLLimitError
        Too many values, too many added by aliases, too deep, or an alias inside itself.
    """
    sizes: dict[int, int] = {}
    open_: set[int] = set()  # the nodes on the path being visited
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in _children(node))
            if sizes[key] - len(sizes) > MAX_ALIAS_VALUES:
                raise YAMLLimitError(
                    f"too many aliases: expanding them gives at least {sizes[key]:,} values from "
                    f"{len(sizes):,} written (aliases may add at most {MAX_ALIAS_VALUES:,})",
                    node.start_mark,
                )
            if sizes[key] > MAX_VALUES:
                raise YAMLLimitError(f"document too large: more than {MAX_VALUES:,} values", node.start_mark)
            continue
        if key in sizes:
            continue
        if key in open_:
            raise YAMLLimitError("an alias refers to a value that contains it", node.start_mark)
        if len(open_) >= MAX_DEPTH:
            raise YAMLLimitError(
                f"document too large: nested more than {MAX_DEPTH} levels deep", node.start_mark
            )
        open_.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)
    return sizes[id(root)]


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
        With the line and column of a syntax error; :class:`YAMLLimitError` for a
        document too large to read (see the module notes).
    """
    if len(text) > MAX_CHARS:
        raise YAMLLimitError(f"document too large: {len(text):,} characters (at most {MAX_CHARS:,} are read)")
    loader = _SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise YAMLLimitError(f"document too large: nested more than {MAX_DEPTH} levels deep") from None
        except yaml.MarkedYAMLError as err:
            if "maximum nesting depth" not in str(err.problem):
                raise
            # libyaml's own limit (1,000 levels), met before ours is counted
            msg = f"document too large: nested more than {MAX_DEPTH} levels deep"
            raise YAMLLimitError(msg, err.problem_mark) from None
        if node is None:
            return Located(None, 1)
        check_expansion(node)
        return _locate(node, loader)
    finally:
        loader.dispose()


def read_yaml_text(path: str | Path) -> str:
    """A YAML file's text, refused before reading when it is longer than :data:`MAX_CHARS` bytes.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    str
        Its text (UTF-8).

    Raises
    ------
    YAMLLimitError
        When the file is too large.
    UnicodeDecodeError
        When it is not UTF-8 text.
    """
    p = Path(path)
    size = p.stat().st_size
    if size > MAX_CHARS:
        raise YAMLLimitError(f"document too large: {size:,} bytes (at most {MAX_CHARS:,} are read)")
    return p.read_text(encoding="utf-8")


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
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return text

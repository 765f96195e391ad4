"""The layout's rules (issue 11), checked on the source: the import contract, names and sizes.

Every module of ``simulator/`` is parsed (never imported), and every ``import`` statement in it
counts: at module level, inside functions and under ``if TYPE_CHECKING:``.  An import
``from simulator.x import y`` is an edge to the module ``simulator.x`` and, when
``simulator/x/y.py`` (or the package ``simulator/x/y/``) exists, to ``simulator.x.y`` as well;
``import simulator.x.y`` is an edge to ``simulator.x.y``.  The implicit import of parent packages
is not counted (every module would otherwise form a cycle with its package's ``__init__``).

Rules
-----
* ``simulator/core`` imports nothing of ``analysis``, ``surge``, ``vensim``, ``files``, ``report``
  or the command line, directly or through other modules;
* ``simulator/analysis`` imports nothing of ``surge``, ``vensim``, ``files``, ``report`` or the
  command line, directly or through other modules;
* no import cycles between modules of ``simulator`` (not even under ``TYPE_CHECKING``, not even
  lazy imports inside functions);
* no two modules share a file name (leading underscores aside);
* every module inside a subpackage, ``__init__`` aside, is private (``_name.py``);
* no function is over 80 lines and no module over 400 lines (see ``SIZE_ALLOWED``).
"""

from __future__ import annotations

import ast
from collections import deque
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "simulator"

#: the command line: the ``cli`` module and its private helpers' package, and the web app
CLI = ("simulator.cli", "simulator._cli", "simulator.app")
#: what each layer must never reach (module name prefixes)
FORBIDDEN = {
    "simulator.core": (
        "simulator.analysis",
        "simulator.surge",
        "simulator.vensim",
        "simulator.files",
        "simulator.report",
        *CLI,
    ),
    "simulator.analysis": (
        "simulator.surge",
        "simulator.vensim",
        "simulator.files",
        "simulator.report",
        *CLI,
    ),
    # the model kinds, file formats and figures serve the command line and the app, never the reverse
    "simulator.surge": CLI,
    "simulator.vensim": CLI,
    "simulator.files": CLI,
    "simulator.report": CLI,
}

MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 400
#: modules allowed to be longer, {path: (own limit, reason)}: only for tables of data (e.g. Vensim
#: translation tables), never for code; keep it short.  Empty: every module fits today's limit.
SIZE_ALLOWED: dict[str, tuple[int, str]] = {}


# ----------------------------------------------------------------------------- the module graph
def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of ``simulator`` by dotted name."""
    return {_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


@cache
def tree(name: str) -> ast.Module:
    path = modules()[name]
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _is_package(name: str) -> bool:
    return modules()[name].name == "__init__.py"


def _resolve(name: str, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    base = name.split(".")
    if not _is_package(name):
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports(name: str) -> list[tuple[str, int]]:
    """Modules of ``simulator`` imported by module ``name``: (target, line), anywhere in the file."""
    known = modules()
    out: list[tuple[str, int]] = []
    for node in ast.walk(tree(name)):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name in known]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(name, node)
            if target in known:
                out.append((target, node.lineno))
            out += [(f"{target}.{a.name}", node.lineno) for a in node.names if f"{target}.{a.name}" in known]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in known:
            # a module named in a string (the packages' lazy ``_LAZY`` tables, importlib) is an import too
            out.append((node.value, node.lineno))
    return out


@cache
def graph() -> dict[str, frozenset[str]]:
    """Module -> the modules of ``simulator`` it imports (itself excluded)."""
    return {m: frozenset(t for t, _ in imports(m) if t != m) for m in modules()}


def _inside(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _path_to(start: str, targets: tuple[str, ...]) -> list[str] | None:
    """The shortest import chain from ``start`` to a module under one of ``targets``."""
    g = graph()
    before: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        m = queue.popleft()
        if m != start and any(_inside(m, t) for t in targets):
            chain = [m]
            while (prev := before[chain[-1]]) is not None:
                chain.append(prev)
            return chain[::-1]
        for nxt in sorted(g[m]):
            if nxt not in before:
                before[nxt] = m
                queue.append(nxt)
    return None


def _layer_offenders(layer: str) -> list[str]:
    forbidden = FORBIDDEN[layer]
    out = []
    for m in sorted(modules()):
        if not _inside(m, layer):
            continue
        direct = [f"{t} (line {line})" for t, line in imports(m) if any(_inside(t, f) for f in forbidden)]
        if direct:
            out.append(f"{m} imports {', '.join(direct)}")
        elif chain := _path_to(m, forbidden):
            out.append(f"{m} reaches {chain[-1]} through " + " -> ".join(chain))
    return out


def cycles() -> list[list[str]]:
    """Strongly connected components of the import graph with more than one module (Tarjan)."""
    g = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return sorted(found)


def _describe(comp: list[str]) -> str:
    members = set(comp)
    edges = [f"{m} (line {line}) -> {t}" for m in comp for t, line in imports(m) if t in members and t != m]
    return "{" + ", ".join(comp) + "}: " + "; ".join(sorted(set(edges)))


# ----------------------------------------------------------------------------- the import contract
def test_the_graph_is_seen():
    # a sanity check of the parser: the core layer and the top-level package are found and linked
    assert "simulator.core._spec" in modules()
    assert any(_inside(t, "simulator.core") for t in graph()["simulator"])


def test_core_imports_no_outer_layer():
    bad = _layer_offenders("simulator.core")
    assert not bad, "simulator/core must not import analysis, surge, vensim, files, report or the CLI:\n" + (
        "\n".join(bad)
    )


def test_analysis_imports_no_model_kind_or_file_format():
    bad = _layer_offenders("simulator.analysis")
    assert not bad, "simulator/analysis must not import surge, vensim, files, report or the CLI:\n" + (
        "\n".join(bad)
    )


def test_no_import_cycles():
    found = cycles()
    assert not found, f"{len(found)} import cycle(s) in simulator:\n" + "\n".join(map(_describe, found))


# ----------------------------------------------------------------------------- names
def test_no_two_modules_share_a_file_name():
    seen: dict[str, list[str]] = {}
    for path in modules().values():
        if path.stem not in ("__init__", "__main__"):
            seen.setdefault(path.stem.lstrip("_"), []).append(str(path.relative_to(ROOT)))
    clash = {k: v for k, v in seen.items() if len(v) > 1}
    assert not clash, "modules sharing a file name:\n" + "\n".join(
        f"{k}: {', '.join(v)}" for k, v in sorted(clash.items())
    )


def test_modules_in_subpackages_are_private():
    bad = [
        str(p.relative_to(ROOT))
        for p in modules().values()
        if p.parent != PACKAGE and p.stem != "__init__" and not p.stem.startswith("_")
    ]
    assert not bad, "public modules inside subpackages (rename to _name.py, re-export in __init__):\n" + (
        "\n".join(sorted(bad))
    )


# ----------------------------------------------------------------------------- sizes
def _docstring_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    first = node.body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
        and first.end_lineno is not None
    ):
        return first.end_lineno - first.lineno + 1
    return 0


def function_lengths(name: str) -> list[tuple[str, int, int]]:
    """(qualified name, first line, length) of every function in module ``name``.

    The length runs from the ``def`` line to the last line of the body, without the docstring
    (documentation never counts against a function); nested functions count in their parent too.
    """
    out = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                qual = f"{prefix}{child.name}"
                end = child.end_lineno or child.lineno
                out.append((qual, child.lineno, end - child.lineno + 1 - _docstring_lines(child)))
                walk(child, qual + ".")
            elif isinstance(child, ast.ClassDef):
                walk(child, f"{prefix}{child.name}.")
            else:
                walk(child, prefix)

    walk(tree(name), "")
    return out


def test_no_function_over_80_lines():
    bad = [
        f"{modules()[m].relative_to(ROOT)}:{line} {qual}: {n} lines"
        for m in sorted(modules())
        for qual, line, n in function_lengths(m)
        if n > MAX_FUNCTION_LINES
    ]
    assert not bad, f"functions over {MAX_FUNCTION_LINES} lines (docstrings not counted):\n" + "\n".join(bad)


def test_no_module_over_400_lines():
    bad = []
    for path in modules().values():
        rel = str(path.relative_to(ROOT))
        limit = SIZE_ALLOWED.get(rel, (MAX_MODULE_LINES, ""))[0]
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > limit:
            bad.append(f"{rel}: {n} lines (limit {limit})")
    assert not bad, "modules over their line limit:\n" + "\n".join(sorted(bad))


def test_size_allowances_are_still_needed():
    # an allowance outlives its reason once the module is back under the common limit or gone
    stale = [
        p
        for p in SIZE_ALLOWED
        if not (ROOT / p).exists()
        or len((ROOT / p).read_text(encoding="utf-8").splitlines()) <= MAX_MODULE_LINES
    ]
    assert not stale, f"SIZE_ALLOWED entries no longer needed: {stale}"


def test_every_package_is_installed():
    """A non-editable install ships every subpackage: pyproject's package list names them all."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {_name(p.parent / "__init__.py") for p in PACKAGE.rglob("__init__.py")}
    assert found <= listed, f"packages missing from pyproject.toml: {sorted(found - listed)}"

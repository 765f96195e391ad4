"""Expression trees for rates, derived parameters and outputs, and their safe parser.

Model files never run user text.  A formula such as
``g2c_pcnt * split / sum(split, over=service)`` is parsed with :mod:`ast` in
``eval`` mode and converted node by node into the small, closed set of
dataclasses below; anything outside that set (attribute access, lambdas,
comprehensions, unknown functions) is rejected with a message naming it.
The trees are then bound to index spaces and evaluated with numpy by
:mod:`simulator.core._compiler`.

Builders in Python can also write expressions directly, with operators::

    rate = Ref("success") * Ref("exit_rate")
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from simulator.core._elementwise import AGGREGATES, FUNCTIONS
from simulator.core._spaces import Space

__all__ = [
    "AGGREGATES",
    "FUNCTIONS",
    "Assemble",
    "Binary",
    "Call",
    "Expr",
    "FormulaError",
    "IfElse",
    "Num",
    "Ref",
    "Take",
    "Unary",
    "as_expr",
    "parse",
    "refs",
]


class FormulaError(ValueError):
    """A formula could not be parsed, or uses something outside the allowed set."""


class Expr:
    """Base class of expression nodes; supports arithmetic operators for builders."""

    def _bin(self, op: str, other: object, swap: bool = False) -> Expr:
        o = as_expr(other)
        return Binary(op, o, self) if swap else Binary(op, self, o)

    def __add__(self, o: object) -> Expr:
        return self._bin("+", o)

    def __radd__(self, o: object) -> Expr:
        return self._bin("+", o, True)

    def __sub__(self, o: object) -> Expr:
        return self._bin("-", o)

    def __rsub__(self, o: object) -> Expr:
        return self._bin("-", o, True)

    def __mul__(self, o: object) -> Expr:
        return self._bin("*", o)

    def __rmul__(self, o: object) -> Expr:
        return self._bin("*", o, True)

    def __truediv__(self, o: object) -> Expr:
        return self._bin("/", o)

    def __rtruediv__(self, o: object) -> Expr:
        return self._bin("/", o, True)

    def __pow__(self, o: object) -> Expr:
        return self._bin("**", o)

    def __rpow__(self, o: object) -> Expr:
        return self._bin("**", o, True)

    def __neg__(self) -> Expr:
        return Unary("-", self)


@dataclass(frozen=True, eq=True)
class Num(Expr):
    """A constant."""

    value: float

    def __str__(self) -> str:
        return repr(float(self.value))


@dataclass(frozen=True, eq=True)
class Ref(Expr):
    """A reference by name: a parameter, derived value, series, stock, flow, or ``time``."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, eq=True)
class Unary(Expr):
    """``-a`` or ``not a``."""

    op: str
    a: Expr

    def __str__(self) -> str:
        return f"({self.op}{self.a})" if self.op == "-" else f"(not {self.a})"


@dataclass(frozen=True, eq=True)
class Binary(Expr):
    """Arithmetic (``+ - * / **``), comparison or boolean (``and``, ``or``) of two operands."""

    op: str
    a: Expr
    b: Expr

    def __str__(self) -> str:
        return f"({self.a} {self.op} {self.b})"


@dataclass(frozen=True, eq=True)
class Call(Expr):
    """A whitelisted function; ``over`` names the dimensions an aggregate sums away."""

    fn: str
    args: tuple[Expr, ...]
    over: tuple[str, ...] | None = None

    def __str__(self) -> str:
        inner = ", ".join(str(a) for a in self.args)
        if self.over is not None:
            inner += ", over=[" + ", ".join(self.over) + "]"
        return f"{self.fn}({inner})"


@dataclass(frozen=True, eq=True)
class IfElse(Expr):
    """``a if cond else b``, elementwise."""

    cond: Expr
    a: Expr
    b: Expr

    def __str__(self) -> str:
        return f"({self.a} if {self.cond} else {self.b})"


@dataclass(frozen=True, eq=True)
class Take(Expr):
    """Elements of ``a`` picked along one dimension by label (subscripts of imported models).

    With ``to=None``, ``labels`` holds one label: that element is selected and
    ``dim`` is dropped (Vensim ``x[a1]``).  Otherwise the elements whose
    ``dim`` label is in ``labels`` are kept and label ``labels[j]`` becomes
    label ``relabel[j]`` (default: the same label) of dimension ``to``: a
    restriction to a subrange (``to == dim``), a renamed copy of a dimension,
    or a Vensim subscript mapping.  Builders create these nodes; formula text
    has no syntax for them.
    """

    a: Expr
    dim: str
    labels: tuple[str, ...]
    to: str | None = None
    relabel: tuple[str, ...] | None = None

    def __str__(self) -> str:
        if self.to is None:
            return f"{self.a}[{self.dim}={self.labels[0]!r}]"
        return f"take({self.a}, {self.dim} -> {self.to}, {list(self.labels)})"


@dataclass(frozen=True, eq=True)
class Assemble(Expr):
    """A value defined piece by piece: ``parts[k]`` gives the elements of ``spaces[k]``.

    The pieces' element sets are disjoint and share their dimensions; the
    result lives on their union (Vensim equations defined per subrange or per
    element).  Builders create these nodes; formula text has no syntax for them.
    """

    parts: tuple[Expr, ...]
    spaces: tuple[Space, ...]

    def __str__(self) -> str:
        return "assemble(" + ", ".join(str(p) for p in self.parts) + ")"


def as_expr(x: object) -> Expr:
    """Turn a number, a name or a formula string into an expression.

    Parameters
    ----------
    x
        An expression, a number or a formula string.

    Returns
    -------
    Expr
        The expression.
    """
    if isinstance(x, Expr):
        return x
    if isinstance(x, bool):
        return Num(float(x))
    if isinstance(x, int | float):
        return Num(float(x))
    if isinstance(x, str):
        return parse(x)
    raise FormulaError(f"cannot use {type(x).__name__} {x!r} as a formula")


def refs(e: Expr) -> Iterator[str]:
    """All names an expression refers to (with repeats).

    Parameters
    ----------
    e
        An expression.

    Yields
    ------
    str
        Each name, in the order it appears.
    """
    if isinstance(e, Ref):
        yield e.name
    elif isinstance(e, Unary):
        yield from refs(e.a)
    elif isinstance(e, Binary):
        yield from refs(e.a)
        yield from refs(e.b)
    elif isinstance(e, Call):
        for a in e.args:
            yield from refs(a)
    elif isinstance(e, IfElse):
        yield from refs(e.cond)
        yield from refs(e.a)
        yield from refs(e.b)
    elif isinstance(e, Take):
        yield from refs(e.a)
    elif isinstance(e, Assemble):
        for p in e.parts:
            yield from refs(p)


_BINOPS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
}
_CMPOPS = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
}


def parse(text: str) -> Expr:
    """Parse a formula into an expression tree without evaluating anything.

    Allowed: numbers, names, ``+ - * / **`` (``^`` is accepted as power),
    comparisons, ``and``/``or``/``not``, ``a if c else b``, and calls of the
    functions in :data:`FUNCTIONS` and :data:`AGGREGATES`; aggregates take
    ``over=dim`` or ``over=[dim, ...]``.

    Parameters
    ----------
    text
        The formula.

    Returns
    -------
    Expr
        Its expression tree.

    Raises
    ------
    FormulaError
        With the offending piece of text.
    """
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("empty formula")
    src = text.replace("^", "**")
    try:
        tree = ast.parse(src.strip(), mode="eval")
    except SyntaxError as err:
        raise FormulaError(f"cannot parse {text!r}: {err.msg}") from None
    return _convert(tree.body, text)


def _convert(node: ast.AST, text: str) -> Expr:
    def bad(what: str) -> FormulaError:
        piece = ast.get_source_segment(text.replace("^", "**"), node) or what
        return FormulaError(f"{what} is not allowed in formulas: {piece!r}")

    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise bad("a non-numeric constant")
        return Num(float(node.value))
    if isinstance(node, ast.Name):
        return Ref(node.id)
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            return Unary("-", _convert(node.operand, text))
        if isinstance(node.op, ast.UAdd):
            return _convert(node.operand, text)
        if isinstance(node.op, ast.Not):
            return Unary("not", _convert(node.operand, text))
        raise bad("this operator")
    if isinstance(node, ast.BinOp):
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise bad("this operator")
        return Binary(op, _convert(node.left, text), _convert(node.right, text))
    if isinstance(node, ast.BoolOp):
        op = "and" if isinstance(node.op, ast.And) else "or"
        joined = _convert(node.values[0], text)
        for v in node.values[1:]:
            joined = Binary(op, joined, _convert(v, text))
        return joined
    if isinstance(node, ast.Compare):
        left = _convert(node.left, text)
        out: Expr | None = None
        for op_node, right_node in zip(node.ops, node.comparators):
            op = _CMPOPS.get(type(op_node))
            if op is None:
                raise bad("this comparison")
            right = _convert(right_node, text)
            term = Binary(op, left, right)
            out = term if out is None else Binary("and", out, term)
            left = right
        assert out is not None
        return out
    if isinstance(node, ast.IfExp):
        return IfElse(_convert(node.test, text), _convert(node.body, text), _convert(node.orelse, text))
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise bad("calling this")
        fn = node.func.id
        if fn not in FUNCTIONS and fn not in AGGREGATES:
            allowed = ", ".join(sorted(set(FUNCTIONS) | AGGREGATES))
            raise FormulaError(f"unknown function {fn!r} in {text!r}; allowed: {allowed}")
        args = tuple(_convert(a, text) for a in node.args)
        over: tuple[str, ...] | None = None
        for kw in node.keywords:
            if kw.arg != "over":
                raise bad(f"keyword {kw.arg!r}")
            over = _dim_list(kw.value, text)
        if over is not None or (fn in AGGREGATES and fn not in FUNCTIONS):
            if len(args) != 1:
                raise FormulaError(f"{fn}() over dimensions takes one expression: {text!r}")
            return Call(fn, args, over if over is not None else ())
        if fn in ("min", "max") and len(args) == 1:
            return Call(fn, args, ())
        arity = FUNCTIONS[fn]
        if (arity is None and len(args) < 2) or (arity is not None and len(args) != arity):
            want = "two or more" if arity is None else str(arity)
            raise FormulaError(f"{fn}() takes {want} arguments in {text!r}")
        return Call(fn, args)
    raise bad(type(node).__name__)


def _dim_list(node: ast.AST, text: str) -> tuple[str, ...]:
    items = node.elts if isinstance(node, ast.List | ast.Tuple) else [node]
    dims = []
    for it in items:
        if isinstance(it, ast.Name):
            dims.append(it.id)
        elif isinstance(it, ast.Constant) and isinstance(it.value, str):
            dims.append(it.value)
        else:
            raise FormulaError(f"over= takes dimension names in {text!r}")
    return tuple(dims)

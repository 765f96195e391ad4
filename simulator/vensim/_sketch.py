"""The sketch of an exported model: where Vensim draws each variable, valve, pipe and arrow.

Vensim's ``.mdl`` files end with a sketch in its own line format (``V300``):
``10`` lines are variables (shape 3: a stock box, 8: a plain variable, 40: the
variable attached to a flow valve), ``11`` lines valves, ``12`` clouds and ``1``
lines arrows (pipes carry code 4 at the end the flow goes to and 100 at the
end it comes from; influence arrows carry 64).  The layout is plain: stocks in
a row, each flow's valve between its stocks (a cloud where it comes from or
goes to outside), every other variable on a grid beneath, and an arrow from
each variable to the variables whose equations use it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from simulator.core._formulas import refs
from simulator.vensim._mdl_parts import MdlVar
from simulator.vensim._names import vensim_name

__all__ = ["sketch"]

_HEADER = (
    "\\\\\\---/// Sketch information - do not modify anything except names\n"
    "V300  Do not put anything below this section - it will be ignored\n"
    "*View 1\n"
    "$192-192-192,0,Times New Roman|12||0-0-0|0-0-0|0-0-255|-1--1--1|-1--1--1|72,72,100,0\n"
)


def sketch(variables: Mapping[str, MdlVar], helpers: Sequence[MdlVar], t0: float, final: float) -> str:
    """The sketch section of a ``.mdl`` file.

    Parameters
    ----------
    variables
        The model's variables by Upstream name, in the order they are written.
    helpers
        The helper variables the writer added (tables, gathers, sums).
    t0, final
        INITIAL TIME and FINAL TIME (model time units), for the settings lines.

    Returns
    -------
    str
        The sketch, from its header to its settings lines.
    """
    c = _Canvas()
    stocks = [v for v in variables.values() if v.kind == "stock"]
    for k, s in enumerate(stocks):
        c.var(s.name, 200 + 420 * k, 200, 3)
    moving = [v for v in variables.values() if v.kind == "flow" and v.flow is not None and v.flow.moves]
    for k, v in enumerate(moving):
        _place_flow(c, k, v)
    rest = [v for v in [*variables.values(), *helpers] if v.name not in c.ids]
    for k, v in enumerate(rest):
        c.var(v.name, 120 + 190 * (k % 6), 480 + 60 * (k // 6), 8, 49, 8)
    for v in [*variables.values(), *helpers]:
        used = set(v.refs)
        if v.kind == "flow" and v.flow is not None:
            used |= set(refs(v.flow.rate))
            used.add(v.flow.of or v.flow.source or "")
        for r in sorted(used):
            if r in c.ids and r != v.name:
                c.arrow(c.ids[r], c.ids[v.name], 0)
    first = next(iter(variables), "")
    settings = (
        "///---\\\\\\\n:L<%^E!@\n1:Current.vdf\n9:Current\n15:0,0,0,0,0,0\n19:100,0\n27:2,\n34:0,\n"
        f"4:Time\n5:{vensim_name(first)}\n24:{_n(t0)}\n25:{_n(final)}\n26:{_n(final)}\n"
    )
    return _HEADER + "\n".join(c.lines) + "\n" + settings


class _Canvas:
    """The sketch's lines so far, each object's number and position, and each variable's object."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.ids: dict[str, int] = {}
        self.pos: dict[int, tuple[int, int]] = {}
        self.count = 0

    def new(self, x: int, y: int) -> int:
        """Number a new object at ``(x, y)``."""
        self.count += 1
        self.pos[self.count] = (x, y)
        return self.count

    def var(self, name: str, x: int, y: int, shape: int, width: int = 40, height: int = 20) -> int:
        """A variable (shape 3: stock, 8: plain, 40: attached to a valve)."""
        i = self.new(x, y)
        self.lines.append(f"10,{i},{vensim_name(name)},{x},{y},{width},{height},{shape},3,0,0,0,0,0,0")
        self.ids[name] = i
        return i

    def arrow(self, a: int, b: int, code: int, flags: int = 64) -> None:
        """An arrow from object ``a`` to ``b`` (``flags`` 64: influence, 0: pipe)."""
        (xa, ya), (xb, yb) = self.pos[a], self.pos[b]
        mx, my = (xa + xb) // 2, (ya + yb) // 2
        i = self.new(mx, my)
        thick = 22 if flags != 64 else 0  # pipes are drawn thick, influence arrows thin
        self.lines.append(f"1,{i},{a},{b},{code},0,0,{thick},0,{flags},0,-1--1--1,,1|({mx},{my})|")


def _place_flow(c: _Canvas, k: int, v: MdlVar) -> None:
    """The ``k``-th flow that moves people: its valve between its stocks (a cloud outside), pipes."""
    f = v.flow
    assert f is not None
    src, dst = c.ids.get(f.source or ""), c.ids.get(f.target or "")
    ys = 200 + 70 * ((k % 5) - 2) if src and dst else 200
    xs = [c.pos[i][0] for i in (src, dst) if i]
    x = sum(xs) // len(xs) + (0 if src and dst else (-160 if dst else 160)) if xs else 100 + 150 * k
    if src and dst and src == dst:
        x += 120
    cloud = 0
    if not (src and dst):
        cx = x - 120 if dst else x + 120
        cloud = c.new(cx, ys)
        c.lines.append(f"12,{cloud},48,{cx},{ys},10,8,0,3,0,0,-1,0,0,0")
    valve = c.new(x, ys)
    c.lines.append(f"11,{valve},48,{x},{ys},6,8,34,3,0,0,1,0,0,0")
    c.var(v.name, x, ys + 18, 40, 49, 8)
    c.arrow(valve, dst or cloud, 4, 0)
    c.arrow(valve, src or cloud, 100, 0)


def _n(x: float) -> str:
    return str(int(x)) if float(x) == int(x) else repr(float(x))

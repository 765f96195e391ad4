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

from typing import TYPE_CHECKING

from simulator.core._formulas import refs
from simulator.vensim._names import vensim_name

if TYPE_CHECKING:  # pragma: no cover
    from simulator.vensim._writer import _Writer

__all__ = ["sketch"]

_HEADER = (
    "\\\\\\---/// Sketch information - do not modify anything except names\n"
    "V300  Do not put anything below this section - it will be ignored\n"
    "*View 1\n"
    "$192-192-192,0,Times New Roman|12||0-0-0|0-0-0|0-0-255|-1--1--1|-1--1--1|72,72,100,0\n"
)


def sketch(w: _Writer) -> str:
    """The sketch section for the variables of writer ``w``."""
    lines: list[str] = []
    ids: dict[str, int] = {}
    pos: dict[int, tuple[int, int]] = {}
    counter = [0]

    def new(x: int, y: int) -> int:
        counter[0] += 1
        pos[counter[0]] = (x, y)
        return counter[0]

    def var(name: str, x: int, y: int, shape: int, width: int = 40, height: int = 20) -> int:
        i = new(x, y)
        lines.append(f"10,{i},{vensim_name(name)},{x},{y},{width},{height},{shape},3,0,0,0,0,0,0")
        ids[name] = i
        return i

    def arrow(a: int, b: int, code: int, flags: int = 64) -> None:
        (xa, ya), (xb, yb) = pos[a], pos[b]
        mx, my = (xa + xb) // 2, (ya + yb) // 2
        i = new(mx, my)
        thick = 22 if flags != 64 else 0  # pipes are drawn thick, influence arrows thin
        lines.append(f"1,{i},{a},{b},{code},0,0,{thick},0,{flags},0,-1--1--1,,1|({mx},{my})|")

    stocks = [v for v in w.vars.values() if v.kind == "stock"]
    for k, s in enumerate(stocks):
        var(s.name, 200 + 420 * k, 200, 3)
    moving = [v for v in w.vars.values() if v.kind == "flow" and v.flow is not None and v.flow.moves]
    for k, v in enumerate(moving):
        f = v.flow
        src, dst = ids.get(f.source or ""), ids.get(f.target or "")
        ys = 200 + 70 * ((k % 5) - 2) if src and dst else 200
        xs = [pos[i][0] for i in (src, dst) if i]
        x = sum(xs) // len(xs) + (0 if src and dst else (-160 if dst else 160)) if xs else 100 + 150 * k
        if src and dst and src == dst:
            x += 120
        cloud = None
        if not (src and dst):
            cx = x - 120 if dst else x + 120
            cloud = new(cx, ys)
            lines.append(f"12,{cloud},48,{cx},{ys},10,8,0,3,0,0,-1,0,0,0")
        valve = new(x, ys)
        lines.append(f"11,{valve},48,{x},{ys},6,8,34,3,0,0,1,0,0,0")
        var(v.name, x, ys + 18, 40, 49, 8)
        arrow(valve, dst or cloud, 4, 0)
        arrow(valve, src or cloud, 100, 0)
    rest = [v for v in [*w.vars.values(), *w.helpers] if v.name not in ids]
    for k, v in enumerate(rest):
        var(v.name, 120 + 190 * (k % 6), 480 + 60 * (k // 6), 8, 49, 8)
    for v in [*w.vars.values(), *w.helpers]:
        used = set(v.refs)
        if v.kind == "flow" and v.flow is not None:
            used |= set(refs(v.flow.rate))
            used.add(v.flow.of or v.flow.source or "")
        for r in sorted(used):
            if r in ids and r != v.name:
                arrow(ids[r], ids[v.name], 0)
    first = next(iter(w.vars), "")
    settings = (
        "///---\\\\\\\n:L<%^E!@\n1:Current.vdf\n9:Current\n15:0,0,0,0,0,0\n19:100,0\n27:2,\n34:0,\n"
        f"4:Time\n5:{vensim_name(first)}\n24:{_n(w.t0)}\n25:{_n(w.final)}\n26:{_n(w.final)}\n"
    )
    return _HEADER + "\n".join(lines) + "\n" + settings


def _n(x: float) -> str:
    return str(int(x)) if float(x) == int(x) else repr(float(x))

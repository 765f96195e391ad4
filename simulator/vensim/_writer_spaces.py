"""The first layer of the Vensim writer: names, subscript ranges and the space of every value.

:class:`SpaceWriter` holds the state of one export (the model's parts by name,
the ranges and variables written so far) and answers where values live: the
Vensim name of each Upstream name (checked to be unique, as Vensim ignores
case, spaces and underscores), the range of each dimension or sparse element
set, the 0/1 membership and mapping tables between them, and the space of
every name and expression, aligned as :class:`simulator.core._bind.Binder`
aligns it.  :mod:`._writer_equations` writes equations on top of it.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

from simulator.core._bind import Binder
from simulator.core._formulas import AGGREGATES, Binary, Call, Expr, IfElse, Num, Ref, Unary
from simulator.core._nodes import Placeholder as _Placeholder
from simulator.core._spaces import SCALAR, Space, dense_space
from simulator.core._spec import Flow, ModelSpec, Series
from simulator.vensim._mdl_parts import ExportError, MdlRange, MdlVar, element_label
from simulator.vensim._names import normal, vensim_label, vensim_name

__all__ = ["SpaceWriter"]


class SpaceWriter:
    """Names, ranges and spaces of one ``.mdl`` export (see the module docstring)."""

    def __init__(self, spec: ModelSpec, dt: float, t0: float, final: float, every: float, unit: str):
        self.spec, self.dt, self.t0, self.final, self.every, self.unit = spec, dt, t0, final, every, unit
        self.params = {p.name: p for p in spec.params}
        self.series = {s.name: s for s in spec.series}
        self.auxes = {a.name: a for a in spec.auxes}
        self.stocks = {s.name: s for s in spec.stocks}
        self.flows = {f.name: f for f in spec.flows}
        self.outputs = {o.name: o for o in spec.outputs}
        self.ranges: dict[tuple, MdlRange] = {}
        self.vars: dict[str, MdlVar] = {}
        self.helpers: list[MdlVar] = []
        self.maps: dict[tuple[str, str], str] = {}
        self.names: dict[str, str] = {}  # normal key -> what uses it
        self.space_cache: dict[str, Space] = {}
        self.stock_order: dict[str, tuple[str, ...]] = {}
        self.lookup_tables: set[str] = set()
        self.lookup_terms: dict[str, list[str]] = {}
        self.binder = Binder(spec)
        self.tables: dict[tuple, str] = {}
        self.step_series: dict[str, Series] = {}
        self.step_helpers: dict[str, str] = {}
        self.densified: dict[str, str] = {}
        self._check_names()

    # ------------------------------------------------------------------ names
    def _claim(self, vname: str, what: str) -> None:
        key = normal(vname)
        if key in self.names and self.names[key] != what:
            raise ExportError(
                f"{what} and {self.names[key]} have the same Vensim name {vname!r} "
                "(Vensim ignores case, spaces and underscores)"
            )
        self.names[key] = what

    def _check_names(self) -> None:
        for kind, items in (
            ("parameter", self.params),
            ("series", self.series),
            ("derived value", self.auxes),
            ("stock", self.stocks),
            ("flow", self.flows),
            ("output", self.outputs),
        ):
            for n in items:
                self._claim(vensim_name(n), f"{kind} {n!r}")
        for d in self.spec.dims:
            if d.endswith("__x"):
                continue
            self._claim(self._dim_name(d), f"dimension {d!r}")

    def _dim_name(self, dim: str) -> str:
        v = vensim_name(dim)
        return v[:1].upper() + v[1:] if not v.startswith('"') else v

    def new_name(self, base: str, what: str) -> str:
        """A new Upstream-style name (``base``, ``base_2`` ...) whose Vensim name is still free.

        Parameters
        ----------
        base, what
            The wanted name, and what claims it (for the clash message).

        Returns
        -------
        str
            The first free Upstream name.
        """
        name, i = base, 2
        while normal(vensim_name(name)) in self.names or name in self.space_cache:
            name = f"{base}_{i}"
            i += 1
        self._claim(vensim_name(name), what)
        return name

    def fresh(self, base: str, what: str) -> str:
        """A Vensim name not used yet (``base``, ``base 2``, ...)."""
        name, i = base, 2
        while normal(name) in self.names:
            name = f"{base} {i}"
            i += 1
        self._claim(name, what)
        return name

    # ------------------------------------------------------------------ spaces
    def is_dense(self, space: Space) -> bool:
        """Whether ``space`` holds every combination of its dimensions' labels.

        Parameters
        ----------
        space
            A value space.

        Returns
        -------
        bool
        """
        if not space.dims:
            return True
        full = math.prod(len(self.spec.dims[d]) for d in space.dims)
        return full == len(space)

    def dense(self, dims: Sequence[str]) -> Space:
        """The full space over ``dims`` (scalar when there are none)."""
        return dense_space(tuple(dims), self.spec.dims) if dims else SCALAR

    def dim_range(self, dim: str) -> MdlRange:
        """The subscript range of one dimension (made on first use).

        Parameters
        ----------
        dim
            The dimension's name.

        Returns
        -------
        MdlRange
        """
        key = ("dim", dim)
        if key not in self.ranges:
            labels = tuple(self.spec.dims[dim])
            vl = tuple(vensim_label(x) for x in labels)
            if len({normal(x) for x in vl}) != len(vl):
                raise ExportError(f"labels of dimension {dim!r} differ only in case or spaces: {labels}")
            self.ranges[key] = MdlRange(self._dim_name(dim), vl, (dim,), tuple((x,) for x in labels))
        return self.ranges[key]

    def sparse_range(self, space: Space) -> MdlRange:
        """The one-dimensional range of a sparse element set (``Path``), made on first use.

        Parameters
        ----------
        space
            The sparse space.

        Returns
        -------
        MdlRange
        """
        key = ("sparse", space.dims, frozenset(space.coords))
        if key not in self.ranges:
            names = self.spec.meta.get("element_names", {}) if isinstance(self.spec.meta, Mapping) else {}
            base = names.get(",".join(space.dims)) if isinstance(names, Mapping) else None
            base = base or "_".join(space.dims) + "_elements"
            name = self.fresh(self._dim_name(base), f"range of {space.dims}")
            joined = [element_label(c) for c in space.coords]
            if len({normal(j) for j in joined}) != len(joined):
                joined = [f"{name[:1]}{i + 1}" for i in range(len(space))]
            labels = tuple(vensim_label(j) for j in joined)
            doc = f"elements of ({', '.join(space.dims)}) that exist, written as " + " / ".join(space.dims)
            self.ranges[key] = MdlRange(name, labels, space.dims, space.coords, doc)
        return self.ranges[key]

    def subs(self, space: Space, order: Sequence[str] | None = None, bang: Collection[str] = ()) -> str:
        """Subscripts for a variable over ``space`` (``[Group, Condition]`` or ``[Path]``).

        Parameters
        ----------
        space, order, bang
            The variable's space, its dimensions' order, and dimensions to mark ``!`` (summed along).

        Returns
        -------
        str
            ``""`` for a scalar.
        """
        if not space.dims:
            return ""
        if self.is_dense(space):
            dims = order or space.dims
            return "[" + ", ".join(self.dim_range(d).name + ("!" if d in bang else "") for d in dims) + "]"
        r = self.sparse_range(space)
        return f"[{r.name}{'!' if set(space.dims) <= set(bang) else ''}]"

    def map_name(self, space: Space, dim: str) -> str:
        """The 0/1 membership table of a sparse range in one dimension (``path to group``).

        Parameters
        ----------
        space, dim
            The sparse space and one of its dimensions.

        Returns
        -------
        str
            The table's Vensim name.
        """
        r = self.sparse_range(space)
        key = (r.name, dim)
        if key not in self.maps:
            name = self.fresh(f"{r.name.lower()} to {self.dim_range(dim).name.lower()}", f"map {key}")
            labels = self.spec.dims[dim]
            k = space.dims.index(dim)
            rows = []
            for c in r.coords:
                rows.append(", ".join("1" if c[k] == lab else "0" for lab in labels))
            eq = ";\n\t\t".join(rows) + ";"
            doc = f"1 where the element of {r.name} has this {dim}, else 0"
            lhs = f"{name}[{r.name}, {self.dim_range(dim).name}]"
            self.helpers.append(MdlVar(name, SCALAR, eq, "Dmnl", doc, "constant", lhs=lhs))
            self.maps[key] = name
        return self.maps[key]

    # ------------------------------------------------------------------ space inference
    def space_of_name(self, name: str) -> Space:
        """The space a name's values live on (cached).

        Parameters
        ----------
        name
            An Upstream name (parameter, series, stock, flow, derived value or output).

        Returns
        -------
        Space
        """
        if name in self.space_cache:
            return self.space_cache[name]
        if name in ("time", "t", "dt"):
            sp = SCALAR
        elif name in self.params:
            sp = self.params[name].space
        elif name in self.series:
            sp = self.series[name].space
        elif name in self.stocks:
            sp = self.stocks[name].space
        elif name in self.auxes:
            a = self.auxes[name]
            sp = a.space if a.space is not None else self.space_of(a.expr)
        elif name in self.flows:
            sp = self.flow_space(self.flows[name])
        elif name in self.outputs:
            sp = self.space_of(self.outputs[name].expr)
        else:
            raise ExportError(f"unknown name {name!r}")
        self.space_cache[name] = sp
        return sp

    def flow_space(self, f: Flow) -> Space:
        """The space of a flow: its own, or its stock's (outflow, inflow) or parent flow's (fraction)."""
        if f.space is not None:
            return f.space
        if f.kind == "outflow":
            return self.stocks[f.of or f.source].space  # type: ignore[index]
        if f.kind == "fraction":
            return self.flow_space(self.flows[f.of])  # type: ignore[index]
        return self.stocks[f.target].space  # type: ignore[index]

    def align(self, spaces: Sequence[Space]) -> Space:
        """The space the binder aligns terms onto (asked of :class:`simulator.core._bind.Binder` itself)."""
        if not any(s.dims for s in spaces):
            return SCALAR
        _, target = self.binder.align([_Placeholder(s) for s in spaces])
        return target

    def space_of(self, e: Expr) -> Space:
        """The space an expression's values live on, as the binder aligns it.

        Parameters
        ----------
        e
            A formula expression.

        Returns
        -------
        Space
        """
        if isinstance(e, Num):
            return SCALAR
        if isinstance(e, Ref):
            return self.space_of_name(e.name)
        if isinstance(e, Unary):
            return self.space_of(e.a)
        if isinstance(e, Binary):
            return self.align([self.space_of(e.a), self.space_of(e.b)])
        if isinstance(e, IfElse):
            return self.align([self.space_of(e.cond), self.space_of(e.a), self.space_of(e.b)])
        if isinstance(e, Call):
            if e.fn in ("cumsum", "rcumsum"):
                return self.space_of(e.args[0])
            if e.over is not None and e.fn in AGGREGATES:
                child = self.space_of(e.args[0])
                over = e.over or child.dims
                keep = tuple(d for d in child.dims if d not in over)
                return child.sub(keep) if keep else SCALAR
            if e.fn == "lookup":
                table = self.params[e.args[0].name].space  # type: ignore[attr-defined]
                elems = table.sub(table.dims[:-1]) if len(table.dims) > 1 else SCALAR
                return self.align([elems, self.space_of(e.args[1])])
            return self.align([self.space_of(a) for a in e.args])
        raise ExportError(f"cannot write {type(e).__name__} nodes ({e}) in Vensim")

    def copy_range(self, dim: str) -> str:
        """A copy of a dimension's range (``Stage from <-> Stage``), to sum along it beside itself."""
        key = ("copy", dim)
        if key not in self.ranges:
            base = self.dim_range(dim)
            name = self.fresh(f"{base.name} from", f"copy of {dim}")
            self.ranges[key] = MdlRange(
                name, base.labels, (dim,), base.coords, f"a copy of {base.name}", base.name
            )
        return self.ranges[key].name

    def dim_table(self, base: str, dims: tuple[str, str], rows, doc: str) -> str:
        """A 0/1 constant over a dimension and its copy (or one dimension: ``rows`` a single row).

        Parameters
        ----------
        base, dims, rows, doc
            Base name, ``(dimension, copy range)``, the 0/1 rows, and the comment written with it.

        Returns
        -------
        str
            The table's Vensim name.
        """
        key = (base, dims, str(rows))
        if key not in self.tables:
            name = self.fresh(base, f"table {base}")
            eq = ";\n\t\t".join(", ".join(str(v) for v in r) for r in rows) + ";"
            lhs = f"{name}[{self.dim_range(dims[0]).name}, {dims[1]}]"
            self.helpers.append(MdlVar(name, SCALAR, eq, "Dmnl", doc, "constant", lhs=lhs))
            self.tables[key] = name
        return self.tables[key]

    def at_table(self, dim: str, label: str) -> str:
        """A 0/1 constant over one dimension: 1 at ``label`` (people arriving at a fixed label).

        Parameters
        ----------
        dim, label
            The dimension and its label holding the 1.

        Returns
        -------
        str
            The table's Vensim name.
        """
        key = ("at", dim, label)
        if key not in self.tables:
            r = self.dim_range(dim)
            name = self.fresh(f"{r.name.lower()} at {len(self.tables) + 1}", f"table at {dim}={label}")
            eq = ", ".join("1" if lab == label else "0" for lab in self.spec.dims[dim])
            doc = f"1 at {dim} {label!r}, where the flow arrives"
            self.helpers.append(MdlVar(name, SCALAR, eq, "Dmnl", doc, "constant", lhs=f"{name}[{r.name}]"))
            self.tables[key] = name
        return self.tables[key]

    def order_of(self, name: str, sp: Space) -> tuple[str, ...]:
        """The order of ``name``'s dimensions in the file (a stock's may differ, see ``_order_stocks``)."""
        return self.stock_order.get(name, sp.dims)

    def _lhs(self, name: str, space: Space) -> str:
        return vensim_name(name) + self.subs(space, self.order_of(name, space))

    def _shape(self, sp: Space) -> tuple[int, ...]:
        if not self.is_dense(sp):
            return (len(sp),)
        return tuple(len(self.spec.dims[d]) for d in sp.dims)

    def _element_subs(self, sp: Space, coords: tuple[str, ...]) -> str:
        """Subscripts naming one element: ``[Parents, IAPT]`` or, on a sparse range, ``["a / b"]``."""
        if not sp.dims:
            return ""
        if self.is_dense(sp):
            labels = [self.dim_range(d).labels[self.spec.dims[d].index(c)] for d, c in zip(sp.dims, coords)]
            return "[" + ", ".join(labels) + "]"
        r = self.sparse_range(sp)
        return "[" + r.labels[r.coords.index(tuple(coords))] + "]"

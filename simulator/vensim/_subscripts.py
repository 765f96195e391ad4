"""Vensim subscripts: ranges, subranges, copies and mappings, as Upstream dimensions.

Every subscript range of an imported model becomes an Upstream dimension
(named as PySD names it, ``One Dim`` -> ``one_dim``) holding the range's
elements.  A variable lives on the dimensions its equations' left-hand sides
cover (PySD's rule: the range whose elements are exactly those defined, else
the smallest range holding them).  A reference such as ``x[SubA, b1]`` or
``m[DimA!, DimB]`` inside an equation is turned into :class:`~simulator.core._formulas.Take`
steps that select, restrict, rename or map dimensions so that Upstream's
by-name alignment reproduces Vensim's positional subscripts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any

from simulator.core._formulas import Expr, Take
from simulator.vensim._names import Namespace, normal, unquote

__all__ = ["Piece", "SubscriptError", "Subscripts"]


#: how a reference moves one dimension: (source, its labels, target, labels it takes there or None)
_Rename = tuple[str, tuple[str, ...], str, tuple[str, ...] | None]


class SubscriptError(ValueError):
    """A subscript that cannot be resolved (unknown name, no matching range)."""


@dataclass
class Piece:
    """One equation of a variable: its left-hand-side subscripts and the elements it defines."""

    lhs: tuple[str, ...]  # normal keys of ranges or elements, one per position
    coords: tuple[tuple[str, ...], ...]  # element labels defined by this equation
    ast: Any = None  # PySD's abstract syntax tree (or numbers) of the right-hand side
    kind: str = ""


@dataclass
class Subscripts:
    """The ranges of a model: elements, the dimension each becomes, and mappings."""

    elements: dict[str, tuple[str, ...]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    dim: dict[str, str] = field(default_factory=dict)
    maps_to: dict[str, list[str]] = field(default_factory=dict)
    label: dict[str, str] = field(default_factory=dict)
    extra_dims: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_abstract(cls, ranges: Sequence[Any]) -> Subscripts:
        """Read PySD's ``AbstractSubscriptRange`` list (definitions, copies, subranges in ranges).

        Parameters
        ----------
        ranges
            PySD's ``AbstractSubscriptRange`` objects.

        Returns
        -------
        Subscripts
        """
        out = cls()
        raw: dict[str, list[str] | str] = {}
        for r in ranges:
            key = normal(r.name)
            out.names[key] = unquote(r.name)
            subs = r.subscripts
            if isinstance(subs, dict):
                raise SubscriptError(
                    f"subscript range {r.name!r} is read from a file (GET XLS/DIRECT SUBSCRIPT)"
                )
            raw[key] = subs if isinstance(subs, str) else list(subs)
            out.maps_to[key] = [normal(m) for m in (r.mapping or [])]
            if isinstance(subs, str):
                out.maps_to[key].append(normal(subs))

        def expand(key: str, seen: tuple[str, ...] = ()) -> tuple[str, ...]:
            if key in seen:
                raise SubscriptError(f"subscript range {out.names[key]!r} is defined in terms of itself")
            d = raw[key]
            if isinstance(d, str):
                if normal(d) not in raw:
                    raise SubscriptError(f"subscript range {out.names[key]!r} copies unknown range {d!r}")
                return expand(normal(d), (*seen, key))
            labels: list[str] = []
            for s in d:
                k = normal(s)
                if k in raw and k != key:
                    labels.extend(expand(k, (*seen, key)))
                else:
                    labels.append(unquote(s))
            return tuple(labels)

        ns = Namespace()
        for key in raw:
            out.elements[key] = expand(key)
            out.dim[key] = ns.add(out.names[key])
            for lab in out.elements[key]:
                out.label.setdefault(normal(lab), lab)
        return out

    # ------------------------------------------------------------------ queries
    def is_range(self, s: str) -> bool:
        """Whether ``s`` names a subscript range.

        Parameters
        ----------
        s
            A subscript as written (a trailing ``!`` is ignored).

        Returns
        -------
        bool
        """
        return normal(s.rstrip().rstrip("!")) in self.elements

    def is_element(self, s: str) -> bool:
        """Whether ``s`` names a subscript element."""
        return normal(s) in self.label

    def labels_of(self, s: str) -> tuple[str, ...]:
        """Elements named by a range or a single element.

        Parameters
        ----------
        s
            A range (a trailing ``!`` is ignored) or element.

        Returns
        -------
        tuple of str
        """
        key = normal(s.rstrip().rstrip("!"))
        if key in self.elements:
            return self.elements[key]
        if key in self.label:
            return (self.label[key],)
        raise SubscriptError(f"unknown subscript {s!r}")

    @property
    def dims(self) -> dict[str, tuple[str, ...]]:
        """Upstream dimensions: one per range, plus any made for sums over a dimension in use."""
        return {**{self.dim[k]: v for k, v in self.elements.items()}, **self.extra_dims}

    # ------------------------------------------------------------------ variables
    def final_dims(self, pieces: Sequence[Sequence[str]], owner: str) -> list[str]:
        """The range (normal key) each position of a variable lives on, from all its equations.

        Parameters
        ----------
        pieces, owner
            Each equation's subscripts, and the variable's name (for error messages).

        Returns
        -------
        list of str
            One range key per position.
        """
        width = {len(p) for p in pieces}
        if len(width) != 1:
            raise SubscriptError(f"{owner}: equations with different numbers of subscripts")
        n = width.pop()
        chosen: list[str] = []
        used_ranges = [{normal(p[i]) for p in pieces if self.is_range(p[i])} for i in range(n)]
        for i in range(n):
            coords = {lab for p in pieces for lab in self.labels_of(p[i])}
            others = set().union(*(used_ranges[j] for j in range(n) if j != i), chosen)
            pick = next(
                (normal(p[i]) for p in pieces if self.is_range(p[i]) and set(self.labels_of(p[i])) == coords),
                None,
            )
            if pick is None:
                pick = next(
                    (k for k, v in self.elements.items() if set(v) == coords and k not in others),
                    None,
                )
            if pick is None:
                fits = [k for k, v in self.elements.items() if coords <= set(v) and k not in others]
                pick = min(fits, key=lambda k: len(self.elements[k])) if fits else None
            if pick is None:
                # the range is taken by another position: use a copy of it (PySD does the same)
                same = [k for k, v in self.elements.items() if set(v) == coords]
                pick = self.copy_range(same[0]) if same else None
            if pick is None:
                raise SubscriptError(f"{owner}: no subscript range holds the elements {sorted(coords)}")
            chosen.append(pick)
        return chosen

    def copy_range(self, key: str) -> str:
        """A new range with the elements of ``key`` (``Dim`` -> ``Dim1``), for a second position.

        Parameters
        ----------
        key
            The range to copy (normal key).

        Returns
        -------
        str
            The new range's normal key.
        """
        j = 1
        while normal(self.names[key] + str(j)) in self.elements:
            j += 1
        name = self.names[key] + str(j)
        new = normal(name)
        self.elements[new] = self.elements[key]
        self.names[new] = name
        self.maps_to[new] = [key]
        taken = set(self.dim.values())
        ident = self.dim[key] + str(j)
        while ident in taken:
            ident += "_"
        self.dim[new] = ident
        return new

    def main_range(self, key: str) -> str:
        """The largest range holding the elements of ``key`` (first declared on ties).

        Parameters
        ----------
        key
            A range's normal key.

        Returns
        -------
        str
        """
        mine = set(self.elements[key])
        holders = [k for k, v in self.elements.items() if mine <= set(v)]
        return max(holders, key=lambda k: len(self.elements[k]))

    def piece(self, lhs: Sequence[str], excepts: Sequence[Sequence[str]], ast: object) -> Piece:
        """The elements one equation defines (its subscripts, less any :EXCEPT: combinations).

        Parameters
        ----------
        lhs, excepts, ast
            The equation's subscripts, its :EXCEPT: groups, and its parsed right-hand side.

        Returns
        -------
        Piece
        """
        per = [self.labels_of(s) for s in lhs]
        coords = list(product(*per))
        for group in excepts or ():
            sets = [set(self.labels_of(s)) for s in group]
            coords = [c for c in coords if not all(c[i] in sets[i] for i in range(len(sets)))]
        return Piece(tuple(normal(s) for s in lhs), tuple(coords), ast)

    # ------------------------------------------------------------------ references
    def reference(
        self,
        expr: Expr,
        var_dims: Sequence[str],
        subs: Sequence[str],
        lhs: Sequence[str],
        lhs_dims: Sequence[str],
        owner: str,
        unmatched_bang: bool = False,
    ) -> tuple[Expr, set[str]]:
        """Apply the subscripts of a reference ``x[subs]`` to ``expr`` (``x`` over ``var_dims``).

        Parameters
        ----------
        var_dims
            Range keys of the referenced variable's dimensions.
        subs
            The subscripts written in the reference (ranges, ``range!`` or elements).
        lhs, lhs_dims
            The equation's left-hand-side subscripts and the ranges its variable lives on.
        unmatched_bang
            Treat a range that matches no left-hand-side subscript as marked ``!``
            (XMILE's one-argument MIN and MAX).

        Returns
        -------
        expr, bang
            The reference on the equation's dimensions, and the Upstream dimensions
            marked ``!`` (to be summed by the enclosing SUM/PROD/VMIN/VMAX).
        """
        if len(subs) != len(var_dims):
            raise SubscriptError(f"{owner}: {len(subs)} subscripts for a variable with {len(var_dims)}")
        bang: set[str] = set()
        renames: list[_Rename] = []
        for j, s in enumerate(subs):
            e = var_dims[j]
            edim = self.dim[e]
            is_bang = s.strip().endswith("!")
            key = normal(s.strip().rstrip("!"))
            if key in self.elements:
                rename, summed = self._range_subscript(key, e, is_bang, lhs, lhs_dims, owner, unmatched_bang)
                renames.append(rename)
                if summed:
                    bang.add(rename[2])
            elif key in self.label:
                lab = self.label[key]
                if lab not in self.elements[e]:
                    raise SubscriptError(f"{owner}: element {lab!r} is not in {self.names[e]!r}")
                expr = Take(expr, edim, (lab,))
            else:
                raise SubscriptError(f"{owner}: unknown subscript {s.strip()!r}")
        return self._rename(expr, renames), bang

    def _range_subscript(
        self,
        key: str,
        e: str,
        is_bang: bool,
        lhs: Sequence[str],
        lhs_dims: Sequence[str],
        owner: str,
        unmatched_bang: bool,
    ) -> tuple[_Rename, bool]:
        """How a range subscript ``key``, at a position over range ``e``, moves that dimension.

        Returns ``(source dim, labels, target dim, relabel)`` and whether the target
        is marked ``!`` (to be summed).
        """
        edim = self.dim[e]
        lhs_dim_names = [self.dim[d] for d in lhs_dims]
        labels = self.elements[key]
        missing = [lab for lab in labels if lab not in self.elements[e]]
        if missing:
            raise SubscriptError(
                f"{owner}: elements {missing} of {self.names[key]!r} are not in {self.names[e]!r}"
            )
        if not is_bang and unmatched_bang and self._match(key, lhs, lhs_dims) is None:
            is_bang = True
        if is_bang:
            target = self.dim[key]
            if target in lhs_dim_names:
                target = f"{target}__sum"
                self.extra_dims[target] = labels
            return (edim, labels, target, None), True
        i = self._match(key, lhs, lhs_dims)
        if i is None:
            raise SubscriptError(
                f"{owner}: subscript {self.names[key]!r} matches none of the equation's "
                f"subscripts {[self.names.get(x, x) for x in lhs]}"
            )
        relabel = None
        if self._mapped(key, lhs[i]):
            relabel = self.elements[lhs[i]]
            if len(relabel) != len(labels):
                raise SubscriptError(
                    f"{owner}: mapping {self.names[key]!r} -> {self.names[lhs[i]]!r} "
                    "needs ranges of the same length"
                )
        return (edim, labels, lhs_dim_names[i], relabel), False

    def _rename(self, expr: Expr, renames: list[_Rename]) -> Expr:
        """Apply the dimension moves of a reference's range subscripts to ``expr``."""
        # identity renames are no-ops; others go through temporary names when they could clash
        todo = [r for r in renames if not (r[0] == r[2] and r[3] is None and r[1] == self.dims.get(r[0], ()))]
        sources = {r[0] for r in todo}
        clash = any(r[2] in sources and r[2] != r[0] for r in todo)
        if clash:
            for k, (src, labels, _, relabel) in enumerate(todo):
                expr = Take(expr, src, labels, f"__tmp{k}", relabel)
            for k, (_, labels, dst, relabel) in enumerate(todo):
                expr = Take(expr, f"__tmp{k}", relabel or labels, dst)
        else:
            for src, labels, dst, relabel in todo:
                expr = Take(expr, src, labels, dst, relabel)
        return expr

    def _mapped(self, a: str, b: str) -> bool:
        return (b in self.maps_to.get(a, ()) or a in self.maps_to.get(b, ())) and a != b

    def _match(self, key: str, lhs: Sequence[str], lhs_dims: Sequence[str]) -> int | None:
        """The left-hand-side position a reference range ``key`` runs along."""
        for i, s in enumerate(lhs):
            if s == key:
                return i
        for i, s in enumerate(lhs):
            if s in self.elements and self._mapped(key, s):
                return i
        mine = set(self.elements[key])
        best = None
        for i, s in enumerate(lhs):
            if s not in self.elements:
                continue
            if lhs_dims[i] == key or set(self.elements[s]) & mine:
                if best is None or lhs_dims[i] == key:
                    best = i
        return best

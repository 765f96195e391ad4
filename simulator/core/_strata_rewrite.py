"""Formula rewriting for strata: pooled sums, and the unstratified copies of multiplied values.

Used by :mod:`simulator.core._strata_transform`.  Two rules:

* an aggregate (``sum``, ``max`` ...) over a *pooled* dimension (``group`` by
  default) of something that carries the stratum dimension ``D`` also runs over
  ``D``: a service's capacity, caseload and waiting list are shared by the
  people of every stratum;
* in the parts of a model that are not stratified (stocks without a group
  dimension, such as a capacity model's background demand and its pooled
  wait-band queue), a multiplied parameter, or a value derived from one, is read
  through its unstratified copy (``NAME_unstratified``).
"""

from __future__ import annotations

from simulator.core._formulas import AGGREGATES, Assemble, Binary, Call, Expr, IfElse, Ref, Take, Unary

__all__ = ["BASE_SUFFIX", "Rewriter", "renamed"]

#: suffix of the unstratified copy of a multiplied parameter or a value derived from one
BASE_SUFFIX = "_unstratified"


class Rewriter:
    """Rewrites formulas for the stratum dimension ``dim``.

    Parameters
    ----------
    dim
        The stratum dimension.
    pool
        Dimensions whose aggregates also run over ``dim``.
    carriers
        Names whose values carry ``dim``.
    base
        Names read through their unstratified copy in base mode (multiplied
        parameters and values derived only from parameters).
    """

    def __init__(self, dim: str, pool: set[str], carriers: set[str], base: set[str]):
        self.dim, self.pool, self.carriers, self.base = dim, pool, carriers, base
        self._base_mode = False

    def rewrite(self, e: Expr, base: bool = False) -> tuple[Expr, bool]:
        """``e`` rewritten, and whether the result carries the stratum.

        Parameters
        ----------
        e
            A formula.
        base
            Read multiplied values through their unstratified copies (outside pooled aggregates).

        Returns
        -------
        tuple of (Expr, bool)
            The formula and whether it carries the stratum dimension.
        """
        self._base_mode = base
        try:
            return self._go(e)
        finally:
            self._base_mode = False

    def carries(self, e: Expr, through: set[str]) -> bool:
        """Whether ``e`` carries the stratum through the names ``through`` (pooled sums aside).

        Parameters
        ----------
        e
            A formula.
        through
            The names that count.

        Returns
        -------
        bool
            ``True`` if a name of ``through`` appears outside every pooled aggregate.
        """
        saved = self.carriers
        self.carriers = through
        try:
            return self._go(e)[1]
        finally:
            self.carriers = saved

    def _go(self, e: Expr) -> tuple[Expr, bool]:
        if isinstance(e, Ref):
            if self._base_mode and e.name in self.base:
                return Ref(e.name + BASE_SUFFIX), False
            return e, e.name in self.carriers
        if isinstance(e, Unary):
            a, ca = self._go(e.a)
            return Unary(e.op, a), ca
        if isinstance(e, Binary):
            (a, ca), (b, cb) = self._go(e.a), self._go(e.b)
            return Binary(e.op, a, b), ca or cb
        if isinstance(e, IfElse):
            parts = [self._go(x) for x in (e.cond, e.a, e.b)]
            return IfElse(parts[0][0], parts[1][0], parts[2][0]), any(c for _, c in parts)
        if isinstance(e, Call):
            return self._call(e)
        if isinstance(e, Take):
            a, ca = self._go(e.a)
            return Take(a, e.dim, e.labels, e.to, e.relabel), ca
        if isinstance(e, Assemble):
            parts = [self._go(p) for p in e.parts]
            return Assemble(tuple(p for p, _ in parts), e.spaces), any(c for _, c in parts)
        return e, False

    def _call(self, e: Call) -> tuple[Expr, bool]:
        # an aggregate over a pooled dimension, or over the stratum itself (a model's own form)
        pooling = e.fn in AGGREGATES and e.over is not None and bool((self.pool | {self.dim}) & set(e.over))
        mode = self._base_mode
        if pooling:  # a pooled aggregate's argument keeps its strata; they are summed here
            self._base_mode = False
        args = [self._go(a) for a in e.args]
        carried = any(c for _, c in args)
        if pooling and not carried and mode:
            self._base_mode = True
            args = [self._go(a) for a in e.args]
        self._base_mode = mode
        over = e.over
        if e.fn in AGGREGATES and over is not None:  # (min/max of several terms: element by element)
            if not over:  # over every dimension, strata included
                carried = False
            elif carried and pooling:
                over = over if self.dim in over else (*over, self.dim)
                carried = False
        return Call(e.fn, tuple(a for a, _ in args), over), carried


def renamed(e: Expr, names: set[str]) -> Expr:
    """``e`` reading each of ``names`` through its unstratified copy (``NAME_unstratified``).

    Parameters
    ----------
    e
        A formula.
    names
        The names to read through their copies.

    Returns
    -------
    Expr
        The formula.
    """
    return Rewriter("", set(), set(), names).rewrite(e, base=True)[0]

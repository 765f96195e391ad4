"""Index spaces: the labelled element sets that stocks, flows and parameters live on.

A *space* is an ordered tuple of named dimensions plus the list of elements that
exist, each element being one label per dimension.  A space may be dense (every
combination of labels) or sparse (only some combinations: the surge model's
580 (group, condition, service) paths out of 6,528 possible ones).

Everything that links two families of elements (a flow to its source stock, a
parameter to the flow it scales, a sum over a dimension) reduces to one of two
array operations computed once at compile time:

* a *projection* ``p`` from a space ``A`` onto a space ``B`` whose dimensions are
  a subset of ``A``'s: ``p[i]`` is the element of ``B`` that carries the same
  labels as element ``i`` of ``A`` (used to gather ``B``-valued arrays onto ``A``);
* an *aggregation* from ``A`` to ``B``: the transpose of the projection, a sum
  over the dropped dimensions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import product

import numpy as np

__all__ = ["SCALAR", "Space", "SpaceError", "aggregation_matrix", "dense_space", "joined_space"]


class SpaceError(ValueError):
    """Raised when two spaces cannot be aligned (a label missing, dimensions clash)."""


@dataclass(frozen=True)
class Space:
    """An ordered set of labelled elements over named dimensions.

    Parameters
    ----------
    dims
        Dimension names, e.g. ``("group", "condition", "service")``; ``()`` for a scalar.
    coords
        One tuple of labels per element, in element order, each of length ``len(dims)``.
    """

    dims: tuple[str, ...]
    coords: tuple[tuple[str, ...], ...] = field(repr=False)

    def __post_init__(self) -> None:
        width = len(self.dims)
        if len(set(self.dims)) != width:
            raise SpaceError(f"repeated dimension in {self.dims}")
        for c in self.coords:
            if len(c) != width:
                raise SpaceError(f"element {c} does not have one label for each of {self.dims}")
        if len(set(self.coords)) != len(self.coords):
            raise SpaceError(f"duplicate elements in space over {self.dims}")

    @property
    def size(self) -> int:
        """Number of elements."""
        return len(self.coords)

    def __len__(self) -> int:
        return len(self.coords)

    @cached_property
    def position(self) -> Mapping[tuple[str, ...], int]:
        """Map from an element's labels to its position.

        Returns
        -------
        Mapping
            Position of each element (a tuple of labels).
        """
        return {c: i for i, c in enumerate(self.coords)}

    def labels(self, dim: str) -> tuple[str, ...]:
        """Labels of ``dim`` for every element, in element order.

        Parameters
        ----------
        dim
            A dimension of the space.

        Returns
        -------
        tuple of str
            One label per element.
        """
        k = self.dims.index(dim)
        return tuple(c[k] for c in self.coords)

    def unique_labels(self, dim: str) -> tuple[str, ...]:
        """Distinct labels of ``dim`` in order of first appearance.

        Parameters
        ----------
        dim
            Which dimension.

        Returns
        -------
        tuple of str
            Each label once.
        """
        return tuple(dict.fromkeys(self.labels(dim)))

    def is_subspace_of(self, other: Space) -> bool:
        """Whether every dimension of ``self`` is a dimension of ``other``.

        Parameters
        ----------
        other
            Another space.

        Returns
        -------
        bool
            ``True`` if ``self`` can be gathered onto ``other``.
        """
        return set(self.dims) <= set(other.dims)

    def sub(self, dims: Sequence[str]) -> Space:
        """The space of distinct label combinations of ``dims`` present in ``self``.

        Parameters
        ----------
        dims
            Some dimensions of the space.

        Returns
        -------
        Space
            The combinations, in order of first appearance.
        """
        keep = [self.dims.index(d) for d in dims]
        seen = dict.fromkeys(tuple(c[k] for k in keep) for c in self.coords)
        return Space(tuple(dims), tuple(seen))

    def projection(self, onto: Space) -> np.ndarray:
        """Index of the element of ``onto`` that each element of ``self`` falls in.

        ``onto.dims`` must be a subset of ``self.dims``.  Raises
        :class:`SpaceError` naming the first element with no counterpart.

        Parameters
        ----------
        onto
            A space over some of this space's dimensions.

        Returns
        -------
        numpy.ndarray
            Position in ``onto`` of each element, shape ``(len(self),)``.
        """
        if not onto.is_subspace_of(self):
            raise SpaceError(f"cannot project {self.dims} onto {onto.dims}: dimensions differ")
        if onto.dims == self.dims and onto.coords == self.coords:
            return np.arange(self.size, dtype=np.intp)
        keep = [self.dims.index(d) for d in onto.dims]
        pos = onto.position
        out = np.empty(self.size, dtype=np.intp)
        for i, c in enumerate(self.coords):
            key = tuple(c[k] for k in keep)
            j = pos.get(key)
            if j is None:
                label = ", ".join(f"{d}={v!r}" for d, v in zip(onto.dims, key))
                raise SpaceError(f"no element ({label}) over {onto.dims}")
            out[i] = j
        return out

    def restrict(self, mask: Iterable[bool]) -> Space:
        """The sub-list of elements where ``mask`` is true.

        Parameters
        ----------
        mask
            One flag per element.

        Returns
        -------
        Space
            The elements kept.
        """
        return Space(self.dims, tuple(c for c, m in zip(self.coords, mask) if m))


SCALAR = Space((), ((),))


def dense_space(dims: Sequence[str], labels: Mapping[str, Sequence[str]]) -> Space:
    """The full cartesian product of the labels of ``dims`` (row-major order).

    Parameters
    ----------
    dims
        Dimension names.
    labels
        Labels of each dimension.

    Returns
    -------
    Space
        Every combination of labels.
    """
    dims = tuple(dims)
    return Space(dims, tuple(product(*(tuple(labels[d]) for d in dims))))


def joined_space(a: Space, b: Space, order: Mapping[str, Sequence[str]]) -> Space:
    """Elements of ``a`` and ``b`` combined where they agree on shared dimensions.

    A term over (service) times a term over (stage) lives on every (service,
    stage) pair of the services and stages the terms actually have, not on
    every label of the model.

    Parameters
    ----------
    a, b
        The spaces of two terms.
    order
        Labels of every dimension of the model (the order of dimensions and labels).

    Returns
    -------
    Space
        The combined elements, in the model's order.
    """
    dims = tuple(d for d in order if d in a.dims or d in b.dims)
    shared = [d for d in a.dims if d in b.dims]
    ia = [a.dims.index(d) for d in shared]
    ib = [b.dims.index(d) for d in shared]
    by_key: dict[tuple, list[tuple[str, ...]]] = {}
    for cb in b.coords:
        by_key.setdefault(tuple(cb[i] for i in ib), []).append(cb)
    coords = []
    for ca in a.coords:
        for cb in by_key.get(tuple(ca[i] for i in ia), []):
            labels = dict(zip(a.dims, ca)) | dict(zip(b.dims, cb))
            coords.append(tuple(labels[d] for d in dims))
    rank = [{lab: i for i, lab in enumerate(order[d])} for d in dims]
    coords.sort(key=lambda c: tuple(r[x] for r, x in zip(rank, c)))
    return Space(dims, tuple(coords))


class SegmentSum:
    """Sum the columns of ``values (rows, n_in)`` into ``n_out`` bins: ``out[:, index[i]] += w_i * v[:, i]``.

    Stored as a CSR matrix ``(n_out, n_in)`` and applied as ``(S @ values.T).T``:
    for the skinny products of a time step this is several times faster than a
    dense BLAS product and never materialises the mostly-zero dense matrix.
    """

    def __init__(self, index: np.ndarray, n_out: int, weights: np.ndarray | None = None):
        from scipy import sparse

        index = np.asarray(index, dtype=np.intp)
        n_in = len(index)
        w = np.ones(n_in) if weights is None else np.asarray(weights, dtype=float)
        self.index, self.n_in, self.n_out = index, n_in, n_out
        self.weights = w
        self.matrix = sparse.csr_matrix((w, (index, np.arange(n_in))), shape=(n_out, n_in))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """Binned sums, shape ``(rows, n_out)``."""
        return np.asarray(self.matrix @ values.T).T

    def scaled(self, w: np.ndarray) -> SegmentSum:
        """The same bins with each input column weighted by ``w`` (shape ``(n_in,)``).

        Parameters
        ----------
        w
            Weight of each input column.

        Returns
        -------
        SegmentSum
            The weighted segment sum.
        """
        return SegmentSum(self.index, self.n_out, self.weights * np.asarray(w, dtype=float))

    @property
    def dense(self) -> np.ndarray:
        """The matrix as a dense ``(n_in, n_out)`` array (for small reports and tests)."""
        return self.matrix.T.toarray()


def aggregation_matrix(index: np.ndarray, n_out: int, weights: np.ndarray | None = None) -> SegmentSum:
    """Segment sum of ``len(index)`` columns into ``n_out`` bins; ``A(values)`` applies it.

    Parameters
    ----------
    index
        Bin of each input column.
    n_out
        Number of bins.
    weights
        Weight of each input column (default 1).

    Returns
    -------
    SegmentSum
        The segment sum.
    """
    return SegmentSum(index, n_out, weights)

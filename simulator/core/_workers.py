"""Running chunks of members in parallel: forked worker processes or threads.

A step of a model is a few dozen numpy calls on small arrays, so much of its
time is Python holding the GIL: threads share one interpreter and barely
scale.  Where the platform can ``fork`` (Linux, macOS with the fork start
method), chunks run in forked worker processes instead.  The children inherit
the compiled model, the parameter arrays and the closure that runs a chunk;
they write their results into **shared memory** (anonymous ``mmap``), so
nothing is pickled but the chunk bounds.  Results are bit-identical to a
serial run: each chunk is computed by the same code on the same inputs.

Elsewhere (Windows, inside a daemonic dask worker, or when
``UPSTREAM_PARALLEL=threads``) chunks run on threads as before.
"""

from __future__ import annotations

import mmap
import multiprocessing as mp
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

import numpy as np

__all__ = ["WorkerError", "can_fork", "is_shared", "parallel_map", "run_chunks", "shared_empty"]

Bounds = tuple[int, int]


class WorkerError(RuntimeError):
    """A worker process stopped before its work was done (killed, or out of memory)."""


_DIED = (
    "a worker process stopped before its members were run (killed, or out of memory?): "
    "run fewer members at once, or with fewer workers"
)
#: the chunk runner the forked children call (set just before the pool forks)
_JOB: Callable[[Bounds], Bounds] | None = None
#: the function and items of :func:`parallel_map` (inherited by the forked children)
_MAP: tuple[Callable, Sequence] | None = None


def shared_empty(shape: Sequence[int], dtype=float, align_rows: bool = False) -> np.ndarray:
    """An uninitialised array in memory that forked worker processes write into.

    Anonymous shared ``mmap``: pages are allocated when first touched, and a
    child's writes are seen by the parent.  Each process maps a shared page the
    first time *it* touches it, so with ``align_rows`` every row (last axis)
    starts on a page boundary (the array is a view of a wider one): workers
    writing separate page-sized ranges of members never touch each other's
    pages.

    Parameters
    ----------
    shape
        Shape of the array.
    dtype
        Its numpy dtype.
    align_rows
        Start every row on a page boundary.

    Returns
    -------
    numpy.ndarray
        The array (uninitialised).
    """
    shape = tuple(int(n) for n in shape)
    full = shape
    if align_rows and shape:
        per_page = max(mmap.PAGESIZE // np.dtype(dtype).itemsize, 1)
        full = (*shape[:-1], -(-shape[-1] // per_page) * per_page)
    count = int(np.prod(full, dtype=np.int64))
    size = max(count * np.dtype(dtype).itemsize, 1)
    buf = mmap.mmap(-1, size)
    arr = np.frombuffer(buf, dtype=dtype, count=count).reshape(full)
    return arr[..., : shape[-1]] if full != shape else arr


def is_shared(a: np.ndarray) -> bool:
    """Whether ``a`` (or what it views) lives in memory made by :func:`shared_empty`.

    Parameters
    ----------
    a
        An array.

    Returns
    -------
    bool
        ``True`` if forked workers' writes to ``a`` are seen here.
    """
    b: object = a
    while b is not None:
        if isinstance(b, mmap.mmap):
            return True
        b = getattr(b, "base", None) if isinstance(b, np.ndarray) else getattr(b, "obj", None)
    return False


def can_fork() -> bool:
    """Whether chunks may run in forked processes here.

    Returns
    -------
    bool
        ``False`` off POSIX, in daemonic processes, or with ``UPSTREAM_PARALLEL=threads``.
    """
    if os.environ.get("UPSTREAM_PARALLEL", "").lower() == "threads":
        return False
    if os.name != "posix" or "fork" not in mp.get_all_start_methods():
        return False
    return not mp.current_process().daemon  # daemonic (e.g. dask) workers cannot have children


def _call(ab: Bounds) -> Bounds:
    assert _JOB is not None
    return _JOB(ab)


def run_chunks(
    one: Callable[[Bounds], Bounds],
    bounds: Sequence[Bounds],
    workers: int,
    progress: Callable[[int], None] | None,
    processes: bool,
) -> None:
    """Run ``one`` on every chunk: serially, on forked processes, or on threads.

    With ``processes``, ``one`` must write its results into shared memory.

    Parameters
    ----------
    one
        Runs the members ``[a, b)`` of one chunk and returns ``(a, b)``.
    bounds
        The chunks, ``(a, b)`` each.
    workers
        Number of processes or threads.
    progress
        Called with the number of members done after each chunk, or ``None``.
    processes
        Fork processes (``True``) or use threads.
    """
    global _JOB
    if workers <= 1 or len(bounds) == 1:
        for ab in bounds:
            one(ab)
            if progress:
                progress(ab[1] - ab[0])
        return
    if processes:
        _JOB = one
        try:
            # a worker that dies (killed, out of memory) breaks the pool with an error here
            # (multiprocessing.Pool would replace it and wait for its chunk for ever); this
            # process takes every n-th chunk itself: one fork fewer (a fork of a 300 MB process
            # costs about 17 ms on a 2-core VM), and no core waits on it
            n = min(workers, len(bounds))
            with ProcessPoolExecutor(n - 1, mp_context=mp.get_context("fork")) as pool:
                pending = {pool.submit(_call, ab) for i, ab in enumerate(bounds) if i % n}
                try:
                    for ab in bounds[::n]:
                        a, b = one(ab)
                        if progress:
                            progress(b - a)
                        for f in [f for f in pending if f.done()]:
                            pending.discard(f)
                            a, b = f.result()
                            if progress:
                                progress(b - a)
                    for f in as_completed(pending):
                        a, b = f.result()
                        if progress:
                            progress(b - a)
                except BaseException:
                    for f in pending:  # an error here or in a worker: the chunks not started never run
                        f.cancel()
                    raise
        except BrokenProcessPool:
            raise WorkerError(_DIED) from None
        finally:
            _JOB = None
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for a, b in pool.map(one, bounds):
            if progress:
                progress(b - a)


def _map_call(i: int):
    assert _MAP is not None
    fn, items = _MAP
    return fn(items[i])


def parallel_map(fn: Callable, items: Sequence, workers: int | None = None) -> list:
    """``[fn(x) for x in items]`` on forked processes (threads where forking is not possible).

    The items and the function are inherited by the children, not pickled; only
    the results travel back, so this suits large inputs and small outputs
    (quantiles of many members, draws for a block).  Order is kept.

    Parameters
    ----------
    fn
        The function.
    items
        Its arguments.
    workers
        Number of processes (default: the number of CPUs).

    Returns
    -------
    list
        ``fn`` of each item, in order.
    """
    global _MAP
    n = workers or (os.cpu_count() or 1)
    if n <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    if not can_fork():
        with ThreadPoolExecutor(max_workers=n) as pool:
            return list(pool.map(fn, items))
    _MAP = (fn, items)
    try:
        with ProcessPoolExecutor(min(n, len(items)), mp_context=mp.get_context("fork")) as pool:
            return list(pool.map(_map_call, range(len(items))))
    except BrokenProcessPool:
        raise WorkerError(_DIED) from None
    finally:
        _MAP = None

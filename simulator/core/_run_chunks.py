"""Chunked execution: members run in cache-sized chunks on forked processes or threads."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from threadpoolctl import ThreadpoolController

from simulator.core._compiler import CompiledModel
from simulator.core._guard import check_recorded
from simulator.core._jit_backend import resolve_backend
from simulator.core._kernel import RecordItem, integrate, member_params
from simulator.core._run_params import RunError, TimeGrid
from simulator.core._workers import can_fork, is_shared, run_chunks, shared_empty

__all__ = ["CHUNK_BYTES", "METHODS", "PAGE_MEMBERS", "default_chunk_size", "run_arrays"]

METHODS = ("euler", "rk4")

CHUNK_BYTES = 12_000_000


def default_chunk_size(cm: CompiledModel) -> int:
    """Members per chunk: the state, coefficients and buffers of a chunk stay near 12 MB.

    Measured on the England model (2 cores, 32 MB L3): 128-256 members per
    chunk run fastest; smaller chunks pay Python overhead per step, larger
    ones spill the cache.

    Parameters
    ----------
    cm
        The compiled model.

    Returns
    -------
    int
        Members per chunk, between 32 and 512.
    """
    per_member = 8 * (cm.n_stocks + 2 * sum(len(b.of) for b in cm.transfers))
    m = int(CHUNK_BYTES // max(per_member, 1))
    if any(b.value.state for b in cm.inflows):
        # formulas over the state (imported Vensim models) make a temporary per node and
        # step: 64-256 members per chunk ran fastest on the imported England model
        m = min(m, 128)
    return int(min(512, max(32, m)))


#: members of one page (4 KiB) of a member-last float64 array
PAGE_MEMBERS = 512


def run_arrays(
    cm: CompiledModel,
    params: Mapping[str, np.ndarray],
    members: int,
    grid: TimeGrid,
    record: Sequence[RecordItem],
    *,
    method: str = "euler",
    chunk_size: int | None = None,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    varying: frozenset[str] = frozenset(),
    param_at: Callable[[Mapping[str, np.ndarray], float], Mapping[str, np.ndarray]] | None = None,
    out: dict[str, np.ndarray] | None = None,
    allow_matrix: bool | None = None,
    after: Callable[[int, int, Mapping[str, np.ndarray]], None] | None = None,
    backend: str | None = None,
) -> dict[str, np.ndarray]:
    """Run ``members`` members in chunks; return name -> ``(members, reports, n_out)``.

    Chunks run on ``workers`` forked processes where the platform can fork,
    threads otherwise (default: every core; see :mod:`simulator.core._workers`).  The
    result does not depend on the chunk size, the number of workers or how they
    run.  ``out`` gives arrays to fill (e.g. views into a whole ensemble's
    storage; in shared memory they are written by the workers directly).
    ``allow_matrix`` (default: when no parameter has a member axis) lets the
    kernel use one constant step matrix; it is decided for the whole run so that
    chunking never changes a result.  ``after(a, b, values)`` is called where a
    chunk ran, once members ``a .. b-1`` are recorded (``values``: name ->
    their rows), to reduce them while they are in cache and in parallel; it may
    write only to shared memory (or, on threads, to rows ``a .. b-1``).  With
    ``after``, quantities not in ``out`` are passed to it and not returned.
    A stock that goes negative (unless the model allows it) or a value that is
    not finite stops the run with a :class:`RunError` (:mod:`simulator.core._guard`).

    Parameters
    ----------
    cm
        The compiled model.
    params
        Every parameter as ``(1 or members, n)`` (see :func:`prepare_params`).
    members
        Number of members.
    grid
        The time grid (steps and report times, months).
    record
        The recording plan (see :func:`make_record`).
    method, chunk_size, workers, progress, varying, param_at, out, allow_matrix, after
        As described above; ``progress(n)`` is told how many members each finished job ran.
    backend
        ``"compiled"`` or ``"numpy"`` (``None``: the process default; see
        :mod:`simulator.core._jit_backend`); results agree to rounding.

    Returns
    -------
    dict
        Recorded values by name, ``(members, reports, n_out)`` (people, or people per month).
    """
    if method not in METHODS:
        raise RunError(f"method must be one of {METHODS}, not {method!r}")
    backend = resolve_backend(backend)  # an unknown name is a RunError
    chunk = chunk_size or default_chunk_size(cm)
    bounds = [(a, min(members, a + chunk)) for a in range(0, members, chunk)]
    n_workers = workers or (os.cpu_count() or 1)
    # forked workers pay a fork per run: worth it from a few chunks per worker
    processes = n_workers > 1 and len(bounds) >= 2 * n_workers and can_fork()
    out = dict(out or {})
    alloc = shared_empty if processes else np.empty
    for r in record:
        # with ``after``, quantities the caller gave no array for live only while their chunk
        # is reduced (no whole-run storage, no pages to fault in)
        if not r.hidden and r.name not in out and after is None:
            out[r.name] = alloc((members, len(grid.report_steps), r.n_out))
    # the kernel is chosen for the whole run, so chunking never changes a result
    member = member_params(params)
    if allow_matrix is None:
        allow_matrix = not member
    # a caller's arrays in private memory are filled through shared copies
    target = {k: v if not processes or is_shared(v) else shared_empty(v.shape) for k, v in out.items()}
    one = _chunk_runner(
        cm, params, grid, record, target, (method, backend, member), varying, param_at, allow_matrix, after
    )
    # the first forked run of a kind in this process runs its first chunk here (see _run_all)
    kind = (backend, method, None if after is None else getattr(after, "__qualname__", type(after).__name__))
    first = processes and kind not in _WARMED
    _WARMED.add(kind)
    _run_all(one, bounds, chunk, target, n_workers, progress, (processes, first))
    for k, v in target.items():
        if v is not out[k]:
            out[k][...] = v
    return out


def _chunk_runner(
    cm: CompiledModel,
    params: Mapping[str, np.ndarray],
    grid: TimeGrid,
    record: Sequence[RecordItem],
    target: dict[str, np.ndarray],
    how: tuple[str, str, frozenset[str]],
    varying: frozenset[str],
    param_at: Callable[[Mapping[str, np.ndarray], float], Mapping[str, np.ndarray]] | None,
    allow_matrix: bool,
    after: Callable[[int, int, Mapping[str, np.ndarray]], None] | None,
) -> Callable[[tuple[int, int]], tuple[int, int]]:
    """The job that runs members ``a .. b-1`` into ``target`` (``how``: method, backend, member parameters)."""
    method, backend, member = how

    def one(ab: tuple[int, int]) -> tuple[int, int]:
        a, b = ab
        sub = {k: (v[a:b] if v.shape[0] > 1 else v) for k, v in params.items()}
        pa = None if param_at is None else (lambda t, _s=sub: param_at(_s, t))
        views = {k: v[a:b] for k, v in target.items()}
        res = integrate(
            cm,
            sub,
            members=b - a,
            t0=grid.t0,
            dt=grid.dt,
            n_steps=grid.n_steps,
            report_steps=grid.report_steps,
            record=record,
            method=method,
            varying=varying,
            param_at=pa,
            allow_matrix=allow_matrix,
            dest=views,
            backend=backend,
            member=member,
        )
        check_recorded(cm, res, grid.report_times)  # a value that is not finite stops the run
        for k, v in res.items():
            if k not in views:
                views[k] = v  # chunk-local (``after`` only)
            elif v is not views[k]:  # recorded straight into ``target`` otherwise
                target[k][a:b] = v
        if after is not None:
            after(a, b, views)
        return ab

    return one


#: kinds of forked run ``(backend, method, reducer)`` this process has run a first chunk of
_WARMED: set[tuple] = set()


def _run_all(
    one: Callable[[tuple[int, int]], tuple[int, int]],
    bounds: list[tuple[int, int]],
    chunk: int,
    target: Mapping[str, np.ndarray],
    n_workers: int,
    progress: Callable[[int], None] | None,
    how: tuple[bool, bool],
) -> None:
    """Run every chunk of ``bounds`` on the workers, one BLAS thread each (``how``: fork, first chunk here)."""
    processes, first_here = how
    # a forked worker maps each page of shared memory it touches once: where members are
    # the last (contiguous) axis of the caller's storage, a job of consecutive chunks
    # spanning a page's worth of members touches each page in one worker only
    member_last = any(v.ndim > 1 and v.strides[0] == v.itemsize for v in target.values())
    # one BLAS thread per worker: the small matrix products of a step only lose time to
    # BLAS's own threads, and chunks already run in parallel
    with _blas().limit(limits=1, user_api="blas"):
        if first_here:
            # the first chunk runs here: what a run compiles or imports on first use (the compiled
            # kernel, from numba's cache) is then inherited by the forked workers instead of being
            # done again in each of them at every fork, and no worker starts inside a half-done
            # import; later runs of the same kind fork at once (the workers inherit it)
            one(bounds[0])
            if progress:
                progress(bounds[0][1] - bounds[0][0])
            bounds = bounds[1:]
        if processes and member_last:
            per = max(1, min(-(-PAGE_MEMBERS // chunk), len(bounds) // (2 * n_workers)))
            jobs = [
                (bounds[i][0], bounds[min(i + per, len(bounds)) - 1][1]) for i in range(0, len(bounds), per)
            ]

            def job(ab: tuple[int, int]) -> tuple[int, int]:
                for c in bounds:
                    if ab[0] <= c[0] and c[1] <= ab[1]:
                        one(c)
                return ab

            run_chunks(job, jobs, n_workers, progress, processes)
        else:
            run_chunks(one, bounds, n_workers, progress, processes)


_CONTROLLER: ThreadpoolController | None = None


def _blas() -> ThreadpoolController:
    """The process's thread-pool controller (inspecting the loaded libraries once)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER

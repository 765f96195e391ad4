"""Resource budgets: the memory and time of a run or an ensemble, decided before any work starts.

An :class:`Estimate` counts the bytes a run will hold (integration state and
parameter arrays, recorded outputs, the members an ensemble keeps) and the time
it will take (member-steps times a per-member-step cost that grows with the size
of the model's state).  :func:`check_budget` refuses (:class:`BudgetError`, with
the estimate and how to proceed) a run that would need more memory than the
machine has available (``MemAvailable`` of ``/proc/meminfo``, else
:data:`FALLBACK_MEMORY`) or than a given limit (``--max-memory``).  The number of
steps of a run is capped separately (:data:`~simulator.core._run_params.MAX_STEPS`,
checked where the time grid is made).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from simulator.core._compiler import CompiledModel
from simulator.core._outputs import OutputDef
from simulator.core._run_chunks import CHUNK_BYTES, default_chunk_size
from simulator.core._run_params import RunError, TimeGrid

__all__ = [
    "FALLBACK_MEMORY",
    "BudgetError",
    "Estimate",
    "available_memory",
    "check_budget",
    "ensemble_estimate",
    "format_bytes",
    "format_seconds",
    "output_values",
    "parse_memory",
    "run_estimate",
]

#: memory assumed available where ``/proc/meminfo`` cannot be read
FALLBACK_MEMORY = 4 * 2**30
#: seconds per step of a chunk of members (Python's part), and per member, step and state
#: element (numpy's part); measured on the England model on 2 cores
CHUNK_STEP_SECONDS = 1.3e-4
ELEMENT_STEP_SECONDS = 7.5e-10
#: seconds per byte of labelled results (building and filling them)
RESULT_BYTE_SECONDS = 3e-9
#: seconds per member and reduced value of an ensemble (reductions, quantiles, sketches)
ENSEMBLE_VALUE_SECONDS = 1e-7
#: bins of one series of a streamed ensemble's quantile sketch (0.5% accuracy over 1e-6 .. 1e12)
SKETCH_BINS = 4200
#: Python's bookkeeping per block of a streamed ensemble, bytes
BLOCK_OVERHEAD = 4096
#: members per streamed block (as the ensembles use them)
STREAM_BLOCK = 4096
#: copies of a streamed block's reduced outputs alive while it is added to the sketch
STREAM_WORK = 6
_UNITS = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


class BudgetError(RunError):
    """A run or ensemble would need more memory than is available or allowed."""


@dataclass(frozen=True)
class Estimate:
    """What a run or an ensemble will need: bytes held and seconds taken (both approximate)."""

    what: str
    members: int
    steps: int
    state_bytes: int
    recorded_bytes: int
    kept_bytes: int
    seconds: float
    backend: str = ""  # the kernel backend that runs it (why numpy, on a fallback)

    @property
    def total_bytes(self) -> int:
        """Every byte counted: state, recorded outputs and kept members."""
        return self.state_bytes + self.recorded_bytes + self.kept_bytes

    def describe(self) -> str:
        """One line: members, steps, time and memory (with its parts).

        Returns
        -------
        str
            E.g. ``estimate for ...: 1,000 members x 48 steps, about 2 s, memory 85 MB (...)``.
        """
        parts = [f"state {format_bytes(self.state_bytes)}", f"recorded {format_bytes(self.recorded_bytes)}"]
        if self.kept_bytes:
            parts.append(f"kept members {format_bytes(self.kept_bytes)}")
        return (
            f"estimate for {self.what}: {self.members:,} member{'s' if self.members != 1 else ''} x "
            f"{self.steps:,} steps, about {format_seconds(self.seconds)}, memory "
            f"{format_bytes(self.total_bytes)} ({', '.join(parts)})"
            + (f"; backend {self.backend}" if self.backend else "")
        )


def format_bytes(n: float) -> str:
    """Bytes in words: ``512 B``, ``1.5 MB``, ``12 GB`` (powers of 1024).

    Parameters
    ----------
    n
        A number of bytes.

    Returns
    -------
    str
        The size with its unit.
    """
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1024 or unit == "PB":
            return f"{n:,.0f} {unit}" if unit == "B" or abs(n) >= 100 else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:,.0f} PB"  # pragma: no cover


def format_seconds(s: float) -> str:
    """A duration in words: ``0.3 s``, ``4 minutes``, ``2.5 hours``, ``3 days``, ``1,000 years``."""
    for limit, unit, size in (
        (60, "s", 1),
        (3600, "minutes", 60),
        (86400, "hours", 3600),
        (3.2e7, "days", 86400),
    ):
        if s < limit:
            return f"{s / size:.2g} {unit}" if s / size < 10 else f"{s / size:,.0f} {unit}"
    return f"{s / 3.15e7:,.0f} years"


def parse_memory(text: str | int | float) -> int:
    """Bytes from a size such as ``8GB``, ``512M``, ``2.5 g`` or a plain number of bytes.

    Parameters
    ----------
    text
        The size: a number with an optional unit (B, K/KB, M/MB, G/GB, T/TB; powers of 1024).

    Returns
    -------
    int
        Bytes.

    Raises
    ------
    ValueError
        When it is not a positive size.
    """
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmgt]?)(?:i?b)?\s*", str(text).lower())
    if m is None or float(m.group(1)) <= 0:
        raise ValueError(
            f"memory limit {text!r} is not a size; e.g. 8GB, 512MB (a positive number and a unit)"
        )
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def available_memory() -> tuple[int, str]:
    """Memory this machine has available now, and where the figure comes from.

    Returns
    -------
    tuple of (int, str)
        Bytes (``MemAvailable`` of ``/proc/meminfo``; else :data:`FALLBACK_MEMORY`)
        and a description of the source.
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "available on this machine"
    except (OSError, ValueError, IndexError):
        pass
    return FALLBACK_MEMORY, "assumed available (this machine does not say)"


def _state_elements(cm: CompiledModel) -> int:
    """Values the integrator updates per member and step: stocks, flows' coefficients, evaluated nodes."""
    transfers = sum(len(b.of) for b in cm.transfers)
    return int(cm.n_stocks + 2 * transfers + sum(len(s) for s in cm.flow_spaces.values()))


def _param_elements(cm: CompiledModel, varied: Iterable[str] | None) -> int:
    names = list(cm.defaults) if varied is None else [n for n in varied if n in cm.defaults]
    return int(sum(int(np.prod(cm.defaults[n].shape[1:])) for n in names))


def _seconds(cm: CompiledModel, members: int, steps: int, workers: int) -> float:
    chunks = -(-members // default_chunk_size(cm))
    busy = max(1, min(workers, chunks))
    work = chunks * CHUNK_STEP_SECONDS + float(members) * ELEMENT_STEP_SECONDS * _state_elements(cm)
    return steps * work / busy


def _chunks_state(cm: CompiledModel, members: int, workers: int) -> int:
    """State, coefficients and temporaries of the chunks running at once (about 3 x 12 MB each)."""
    chunk = default_chunk_size(cm)
    in_flight = min(-(-members // chunk), workers)
    per_member = 8 * _state_elements(cm)
    return int(in_flight * 3 * max(CHUNK_BYTES, min(members, chunk) * per_member))


def _workers(workers: int | None) -> int:
    return int(workers or os.cpu_count() or 1)


def run_estimate(
    cm: CompiledModel,
    members: int,
    grid: TimeGrid,
    recorded: Iterable[tuple[int, int]],
    *,
    params: Mapping[str, np.ndarray] | None = None,
    workers: int | None = None,
    what: str = "",
) -> Estimate:
    """The memory and time of one run of ``members`` members (:func:`~simulator.core._run.simulate`).

    Parameters
    ----------
    cm
        The compiled model.
    members
        Number of members.
    grid
        The time grid.
    recorded
        For each recorded quantity, the values it records per member and report time
        (``n_out`` of the plan) and the values of its labelled result (the product of
        its dimensions' lengths: sparse spaces are filled out).
    params
        Parameter arrays with their member axes (default: the model's, one member).
    workers
        Workers running chunks at once (default: every core).
    what
        What is estimated (default: ``run of <model>``).

    Returns
    -------
    Estimate
        Bytes and seconds.
    """
    n_w = _workers(workers)
    given = sum(a.size for a in (params or {}).values()) * 8
    state = _chunks_state(cm, members, n_w) + 2 * given  # parameters and their copies
    pairs = list(recorded)
    # the runner's storage (a shared copy where workers are processes), and the labelled
    # results built from it (and their temporaries)
    per_report = 2 * sum(n for n, _ in pairs) + 1.2 * sum(full for _, full in pairs)
    rec = members * len(grid.report_steps) * per_report * 8
    steps = grid.n_steps
    return Estimate(
        what or f"run of {cm.spec.name}",
        members,
        steps,
        int(state),
        int(rec),
        0,
        _seconds(cm, members, steps, n_w) + rec * RESULT_BYTE_SECONDS,
    )


def output_values(cm: CompiledModel, outputs: Sequence[OutputDef], n_times: int) -> int:
    """Values an ensemble reduces per member: each output's series and its three figures.

    Parameters
    ----------
    cm
        The compiled model.
    outputs
        The ensemble's reduced outputs.
    n_times
        Report times.

    Returns
    -------
    int
        Monthly values plus total, peak and peak month, over every output's kept elements.
    """
    dims = cm.spec.dims
    return int(sum(math.prod(len(dims[d]) for d in o.keep) * (n_times + 3) for o in outputs))


def ensemble_estimate(
    cm: CompiledModel,
    members: int,
    grid: TimeGrid,
    outputs: Sequence[OutputDef],
    *,
    keep: bool,
    varied: Iterable[str] | None = None,
    workers: int | None = None,
    what: str = "",
) -> Estimate:
    """The memory and time of an ensemble (kept members, or streamed in blocks).

    Parameters
    ----------
    cm
        The compiled model.
    members
        Ensemble size.
    grid
        The time grid.
    outputs
        The reduced outputs.
    keep
        Every member's reduced outputs are kept (else streamed: a block at a time,
        quantiles from a sketch).
    varied
        Parameters given a member axis (default: every parameter, an upper bound).
    workers
        Workers running chunks at once (default: every core).
    what
        What is estimated (default: ``ensemble of <model>``).

    Returns
    -------
    Estimate
        Bytes and seconds.
    """
    n_w = _workers(workers)
    values = output_values(cm, outputs, len(grid.report_steps))
    block = members if keep else min(members, STREAM_BLOCK)
    state = _chunks_state(cm, members, n_w) + 2 * block * 8 * _param_elements(cm, varied)
    if keep:
        # shared storage, the members' dataset and the sorted copies quantiles take
        kept = 3 * members * values * 8
        recorded = 0
    else:
        n_blocks = -(-members // STREAM_BLOCK)
        kept = 0
        # each block's means and squared deviations, the running and incoming sketches, and a
        # block's reduced outputs with the temporaries of adding them to a sketch
        recorded = (
            n_blocks * (2 * values * 8 + BLOCK_OVERHEAD)
            + 2 * values * SKETCH_BINS * 4
            + STREAM_WORK * block * values * 8
        )
    return Estimate(
        what or f"ensemble of {cm.spec.name}",
        members,
        grid.n_steps,
        int(state),
        int(recorded),
        int(kept),
        _seconds(cm, members, grid.n_steps, n_w) + float(members) * values * ENSEMBLE_VALUE_SECONDS,
    )


def check_budget(
    estimate: Estimate | Sequence[Estimate],
    max_memory: int | None = None,
    *,
    advice: Sequence[str] = (),
) -> None:
    """Refuse work that would need more memory than is available or allowed.

    Parameters
    ----------
    estimate
        The estimate (several are added: ensembles kept side by side).
    max_memory
        A limit in bytes (``--max-memory``); default: the memory available now.
    advice
        Ways to proceed particular to the caller (``stream``, ``record less`` ...),
        put before "fewer members" and "raise --max-memory".

    Raises
    ------
    BudgetError
        With the estimate, the limit and how to proceed.
    """
    ests = [estimate] if isinstance(estimate, Estimate) else list(estimate)
    need = sum(e.total_bytes for e in ests)
    if max_memory is not None:
        limit, source = int(max_memory), "allowed by --max-memory"
    else:
        limit, source = available_memory()
    if need <= limit:
        return
    ways = [
        *advice,
        "run fewer members or months",
        "raise the limit (--max-memory; max_memory= in Python) if the memory is really there",
    ]
    raise BudgetError(
        f"refused before starting: needs about {format_bytes(need)} of memory, more than the "
        f"{format_bytes(limit)} {source}; "
        + "; ".join(e.describe() for e in ests)
        + ". To proceed: "
        + "; or ".join(ways)
    )

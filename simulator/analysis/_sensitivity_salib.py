"""SALib for Upstream: the problem of a design, its sample, and indices as tidy rows.

The factors are a design's uncertainty groups, each on the unit interval (an
``independent`` group's columns move as one SALib group).  :func:`analyze` runs one
method on one output and :func:`index_rows` turns SALib's answer into rows of the
indices table.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import numpy as np

from simulator.analysis._uncertainty import Design

__all__ = ["COLUMNS", "MAIN_INDEX", "METHODS", "RESAMPLES", "analyze", "index_rows", "problem_of", "sample"]

METHODS = ("sobol", "morris", "fast", "delta")
#: the index each method ranks factors by
MAIN_INDEX = {"sobol": "ST", "morris": "mu_star", "fast": "ST", "delta": "delta_raw"}
#: bootstrap resamples for confidence intervals (delta's kernel density bootstraps are slow)
RESAMPLES = {"sobol": 100, "morris": 100, "fast": 100, "delta": 20}
#: columns of the indices table
COLUMNS = ["method", "output", "service", "month", "factor", "index", "value", "conf"]

_INDEX_KEYS = {
    "sobol": (("S1", "S1_conf"), ("ST", "ST_conf")),
    "morris": (("mu_star", "mu_star_conf"), ("sigma", None), ("mu", None)),
    "fast": (("S1", "S1_conf"), ("ST", "ST_conf")),
    "delta": (("delta_raw", "delta_raw_conf"), ("S1", "S1_conf")),
}


def problem_of(design: Design) -> tuple[dict, list[str]]:
    """SALib's problem of a design (one column per draw, grouped by uncertainty group).

    Parameters
    ----------
    design
        The uncertainty groups.

    Returns
    -------
    tuple
        The problem (bounds ``[0, 1]``; ``groups`` when a group has several columns)
        and the factors' names.
    """
    cols = design.columns
    group_of = {}
    for g, idx in design.group_columns().items():
        for i in idx:
            group_of[i] = g
    problem = {"num_vars": len(cols), "names": cols, "bounds": [[0.0, 1.0]] * len(cols)}
    factors = [g.name for g in design.groups]
    if len(cols) != len(factors):
        problem["groups"] = [group_of[i] for i in range(len(cols))]
    return problem, factors


def sample(method: str, problem: dict, n: int, seed: int, second_order: bool) -> np.ndarray:
    """SALib's sample for ``method`` (Latin hypercube for delta).

    Parameters
    ----------
    method
        ``sobol``, ``morris``, ``fast`` or ``delta``.
    problem
        SALib's problem (:func:`problem_of`).
    n
        Base sample size.
    seed
        Seed.
    second_order
        Sobol: sample for second-order indices too.

    Returns
    -------
    numpy.ndarray
        ``(runs, columns)`` points in ``[0, 1]``.
    """
    from SALib.sample import fast_sampler, latin, morris
    from SALib.sample import sobol as sobol_sample

    if method == "sobol":
        return sobol_sample.sample(problem, n, calc_second_order=second_order, seed=seed)
    if method == "morris":
        return morris.sample(problem, n, num_levels=4, seed=seed)
    if method == "fast":
        return fast_sampler.sample(problem, n, seed=seed)
    return latin.sample(problem, n, seed=seed)


def _first_order_rows(n: int, d: int) -> np.ndarray:
    """Rows ``[A, AB_1..AB_d, B]`` of each base point of a second-order Saltelli sample.

    SALib lays a second-order sample out as ``A, AB_1..AB_d, BA_1..BA_d, B``
    per base point; these rows are exactly the first-order sample, so S1 and
    ST of other outputs need not pay for second-order analysis.
    """
    per = 2 * d + 2
    return np.concatenate([np.r_[k * per + np.arange(d + 1), k * per + per - 1] for k in range(n)])


def analyze(
    method: str,
    problem: dict,
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    second_order: bool,
    sampled_second: bool,
) -> dict:
    """SALib's indices of one output (empty if the output does not vary).

    Parameters
    ----------
    method, problem
        As :func:`sample`.
    x
        The sample.
    y
        The output, one value per row of ``x``.
    seed
        Seed of the bootstrap.
    second_order
        Sobol: compute second-order indices.
    sampled_second
        Whether ``x`` was sampled for second-order indices.

    Returns
    -------
    dict
        SALib's result (``S1``, ``ST``, ``mu_star`` ... and their ``_conf``).
    """
    if np.ptp(y) == 0:
        return {}
    with contextlib.redirect_stdout(io.StringIO()):  # SALib prints diagnostics
        return _analyze_quiet(method, problem, x, y, seed, second_order, sampled_second)


def _analyze_quiet(method, problem, x, y, seed, second_order, sampled_second) -> dict:
    from SALib.analyze import delta, fast, morris, sobol

    r = RESAMPLES[method]
    if method == "sobol":
        if sampled_second and not second_order:
            d = len(set(problem.get("groups") or problem["names"]))
            y = y[_first_order_rows(len(y) // (2 * d + 2), d)]
        return sobol.analyze(problem, y, calc_second_order=second_order, num_resamples=r, seed=seed)
    if method == "morris":
        return morris.analyze(problem, x, y, num_levels=4, num_resamples=r, seed=seed)
    if method == "fast":
        return fast.analyze(problem, y, num_resamples=r, seed=seed)
    return delta.analyze(problem, x, y, num_resamples=r, seed=seed, method="all")


def index_rows(
    method: str, res: dict, factors: Sequence[str], output: str, service: str, month: float | None
) -> list[tuple]:
    """Rows of the indices table (:data:`COLUMNS`) for one analysed output.

    Parameters
    ----------
    method
        The method.
    res
        SALib's result (empty: every index 0, the output did not vary).
    factors
        The factors' names.
    output, service, month
        What was analysed: output name, element (``""`` for a scalar output) and
        report time (``None`` for a horizon measure).

    Returns
    -------
    list of tuple
        ``(method, output, service, month, factor, index, value, conf)``.
    """
    out = []
    if not res:
        return [
            (method, output, service, month, f, key, 0.0, 0.0)
            for f in factors
            for key, _ in _INDEX_KEYS[method]
        ]
    names = list(res.get("names", factors))
    for key, conf in _INDEX_KEYS[method]:
        if key not in res:
            continue
        vals = np.asarray(res[key], dtype=float)
        cis = np.asarray(res[conf], dtype=float) if conf and conf in res else np.full_like(vals, np.nan)
        for f, v, c in zip(names, vals, cis):
            out.append((method, output, service, month, f, key, float(v), float(c)))
    return out

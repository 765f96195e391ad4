"""Calibration spec files (``upstream: calibration``): a model, priors, observed targets, methods.

A spec names the model (a built-in name or a file beside the spec), the
parameters to fit written exactly like a scenario's ``uncertainty:`` groups
(their distributions are the priors), and the targets: an observed series from a
tidy CSV (``calibration/data/``), the model quantity that predicts it, how months
add up to the observed periods, and the observation model.  Periods named under
``held_out:`` are left out of the fit and scored afterwards.  Every problem is
reported with its field and line; nothing runs until the whole file is valid.

Example::

    upstream: calibration
    name: England NHS Talking Therapies referrals
    model: england
    parameters:
      - {name: susceptibility, parameter: pcnt, apply: scale,
         distribution: {type: lognormal, median: 1, sigma: 0.5}, source: "..."}
    targets:
      - name: iapt_referrals
        data: data/talking_therapies_england.csv
        where: {area_code: E92000001, measure: referrals_received}
        variable: new_referral
        select: {service: [IAPT]}
        include: [underlying, suppressed]
        likelihood: {type: negbin, dispersion: {type: lognormal, median: 100, sigma: 1.5}}
    held_out: [2022-23]
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from simulator.analysis._calibrate import METHODS
from simulator.analysis._calibration import CalibrationProblem, Target
from simulator.core._problems import Problems
from simulator.files._calibration_targets import read_target
from simulator.files._documents import model_reference, read_document
from simulator.files._scenarios import uncertainty_groups
from simulator.files._yaml import Located

__all__ = ["CalibrationSpec", "load_calibration"]

_FIELDS = {
    "upstream", "name", "description", "model", "months", "dt", "method", "particles",
    "generations", "seed", "parameters", "targets", "held_out", "source",
}  # fmt: skip


@dataclass
class CalibrationSpec:
    """A validated calibration spec: the problem and how to solve it.

    Attributes
    ----------
    name, description
        From the file.
    problem
        The model, priors and targets, ready to run.
    method, particles, generations, seed
        Defaults for :func:`simulator.analysis.calibrate` (the CLI may override them).
    path
        The spec file.
    notes
        Assumptions the spec makes (e.g. a partly covered period scaled up), for reports.
    """

    name: str
    problem: CalibrationProblem
    method: str = "smc"
    particles: int = 2000
    generations: int = 10
    seed: int = 0
    description: str = ""
    path: Path | None = None
    notes: list[str] = field(default_factory=list)


def _int(root: Located, name: str, default: int, low: int, problems: Problems) -> int:
    loc = root.get(name)
    if loc is None:
        return default
    v = loc.value
    if not isinstance(v, int) or isinstance(v, bool) or v < low:
        problems.add(f"is {v!r}", part=name, line=loc.line, allowed=f"a whole number from {low}")
        return default
    return v


def load_calibration(path: str | Path) -> CalibrationSpec:
    """Read and validate a calibration spec; raises :class:`InputError` listing every problem.

    Parameters
    ----------
    path
        A ``.yaml`` file starting ``upstream: calibration``.

    Returns
    -------
    CalibrationSpec
        The problem, ready for :func:`simulator.analysis.calibrate`.
    """
    p = Path(path)
    problems = Problems(file=p.name, part_kind="field")
    root = read_document(p, problems, "calibration", _FIELDS)
    model = model_reference(root, p, problems)
    months = _int(root, "months", model.spec.horizon if model else 1, 1, problems)
    particles = _int(root, "particles", 2000, 10, problems)
    generations = _int(root, "generations", 10, 1, problems)
    seed = _int(root, "seed", 0, 0, problems)
    method = root.value.get("method", "smc")
    if method not in METHODS:
        problems.add(f"is {method!r}", part="method", line=_line(root, "method"), allowed=", ".join(METHODS))
    groups = uncertainty_groups(root.get("parameters"), problems, "parameters")
    tloc = root.get("targets")
    targets, notes = [], []
    if tloc is None or not isinstance(tloc.value, list) or not tloc.value:
        problems.add(
            "is missing", part="targets", allowed="a list of observed series and the quantities they measure"
        )
    elif model is not None:
        for i, item in enumerate(tloc.items()):
            got = read_target(item, i, model, months, p, problems)
            if got:
                targets += got[0]
                notes += got[1]
    held = [str(x) for x in (root.value.get("held_out") or [])]
    known = {q.label for t in targets for q in t.periods}
    for h in held:
        if targets and h not in known:
            problems.add(f"held-out period {h!r} is not an observed period of any target", part="held_out",
                         line=_line(root, "held_out"), allowed=", ".join(sorted(known)))  # fmt: skip
    targets = [_with_held_out(t, held) for t in targets]
    if targets and not any(t.fit_mask.any() for t in targets):
        problems.add("every observed period is held out: nothing is left to fit", part="held_out")
    problems.raise_if_errors()
    assert model is not None
    try:
        problem = CalibrationProblem(model, groups, targets, months=months, dt=root.value.get("dt"))
    except (ValueError, KeyError) as err:
        problems.add(str(err), part="parameters")
        problems.raise_if_errors()
        raise
    return CalibrationSpec(str(root.value.get("name") or p.stem), problem, method, particles, generations, seed,
                           str(root.value.get("description") or ""), p, notes)  # fmt: skip


def _line(root: Located, key: str) -> int | None:
    loc = root.get(key)
    return None if loc is None else loc.line


def _with_held_out(t: Target, held: list[str]) -> Target:
    return replace(t, held_out=np.array([q.label in held for q in t.periods]))

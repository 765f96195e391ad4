"""The SDXorg test-models subset: Upstream's import matches the canonical output and PySD's run.

Each case in ``tests/sd_test_models/supported.txt`` is imported by Upstream (PySD's parser,
Upstream's own integrator) and compared, variable by variable and time by time, with the
collection's canonical output and with PySD 3.14's run of the same file, to a relative and
absolute tolerance of 1e-5 (PySD's own test tolerance).
"""

from __future__ import annotations

import warnings

import pytest
from sd_compare import ROOT, mismatches, pysd_frame, read_output, upstream_frame

from simulator import simulate
from simulator.vensim import import_model

CASES = [line.strip() for line in (ROOT / "supported.txt").read_text().splitlines() if line.strip()]
RTOL = ATOL = 1e-5


def test_the_subset_is_large_and_stands_alone():
    assert len(CASES) >= 150
    assert (ROOT / "LICENSE").read_text().startswith("Copyright 2015 The test-models Authors")
    for case in CASES:
        assert (ROOT / case).exists(), case


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_import_matches_canonical_output_and_pysd(case, tmp_path):
    path = ROOT / case
    canon_file = next(p for p in (path.parent / "output.csv", path.parent / "output.tab") if p.exists())
    canon = read_output(canon_file)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = import_model(path)
        ds = simulate(model, record=list(model.spec.meta["record"]))
    ours = upstream_frame(model, ds)
    assert mismatches(ours, canon, RTOL, ATOL) == []
    theirs = pysd_frame(path, tmp_path, canon.columns)
    assert mismatches(ours, theirs, RTOL, ATOL) == []

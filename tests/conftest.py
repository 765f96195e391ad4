"""Shared fixtures: the repository's models and workbooks, and small helpers."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
WORKBOOKS = MODELS / "workbooks"
FOOTPRINTS = {
    "england": "params_England.xlsx",
    "mersey-care": "params_Mersey-Care.xlsx",
    "cwp": "params_CWP.xlsx",
}


@pytest.fixture(scope="session")
def england():
    from simulator import load_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_model("england")


@pytest.fixture(scope="session")
def england_run(england):
    from simulator import simulate

    return simulate(england, dt=0.2)

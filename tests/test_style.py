"""The code stays ruff, ruff-format and mypy clean (the project's style gate, run with the tests)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def ruff() -> list[str]:
    exe = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(exe).exists():
        pytest.skip("ruff is not installed")
    return [exe]


def test_ruff_check():
    r = subprocess.run([*ruff(), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_format():
    r = subprocess.run([*ruff(), "format", "--check", "."], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy():
    # basic mode, configured in pyproject.toml ([tool.mypy]): annotated code in simulator/ type-checks
    pytest.importorskip("mypy", reason="mypy is not installed")
    r = subprocess.run([sys.executable, "-m", "mypy", "simulator"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

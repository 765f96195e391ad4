"""Debian's headless Chromium for the browser tests: where it is and how it is started.

The flags keep Chromium off the network this machine does not have (background networking,
component updates, sync) and let it run as root without a GPU; `.ci/run` installs the package.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: skip a test when Debian's chromium is not installed (a clone outside CI)
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() or shutil.which("chromium") is None, reason="needs /usr/bin/chromium"
)

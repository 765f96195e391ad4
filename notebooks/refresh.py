"""Run every notebook in this folder top to bottom and save it with its outputs (charts included).

Usage, from the repository root::

    .venv/bin/python notebooks/refresh.py               # every notebooks/*.ipynb
    .venv/bin/python notebooks/refresh.py notebooks/03_interventions.ipynb

Each notebook runs in a fresh kernel with ``notebooks/`` (its own folder) as the
working directory, as an analyst would run it, on the notebook's own matplotlib
backend (``MPLBACKEND`` is cleared, so charts are stored as images and show on
GitHub).  A notebook is replaced only when it ran to the end, atomically; a
notebook that fails is left as it was and named on standard error (exit 1).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

HERE = Path(__file__).resolve().parent


def refresh(path: Path, timeout: int = 1800, kernel: str = "python3") -> None:
    """Execute ``path`` in its own folder and write it back with its outputs.

    Raises
    ------
    CellExecutionError
        If a cell fails (the file is then left unchanged).
    """
    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name=kernel, resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".ipynb.part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            nbformat.write(nb, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    """Refresh the notebooks named (default: every notebook beside this script).

    Returns
    -------
    int
        0 when every notebook ran, 1 otherwise, 2 for a path that is not a notebook.
    """
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: notebooks/*.ipynb)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell (default 1800)")
    ap.add_argument("--kernel", default="python3", help="Jupyter kernel name (default python3)")
    args = ap.parse_args(argv)
    paths = args.notebooks or sorted(HERE.glob("*.ipynb"))
    bad = [str(p) for p in paths if p.suffix != ".ipynb" or not p.is_file()]
    if bad:
        print(f"refresh: not a notebook file: {', '.join(bad)}", file=sys.stderr)
        return 2
    os.environ.pop("MPLBACKEND", None)  # the kernel's own (inline) backend stores charts as images
    failed = []
    for path in paths:
        start = time.perf_counter()
        try:
            refresh(path, args.timeout, args.kernel)
        except (CellExecutionError, TimeoutError, RuntimeError) as err:
            failed.append(path)
            last = str(err).strip().splitlines()[-1:] or ["failed"]
            print(f"refresh: {path}: {last[0]} (left unchanged)", file=sys.stderr)
            continue
        print(f"refreshed {path} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

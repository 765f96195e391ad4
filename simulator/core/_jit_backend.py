"""Choosing the kernel backend: the compiled step kernel or the numpy reference.

``"compiled"`` (the default where numba is installed) runs steps on the
compiled kernel (:mod:`simulator.core._jit_kernel`) and falls back to numpy
for a model with a construct it cannot run; ``"numpy"`` is the reference
implementation.  A run's ``backend=`` argument wins; otherwise the process
default (:func:`set_default_backend`, or :func:`use_backend` for a block of
code; forked workers inherit it), which the ``UPSTREAM_BACKEND`` environment
variable may set at start.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager

from simulator.core._run_params import RunError

__all__ = [
    "BACKENDS",
    "BackendError",
    "compiled_available",
    "default_backend",
    "resolve_backend",
    "set_default_backend",
    "use_backend",
]

#: the kernel backends a run may ask for
BACKENDS = ("compiled", "numpy")


class BackendError(RunError):
    """An unknown backend name."""


def compiled_available() -> bool:
    """Whether numba is installed (the compiled backend can run).

    Returns
    -------
    bool
    """
    return importlib.util.find_spec("numba") is not None


def _check(name: str) -> str:
    if name not in BACKENDS:
        raise BackendError(f"backend must be one of {', '.join(BACKENDS)}, not {name!r}")
    return name


_DEFAULT = [_check(os.environ.get("UPSTREAM_BACKEND", "compiled") or "compiled")]


def default_backend() -> str:
    """The process's default backend (``"compiled"`` unless changed).

    Returns
    -------
    str
    """
    return _DEFAULT[0]


def set_default_backend(name: str) -> None:
    """Set the process's default backend for runs that do not name one.

    Parameters
    ----------
    name
        ``"compiled"`` or ``"numpy"``.
    """
    _DEFAULT[0] = _check(name)


@contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Run the enclosed code with ``name`` as the default backend (ensembles, sensitivity, calibration).

    Parameters
    ----------
    name
        ``"compiled"`` or ``"numpy"``.

    Yields
    ------
    None
    """
    old = _DEFAULT[0]
    _DEFAULT[0] = _check(name)
    try:
        yield
    finally:
        _DEFAULT[0] = old


def resolve_backend(name: str | None) -> str:
    """The backend a run uses: ``name``, else the default; ``"numpy"`` when numba is missing.

    Parameters
    ----------
    name
        A backend name or ``None``.

    Returns
    -------
    str
    """
    chosen = _check(name) if name is not None else _DEFAULT[0]
    if chosen == "compiled" and not compiled_available():
        return "numpy"
    return chosen

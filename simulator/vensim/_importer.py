"""Import Vensim (``.mdl``) and XMILE (``.xmile``, ``.xml``, ``.stmx``) models into Upstream.

PySD parses the file into its abstract model
(``VensimFile(path).get_abstract_model()`` / ``XmileFile``); this module
compiles that abstract model into one Upstream :class:`~simulator.core._spec.ModelSpec`,
which runs in Upstream's vectorised integrator (no PySD code runs during a
simulation):

* subscript ranges become dimensions (:mod:`._subscripts`);
* constants become parameters under their PySD names, so ensembles,
  sensitivity analysis and interventions address them by name;
* lookups become table parameters over an x axis (``lookup(table, x)``): their
  y values are parameters too, addressable by name;
* stocks (``INTEG``) become stocks with one net inflow each, auxiliaries become
  derived values evaluated every step;
* ``SMOOTH``, ``DELAY1``/``DELAY3`` and ``DELAY FIXED`` become hidden stocks
  (:mod:`._stateful`); ``INITIAL``, ``ACTIVE INITIAL`` and initial values are
  evaluated at INITIAL TIME.

Anything else is reported as a problem naming the construct and the variable
(:class:`UnsupportedModel`); :mod:`._fallback` can run such models through PySD.
The model's clock (INITIAL TIME, FINAL TIME, TIME STEP, SAVEPER) becomes the
default time grid of :func:`simulator.simulate`.

**Where the code is.**  This module holds the entry points.
:mod:`._import_build` reads and defines the variables (:class:`Importer`) on
top of :mod:`._import_state` (what the import has built, and the questions the
translator asks); :mod:`._translate` turns equations into formulas and hands
stateful functions to :mod:`._stateful`; the two reach the importer only
through the protocols of :mod:`._context`, so no module imports one above it.
"""

from __future__ import annotations

import codecs
import re
import warnings
from pathlib import Path

from simulator.core._model import Model, compiled_model
from simulator.core._problems import InputError, Problems
from simulator.vensim._import_build import Importer

__all__ = [
    "SUFFIXES",
    "UnsupportedModel",
    "check_import",
    "import_model",
    "read_abstract",
    "unsupported_only",
]

VENSIM_SUFFIXES = (".mdl",)
XMILE_SUFFIXES = (".xmile", ".xml", ".stmx")
SUFFIXES = VENSIM_SUFFIXES + XMILE_SUFFIXES


class UnsupportedModel(InputError):
    """The model uses constructs Upstream does not compile (each problem names one)."""


_NOT_VENSIM = "not a Vensim model"
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13))
_VENSIM_ALLOWED = "a Vensim .mdl text file: equations 'name = expression ~ units ~ comment |'"


def vensim_encoding(path: Path) -> tuple[str | None, str | None]:
    """The encoding to read a ``.mdl`` file with, or why it is not a Vensim model.

    PySD guesses the encoding from the first line and fails with an internal
    error on a file that is not text; this looks first.

    Parameters
    ----------
    path
        The ``.mdl`` file.

    Returns
    -------
    tuple of (str or None, str or None)
        The encoding (the ``{UTF-8}`` header's, else UTF-8, as PySD takes it) and
        ``None``; or ``None`` and the reason the file is not a Vensim model.
    """
    with path.open("rb") as fh:
        data = fh.read(1_000_000)
    control = len(data) - len(data.translate(None, _CONTROL))
    if b"\0" in data or control > 0.01 * max(len(data), 1):
        return None, f"{_NOT_VENSIM}: it is not a text file"
    first = data.split(b"\n", 1)[0].strip()
    m = re.match(rb"\{([A-Za-z0-9_.:-]+)\}", first)
    encoding = m.group(1).decode("ascii") if m else "UTF-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        return None, f"{_NOT_VENSIM}: its first line names an unknown encoding {{{encoding}}}"
    text = data.decode(encoding, errors="ignore")  # as PySD reads it
    if "~" not in text:
        return None, f"{_NOT_VENSIM}: no equations found"
    return encoding, None


def read_abstract(path: Path, problems: Problems) -> object | None:
    """PySD's abstract model of a Vensim or XMILE file.

    Parameters
    ----------
    path
        The model file; a ``.mdl`` suffix is read as Vensim, any other as XMILE.
    problems
        Where a parse failure is recorded.

    Returns
    -------
    object or None
        PySD's ``AbstractModel``, or ``None`` when PySD cannot parse the file
        (the problem recorded).
    """
    suffix = path.suffix.lower()
    encoding = None
    if suffix in VENSIM_SUFFIXES:
        try:
            encoding, why = vensim_encoding(path)
        except OSError as err:
            encoding, why = None, f"cannot read the file: {err.strerror or err}"
        if why is not None:
            problems.add(why, allowed=_VENSIM_ALLOWED)
            return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if suffix in VENSIM_SUFFIXES:
                from pysd.translators.vensim.vensim_file import VensimFile

                f = VensimFile(path, encoding=encoding)
            else:
                from pysd.translators.xmile.xmile_file import XmileFile

                f = XmileFile(path)
            f.parse()
            return f.get_abstract_model()
    except Exception as err:  # PySD's parser raises many kinds of errors on bad files
        text = str(err).strip().splitlines()
        problems.add(
            f"PySD could not parse the file: {text[0] if text else type(err).__name__}",
            allowed="a Vensim .mdl or XMILE .xmile file PySD 3.14 reads",
        )
        return None


def check_import(path: Path, problems: Problems) -> Model | None:
    """Import a Vensim or XMILE file, recording every problem.

    Parameters
    ----------
    path
        The ``.mdl``, ``.xmile``, ``.xml`` or ``.stmx`` file.
    problems
        Where every problem is recorded (each names the variable it is in).

    Returns
    -------
    Model or None
        The compiled model (the generic kind, ``kind="vensim"``, on the model's own
        clock), or ``None`` when it cannot be run.
    """
    problems.part_kind = "variable"
    abstract = read_abstract(path, problems)
    spec = None if abstract is None else Importer(abstract, path, problems).build()
    if spec is None:
        return None
    return compiled_model(spec, "vensim", path, problems)


def unsupported_only(problems: Problems) -> bool:
    """Whether every error is a construct Upstream does not compile (PySD may still run it).

    Parameters
    ----------
    problems
        The problems :func:`check_import` recorded.

    Returns
    -------
    bool
        ``True`` when there are errors and each one is an unsupported construct.
    """
    return bool(problems.errors) and all("not supported" in p.message for p in problems.errors)


def import_model(path: str | Path) -> Model:
    """Import a Vensim or XMILE file as an Upstream model.

    Parameters
    ----------
    path
        The ``.mdl``, ``.xmile``, ``.xml`` or ``.stmx`` file.

    Returns
    -------
    Model
        The compiled model: constants are parameters under their PySD names,
        stocks and auxiliaries are recorded, and the time grid defaults to the
        model's INITIAL TIME, FINAL TIME, TIME STEP and SAVEPER (in the model's
        time unit).

    Raises
    ------
    UnsupportedModel
        When the model uses constructs Upstream does not compile (each problem
        names the construct and the variable).
    InputError
        When the file cannot be read.
    """
    path = Path(path)
    problems = Problems(file=path.name, part_kind="variable")
    model = check_import(path, problems)
    if model is not None:
        return model
    cls = UnsupportedModel if unsupported_only(problems) else InputError
    raise cls(problems.errors, problems.warnings)

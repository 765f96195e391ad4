"""What every command shares: the error type, problem lists, options and loading a model.

Every command turns bad input into problems on standard error and exit status 2, no traceback, no file.
"""

from __future__ import annotations

import functools
import signal
import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from simulator._cli._strata_option import STRATA_KEY, strata_option
from simulator.core._budget import Estimate, parse_memory
from simulator.core._jit_backend import BACKENDS, default_backend, set_default_backend
from simulator.core._model import Model
from simulator.core._problems import InputError, Problem
from simulator.core._run_params import RunError
from simulator.core._spec import SpecError
from simulator.core._workers import WorkerError
from simulator.files._loading import load_model

if TYPE_CHECKING:  # xarray only for annotations: the command line starts without it
    import xarray as xr

__all__ = [
    "EXIT_INPUT",
    "MEMORY",
    "CLIError",
    "assumed_note",
    "estimate_printer",
    "handle_errors",
    "load",
    "print_problems",
    "read_scenario",
    "resource_options",
    "run_options",
    "simulate_model",
    "strata_option",
]

EXIT_INPUT = 2


class CLIError(click.ClickException):
    """A problem to show the user with exit status 2."""

    exit_code = EXIT_INPUT

    def show(self, file=None) -> None:
        """Print ``error: <message>`` on standard error.

        Parameters
        ----------
        file
            Ignored (click's signature): the message always goes to standard error.
        """
        click.echo(f"error: {self.format_message()}", err=True)


def print_problems(problems: list[Problem], quiet: bool = False) -> None:
    """Print errors as a numbered list and warnings one a line, on standard error.

    Parameters
    ----------
    problems
        Problems found in the input (errors and warnings).
    quiet
        Leave out the warnings.
    """
    errors = [p for p in problems if p.severity == "error"]
    warns = [p for p in problems if p.severity == "warning"]
    if errors:
        click.echo(f"{len(errors)} problem{'s' if len(errors) != 1 else ''} found:", err=True)
        for p in errors:
            click.echo(f"  - {p}", err=True)
    if warns and not quiet:
        for p in warns:
            click.echo(f"warning: {p}", err=True)


#: what a command says when memory ran out
OUT_OF_MEMORY = "ran out of memory: run fewer members or months, record less, or use a larger machine"


def handle_errors(fn: Callable) -> Callable:
    """Turn input and run errors into messages and exit status 2.

    Parameters
    ----------
    fn
        The function of a command; it may raise input, spec and run errors.

    Returns
    -------
    Callable
        A wrapper that prints those errors as problems and exits with status 2.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except InputError as err:
            print_problems([*err.problems, *err.warnings], quiet=kwargs.get("quiet", False))
            sys.exit(EXIT_INPUT)
        except SpecError as err:
            click.echo(f"{len(err.problems)} problem(s) in the model:", err=True)
            for p in err.problems:
                click.echo(f"  - {p}", err=True)
            sys.exit(EXIT_INPUT)
        except (RunError, KeyError, ValueError) as err:
            msg = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
            raise CLIError(str(msg)) from None
        except OSError as err:  # a file that cannot be read or written (WriteError names it)
            raise CLIError(_os_message(err)) from None
        except KeyboardInterrupt:  # Ctrl-C: any file being written is already removed
            click.echo("interrupted", err=True)
            sys.exit(128 + signal.SIGINT)
        except (WorkerError, MemoryError) as err:  # out of memory here or in a forked worker
            raise CLIError(str(err) if isinstance(err, WorkerError) else OUT_OF_MEMORY) from None

    return wrapper


def _os_message(err: OSError) -> str:
    """One line for an operating-system error: the file and the reason."""
    if err.filename is not None and err.strerror:
        return f"{err.filename}: {err.strerror}"
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


class _Memory(click.ParamType):
    """A memory size such as ``8GB`` or ``512MB``, as bytes."""

    name = "size"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            return parse_memory(value)
        except ValueError as err:
            self.fail(str(err), param, ctx)


#: the ``--max-memory`` option's type
MEMORY = _Memory()


def _set_backend(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """``--backend``: the process default for every run of the command (workers inherit it)."""
    if value is not None:
        old = default_backend()
        set_default_backend(value)
        ctx.call_on_close(lambda: set_default_backend(old))  # in-process callers (tests) get it back


def resource_options(fn: Callable) -> Callable:
    """``--verbose`` (print the estimate of memory and time), ``--max-memory`` (a limit), ``--backend``.

    Parameters
    ----------
    fn
        The function of a command that runs a model or an ensemble.

    Returns
    -------
    Callable
        It, taking ``verbose`` and ``max_memory`` (bytes or ``None``).
    """
    opts = [
        click.option(
            "--verbose", "-v", is_flag=True, help="Print the estimated memory and time before running."
        ),
        click.option(
            "--backend",
            type=click.Choice(BACKENDS),
            expose_value=False,
            callback=_set_backend,
            help="Step kernel: compiled (default where numba is installed) or numpy (the reference).",
        ),
        click.option(
            "--max-memory",
            type=MEMORY,
            help="Refuse work needing more memory than this, e.g. 8GB (default: the memory available).",
        ),
    ]
    for o in reversed(opts):
        fn = o(fn)
    return fn


def estimate_printer(verbose: bool) -> Callable[[Estimate], None] | None:
    """What prints an estimate on standard error with ``--verbose`` (``None`` without).

    Parameters
    ----------
    verbose
        The ``--verbose`` flag.

    Returns
    -------
    Callable or None
        ``print(estimate)``, or ``None``.
    """
    if not verbose:
        return None
    return lambda est: click.echo(est.describe(), err=True)


def load(model: str | None, quiet: bool, fallback: str | None = None) -> Model:
    """Load a model and print its warnings (unless ``quiet``).

    Parameters
    ----------
    model
        Model file or built-in name (``None``: the built-in England model).
    quiet
        Do not print the model's warnings.
    fallback
        ``"pysd"`` to run Vensim/XMILE constructs Upstream does not compile through PySD.

    Returns
    -------
    Model
        The loaded model.
    """
    ctx = click.get_current_context(silent=True)
    strata = ctx.meta.get(STRATA_KEY) if ctx is not None else None  # ``--strata FILE`` (run_options)
    m = load_model(model, fallback=fallback, strata=strata)
    if not quiet:
        for w in m.warnings:
            click.echo(f"warning: {w}", err=True)
    return m


def read_scenario(path: str, posterior: str | None = None, quiet: bool = True):
    """Read a scenario file (see :func:`simulator.files.load_scenario`), its members from a posterior if given.

    Parameters
    ----------
    path
        Scenario ``.yaml`` file.
    posterior
        A calibration's posterior file (``--posterior``): its fitted groups replace the
        scenario's groups of the same name and members are its draws, resampled by weight.
    quiet
        Do not say which posterior was used.

    Returns
    -------
    Scenario
        The validated scenario.
    """
    from simulator.files._scenarios import load_scenario

    sc = load_scenario(path)
    if posterior is None:
        return sc
    from simulator.analysis._posterior import Posterior

    try:
        post = Posterior.read(posterior)
    except ValueError as err:
        raise CLIError(str(err)) from None
    names = {g.name for g in post.groups}
    groups = [*post.groups, *(g for g in sc.groups if g.name not in names)]
    if not quiet:
        click.echo(f"members drawn from the {post.describe()}", err=True)
    return sc.with_(groups=groups, sampler=f"posterior:{post.path}")


def run_options(fn: Callable) -> Callable:
    """Options shared by commands that run a model.

    Parameters
    ----------
    fn
        The function of a command that runs one model.

    Returns
    -------
    Callable
        It, taking MODEL, ``--curve``, ``--dt`` (months), ``--months``, ``--method``, ``--quiet``,
        ``--strata`` (kept for :func:`load`), ``--verbose`` and ``--max-memory`` (:func:`resource_options`).
    """
    opts = [
        click.argument("model", required=False),
        click.option(
            "--curve",
            help="Put every population group on this curve (name as in the curves table).",
        ),
        click.option(
            "--dt",
            type=float,
            help="Integration step, months (default 1; a Vensim/XMILE model's own TIME STEP).",
        ),
        click.option(
            "--months",
            type=int,
            help="Reporting months 0..N-1 (default: the model's curve length).",
        ),
        click.option("--method", type=click.Choice(["euler", "rk4"]), default="euler", show_default=True),
        click.option("--quiet", "-q", is_flag=True, help="No progress or warnings."),
        strata_option,
    ]
    for o in reversed(opts):
        fn = o(fn)
    return resource_options(fn)


def simulate_model(
    model: str | None,
    curve: str | None,
    dt: float | None,
    months: int | None,
    method: str,
    quiet: bool,
    record=None,
    fallback: str | None = None,
    verbose: bool = False,
    max_memory: int | None = None,
) -> tuple[Model, xr.Dataset]:
    """Load MODEL, put it on ``curve`` if given, and run it once.

    Parameters
    ----------
    model
        Model file or built-in name.
    curve
        Curve for every population group (surge models), or ``None``.
    dt
        Integration step, months (``None``: the model's own).
    months
        Number of reporting months (``None``: the model's horizon).
    method
        ``"euler"`` or ``"rk4"``.
    quiet
        Do not print warnings.
    record
        Variables to record (``None``: the model's default).
    fallback
        ``"pysd"`` to run unsupported Vensim/XMILE models through PySD.
    verbose
        Print the estimated memory and time first.
    max_memory
        Refuse a run needing more memory than this many bytes (``None``: what is available).

    Returns
    -------
    tuple of (Model, xarray.Dataset)
        The model run and its results.
    """
    m: Any = load(model, quiet, fallback)  # only surge models have curves
    if curve:
        if curve not in m.curves:
            raise CLIError(f"unknown curve {curve!r}; curves of {m.name}: {', '.join(m.curves) or 'none'}")
        m = m.with_curve(curve)
    if getattr(m, "kind", None) == "pysd" and method != "euler":
        raise CLIError("models run through PySD use PySD's Euler method; leave out --method")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from simulator.core._run import simulate

        ds = simulate(
            m,
            dt=dt,
            months=months,
            method=method,
            record=record,
            max_memory=max_memory,
            on_estimate=estimate_printer(verbose),
        )
    if not quiet:
        for w in caught:
            click.echo(f"warning: {w.message}", err=True)
    return m, ds


def assumed_note(ds: xr.Dataset, quiet: bool) -> None:
    """Say which capacities are Upstream's default assumption rather than data.

    Parameters
    ----------
    ds
        Results (or an ensemble summary) whose ``assumed_capacity`` attribute lists them.
    quiet
        Print nothing.
    """
    note = ds.attrs.get("assumed_capacity")
    if note and not quiet:
        click.echo("assumed capacity (no data given; pre-pandemic throughput x headroom):", err=True)
        for line in note.split("; "):
            click.echo(f"  {line}", err=True)

"""Atomic file writes: a partial output file is never left behind.

:func:`atomic_path` yields a temporary file beside the destination and renames it
over the destination only when the block succeeds.  Whatever goes wrong, the
temporary file (and any folder created for it) is removed:

* a failed write (an unwritable or missing location, a folder given as a file, a
  full disk) raises :class:`WriteError`, one line naming the file and the reason;
* SIGTERM or SIGINT during the block removes the temporary file, then the signal is
  delivered again with the handler that was there before (by default the process
  ends with the signal's code).
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

__all__ = ["WriteError", "atomic_path", "write_error"]

_SIGNALS = (signal.SIGTERM, signal.SIGINT)

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.EISDIR: "it is a folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ENOENT: "the folder does not exist",
    errno.ENAMETOOLONG: "the name is too long",
}


class WriteError(OSError):
    """A file could not be written; the message names the file and the reason (one line)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "cannot write the file"


class _Signalled(BaseException):
    """SIGTERM or SIGINT arrived during an atomic write."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _reason(err: OSError) -> str:
    reason = _REASONS.get(err.errno or 0)
    return reason or (err.strerror or str(err) or type(err).__name__).splitlines()[0]


def write_error(path: Path, err: OSError) -> WriteError:
    """A :class:`WriteError` for ``path`` from the operating system's error.

    Parameters
    ----------
    path
        The file that was being written.
    err
        The error raised.

    Returns
    -------
    WriteError
        With the message ``cannot write <path>: <reason>`` and the same ``errno``.
    """
    if isinstance(err, WriteError):
        return err
    out = WriteError(f"cannot write {str(path)!r}: {_reason(err)}")
    out.errno = err.errno
    return out


def _make_folder(folder: Path, path: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return those created (deepest last)."""
    missing = []
    p = folder
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    if p.exists() and not p.is_dir():
        raise WriteError(f"cannot write {str(path)!r}: {str(p)!r} is a file, not a folder")
    created: list[Path] = []
    try:
        for d in reversed(missing):
            d.mkdir()
            created.append(d)
    except OSError as err:
        _remove_folders(created)
        raise WriteError(
            f"cannot write {str(path)!r}: cannot create folder {str(d)!r} ({_reason(err)})"
        ) from None
    return created


def _remove_folders(created: list[Path]) -> None:
    for d in reversed(created):
        with contextlib.suppress(OSError):
            d.rmdir()


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT raise :class:`_Signalled` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise _Signalled(signum)

    previous = {}
    try:
        for s in _SIGNALS:
            if signal.getsignal(s) is not signal.SIG_IGN:  # an ignored signal stays ignored
                previous[s] = signal.signal(s, handler)
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, signal.SIG_DFL if h is None else h)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    Parameters
    ----------
    path
        The destination file.  Its folder is created if missing (and removed again
        if the write fails).

    Yields
    ------
    pathlib.Path
        A temporary file in the same folder (so the final rename is atomic); it is removed if
        the block raises or a signal arrives, and given the permissions the umask allows if it
        succeeds.

    Raises
    ------
    WriteError
        The file cannot be written (see the module notes); nothing is left behind.
    """
    path = Path(path)
    if path.is_dir():
        raise WriteError(f"cannot write {str(path)!r}: it is a folder; give a file name")
    created = _make_folder(path.parent, path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as err:
        _remove_folders(created)
        raise write_error(path, err) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        with _signals_raise():
            yield tmp_path
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp creates 0600; outputs follow the umask
            os.replace(tmp_path, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        _remove_folders(created)
        if isinstance(err, _Signalled):
            # the previous handlers are back: deliver the signal to them (by default: exit)
            signal.raise_signal(err.signum)
            raise KeyboardInterrupt from None  # a handler that returned: stop the caller all the same
        if isinstance(err, OSError):
            raise write_error(path, err) from None
        raise

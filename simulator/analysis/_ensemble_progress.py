"""Progress of an ensemble: a tqdm bar on a terminal, or a function told how many members are done.

The ensemble tells its bar, in this process, how many members each finished chunk
(or dask block) ran; :func:`progress_bar` gives that bar for ``progress=True`` and an
adapter with the same two methods for a function ``progress(done, total)`` (a web
page's progress bar).
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress", "progress_bar"]

#: what ``progress`` may be: show a bar or not, or a function told ``(members done, members in all)``
Progress = bool | Callable[[int, int], None]


class _Callback:
    """Members done, told to a function ``progress(done, total)`` (the bar's ``update``/``close``)."""

    def __init__(self, progress: Callable[[int, int], None], total: int):
        self.progress, self.total, self.done = progress, total, 0
        progress(0, total)

    def update(self, n: int) -> None:
        self.done = min(self.total, self.done + int(n))
        self.progress(self.done, self.total)

    def close(self) -> None:
        """Nothing to release (the last update said ``total``)."""


def progress_bar(progress: Progress, members: int, desc: str):
    """A tqdm bar over members, a :class:`_Callback` for a function, or ``None``."""
    if callable(progress):
        return _Callback(progress, members)
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=members, unit="member", desc=desc)

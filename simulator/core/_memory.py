"""Keeping the C allocator from handing every temporary array back to the kernel.

A step of a chunk makes many temporary arrays of a few megabytes (members x flow
elements).  glibc's ``malloc`` serves blocks above its *mmap threshold* (128 KiB
at start, adjusted upwards only when such a block is freed) with a fresh
``mmap`` and returns them with ``munmap`` on free, so each temporary costs one
page fault per 4 KiB page: on the capacity model that doubled the time of a step
and most of it showed as system time.  Raising the threshold (and the trim
threshold, so freed memory at the top of the heap is kept for the next step)
lets the same pages be reused step after step.

:func:`tune_allocator` does this once per process, on glibc only, with
``mallopt``; ``UPSTREAM_MALLOC=default`` leaves the allocator alone.  Results
do not change: only where the memory comes from.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

__all__ = ["tune_allocator"]

#: ``mallopt`` parameter numbers (glibc ``malloc.h``)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: blocks below this come from the heap (glibc's largest allowed threshold on 64-bit: 32 MiB)
MMAP_THRESHOLD = 32 * 2**20
#: free memory kept at the top of the heap before it is returned to the system
TRIM_THRESHOLD = 256 * 2**20

_result: bool | None = None


def tune_allocator() -> bool:
    """Raise glibc's mmap and trim thresholds for this process (once); whether it was done.

    Returns
    -------
    bool
        ``True`` if the thresholds were raised (Linux with glibc, not ``UPSTREAM_MALLOC=default``).
    """
    global _result
    if _result is None:
        _result = _tune()
    return _result


def _tune() -> bool:
    if not sys.platform.startswith("linux") or os.environ.get("UPSTREAM_MALLOC", "").lower() == "default":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to tune
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    return bool(ok and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1)

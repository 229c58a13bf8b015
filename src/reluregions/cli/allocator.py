"""The C allocator's settings for a command-line process (glibc only; elsewhere nothing).

glibc returns freed heap memory to the system as soon as more than twice its current mmap
threshold is free at the top of the heap, and serves every allocation above that threshold by a
fresh ``mmap``. The certificate's float maps (:mod:`reluregions.enumeration._certify_fast`) allocate
and free ~10 MB of temporaries per block of regions: with the defaults each block's pages are
faulted in anew (robot: ~330,000 page faults, 0.7 s of system time, 7 % of ``count --certify``).
A command-line process owns its heap, so a certifying one (``--certify``) keeps up to
:data:`TRIM_THRESHOLD` of freed memory for reuse and serves allocations below
:data:`MMAP_THRESHOLD` from the heap: 59,000 page faults and 0.35 s of system time. Peak memory is
unchanged (freed memory is reused, not added; robot's ``enumerate`` peaked at 341 MB either way,
with 39,000 faults against 41,000, so other commands are left as they are), and a library caller's
process is left alone.
"""
from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["keep_freed_memory"]

#: Freed memory the process keeps at the top of its heap before returning it (bytes).
TRIM_THRESHOLD = 256 << 20
#: Allocations at least this large get their own mapping (bytes; glibc's largest dynamic value).
MMAP_THRESHOLD = 32 << 20

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_memory() -> bool:
    """Set glibc's trim and mmap thresholds (see the module's docstring); returns whether it could."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        return False
    if mallopt is None:
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)) and bool(
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))

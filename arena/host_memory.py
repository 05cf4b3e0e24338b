"""Host memory on Linux: freed memory is kept and reused, not handed back to the kernel.

XLA:CPU allocates a compiled step's temporary buffers with ``malloc`` from its worker threads:
hundreds of MB for the book's DCGAN step at batch 128. glibc serves requests that large with a fresh
``mmap`` and unmaps them when they are freed, so at every step the kernel maps the same amount again
and zeroes it page by page: measured on 2 cores, 330,000 page faults and a fifth of the step's CPU
time. Keeping every allocation in the one main heap, never mapped on its own and never trimmed (up
to 2 GiB of free space at the top), lets each step reuse the memory the step before freed.

The price: the process keeps the peak of the memory it used (as JAX keeps the GPU memory it
preallocates). ``ARENA_KEEP_HOST_MEMORY=0`` leaves malloc as it is. It applies to threads that have
not allocated yet, so it is set when ``arena`` is imported (before JAX starts its threads); it does
nothing where the C library is not glibc.
"""
import ctypes
import ctypes.util
import os
import sys

# mallopt parameters (glibc's malloc.h)
M_TRIM_THRESHOLD, M_MMAP_MAX, M_ARENA_MAX = -1, -4, -8
_SETTINGS = ((M_ARENA_MAX, 1),                 # every thread allocates from the main heap ...
             (M_MMAP_MAX, 0),                  # ... which serves large requests too (no own mapping)
             (M_TRIM_THRESHOLD, 2**31 - 1))    # ... and keeps what is freed at its top


def keep_host_memory():
    """Set glibc's malloc to keep and reuse freed memory; True if it was set (see the module)."""
    if not sys.platform.startswith("linux") or os.environ.get("ARENA_KEEP_HOST_MEMORY", "1").strip() == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # glibc only: other C libraries' mallopt means something else
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in _SETTINGS)

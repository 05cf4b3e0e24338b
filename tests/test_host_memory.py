"""arena.host_memory: with it, memory freed by a large allocation is reused (no new page faults);
without it (ARENA_KEEP_HOST_MEMORY=0), glibc maps and zeroes it again. Each case runs in a fresh
interpreter, since malloc's settings are the process's."""
import json
import os
import subprocess
import sys

import pytest

PROBE = r"""
import ctypes, json, resource
import arena
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)
def faults(n):  # as XLA's buffers: malloc, write every page, free (numpy's own arrays ask for huge pages)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    p = libc.malloc(n); ctypes.memset(p, 1, n); libc.free(p)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
faults(200 * 2**20)
print(json.dumps({"kept": arena.KEEPS_HOST_MEMORY, "faults": faults(200 * 2**20)}))
"""

def probe(keep):
    env = {**os.environ, "ARENA_KEEP_HOST_MEMORY": "1" if keep else "0", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc settings")
def test_freed_memory_is_reused_without_new_page_faults():
    kept, system = probe(True), probe(False)
    assert kept["kept"] is True and system["kept"] is False
    pages = 200 * 2**20 // 4096
    assert system["faults"] > pages // 2  # a fresh mapping, faulted in again page by page
    assert kept["faults"] < pages // 20   # the heap's freed pages, reused

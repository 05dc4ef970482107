"""Small process-wide helpers shared by the server and restore (no harness imports)."""
from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_gc_lock = threading.Lock()
_gc_depth = 0  # how many paused_gc blocks are open, in any thread
_gc_was_enabled = False  # whether gc was enabled before the outermost pause


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic GC while loading many acyclic documents: its full collections rescan
    every stored object and would double the cost of a restore. Nests across threads."""
    global _gc_depth, _gc_was_enabled
    with _gc_lock:
        if _gc_depth == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_was_enabled:
                gc.enable()

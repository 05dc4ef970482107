"""Background removals of stopped clusters, owned by whoever runs clusters.

A stopped container's disk layer takes seconds to delete with --node-disk disk (decision 15),
and the next spec module need not wait for it: `Cluster.down(wait=False)`
hands its removal to a `Removals`, and the owner (the pytest plugin keeps one per session)
calls `finish()` before it exits, so nothing labelled outlives the run.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

WORKERS = 2


class Removals:
    """A small thread pool for removals and the futures still pending on it."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None  # started on the first removal
        self._pending: list[Future[None]] = []
        self._lock = threading.Lock()

    def submit(self, removal: Callable[[], None]) -> None:
        """Run removal on a background thread; finish() waits for it."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self._workers,
                                                thread_name_prefix="harness-remove")
            self._pending.append(self._pool.submit(removal))

    def finish(self) -> float:
        """Wait until every removal is done (before exiting); the seconds waited."""
        started = time.monotonic()
        while True:
            with self._lock:
                if not self._pending:
                    break
                future = self._pending.pop(0)
            future.result()
        return time.monotonic() - started

    def close(self) -> None:
        """finish(), then stop the pool's threads (a later submit starts a new pool)."""
        self.finish()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

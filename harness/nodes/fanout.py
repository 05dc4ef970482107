"""One function on every node at once: the cluster's worker pool.

Bring-up, converge passes and teardown all need "run this for each node, in parallel, and
raise the first error in node order"; the pool is created on first use and shut down by the
cluster's teardown (after the nodes were killed, so running execs have returned).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ALL_COMPLETED, FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")
MAX_WORKERS = 16


class Fanout:
    """A lazily started thread pool sized for a cluster's nodes."""

    def __init__(self, size: int, name: str) -> None:
        self._size, self._name = min(MAX_WORKERS, max(1, size)), name
        self._pool: ThreadPoolExecutor | None = None

    def each(self, items: Mapping[K, V], fn: Callable[[V], T],
             fail_fast: bool = False) -> dict[K, T]:
        """fn(item) for every item concurrently; the first error (in item order) is raised."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._size, thread_name_prefix=self._name)
        futures: dict[K, Future[T]] = {k: self._pool.submit(fn, v) for k, v in items.items()}
        done, _ = wait(futures.values(),
                       return_when=FIRST_EXCEPTION if fail_fast else ALL_COMPLETED)
        for future in futures.values():
            if future in done and (error := future.exception()) is not None:
                raise error
        return {k: future.result() for k, future in futures.items()}

    def shutdown(self, wait: bool = True) -> None:
        """Stop the workers; queued calls are cancelled (a running one finishes first if wait)."""
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)

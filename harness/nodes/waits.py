"""Readiness waits on tenacity: the only way the harness (and role specs) wait for something.

A wait that gives up raises ReadinessTimeout saying what it waited for, for how long, and the
last error seen, so a failed spec explains itself.
"""
from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TypeVar

from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_delay,
    wait_fixed,
)

from harness.errors import ReadinessTimeout

T = TypeVar("T")
RETRY_ON = (AssertionError, OSError)


def eventually(fn: Callable[[], T], timeout: float = 60, interval: float = 0.5, *,
               what: str | None = None, node: str | None = None,
               retry_on: tuple[type[BaseException], ...] = RETRY_ON) -> T:
    """Call fn until it stops raising AssertionError/OSError; return its value.

    Gives up after `timeout` seconds with ReadinessTimeout carrying the last error.
    """
    retrying = Retrying(stop=stop_after_delay(timeout), wait=wait_fixed(interval),
                        retry=retry_if_exception_type(retry_on))
    try:
        return retrying(fn)
    except RetryError as err:
        last = err.last_attempt.exception()
        label = what or getattr(fn, "__name__", "condition")
        raise ReadinessTimeout(f"{label} did not succeed within {timeout:g} s: "
                               f"{type(last).__name__}: {last}", node=node) from None


def wait_until(fn: Callable[[], T], accept: Callable[[T], bool], timeout: float = 60,
               interval: float = 0.2, *, what: str, node: str | None = None) -> T:
    """Call fn until accept(result); ReadinessTimeout naming the last result otherwise."""
    retrying = Retrying(stop=stop_after_delay(timeout), wait=wait_fixed(interval),
                        retry=retry_if_result(lambda r: not accept(r)))
    try:
        return retrying(fn)
    except RetryError as err:
        raise ReadinessTimeout(f"{what} not reached within {timeout:g} s "
                               f"(last: {err.last_attempt.result()!r})", node=node) from None


def wait_for_port(ip: str, port: int, timeout: float = 60, *, node: str | None = None,
                  interval: float = 0.2) -> None:
    """Wait until a TCP connection to ip:port succeeds."""
    def connect() -> None:
        with socket.create_connection((ip, port), timeout=min(2.0, timeout)):
            pass

    eventually(connect, timeout=timeout, interval=interval, what=f"port {ip}:{port}", node=node)

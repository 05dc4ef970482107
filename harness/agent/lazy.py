"""Chef's `lazy { }`: a property value computed at converge time instead of compile time.

Why: a search made while recipes compile runs within a second of the run's start, before
peers that bootstrap at the same time have saved their node. `lazy(fn)` defers `fn` until
the resource that holds it is about to run (after, e.g., a long package install).

A Lazy is memoized (the function runs at most once per run, its answer or its error is
kept) and callable (`members()` returns the value), so one lazy answer can feed several
resources consistently. Lazy values may sit at the top of a property or anywhere inside
its plain dicts, lists and tuples.
"""
from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from .errors import AgentError

_PENDING = object()


class LazyError(AgentError):
    """The lazy function raised; the message names where the lazy value was declared."""


class Lazy:
    """A deferred value; `where` is the recipe file:line of the `lazy(...)` call."""

    def __init__(self, fn: Callable[[], Any], where: str | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"lazy() takes a function without arguments, got {fn!r}")
        self.fn = fn
        self.where = where
        self._value: Any = _PENDING
        self._error: LazyError | None = None
        self._running = False

    def __call__(self) -> Any:
        """The value, computing it on first use; a failure is kept and raised again."""
        if self._error is not None:
            raise self._error
        if self._value is not _PENDING:
            return self._value
        if self._running:
            raise LazyError(f"lazy value ({self.where or 'recipe'}) depends on itself")
        self._running = True
        try:
            self._value = self.fn()
        except Exception as exc:  # noqa: BLE001 - whatever the recipe's function raises
            self._error = LazyError(self._describe(exc))
            raise self._error from None
        finally:
            self._running = False
        return self._value

    @property
    def resolved(self) -> bool:
        return self._value is not _PENDING

    def _describe(self, exc: BaseException) -> str:
        text = str(exc) if isinstance(exc, AgentError) else f"{type(exc).__name__}: {exc}"
        at = _recipe_line(exc, getattr(getattr(self.fn, "__code__", None), "co_filename", None))
        failed = f" failed at {at}" if at and at != self.where else " failed"
        return f"lazy value ({self.where or 'recipe'}){failed}: {text}"

    def __repr__(self) -> str:
        return f"<lazy from {self.where}>" if self.where else "<lazy>"


def _recipe_line(exc: BaseException, filename: str | None) -> str | None:
    """The innermost traceback line in the file that defines the lazy function."""
    found = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if filename and frame.f_code.co_filename == filename:
            found = f"{filename}:{lineno}"
    return found


def contains_lazy(value: Any) -> bool:
    """True when a Lazy sits in `value` or in its plain dicts, lists and tuples."""
    if isinstance(value, Lazy):
        return True
    if type(value) is dict:
        return any(contains_lazy(v) for v in value.values())
    if type(value) in (list, tuple):
        return any(contains_lazy(v) for v in value)
    return False


def resolve(value: Any) -> Any:
    """`value` with every Lazy replaced by its value (results are resolved too).

    Containers are copied only when they hold a Lazy; dict subclasses (node attributes,
    search rows) are values, never searched, so they are passed on as they are.
    """
    if isinstance(value, Lazy):
        return resolve(value())
    if not contains_lazy(value):
        return value
    if type(value) is dict:
        return {k: resolve(v) for k, v in value.items()}
    return type(value)(resolve(v) for v in value)

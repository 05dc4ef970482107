"""Chef's `lazy { }`: a property value computed at converge time instead of compile time.

Why: a search made while recipes compile runs within a second of the run's start, and a peer
is saved only when its own converge ends (as chef-client): a peer that bootstrapped a little
earlier may be there by the time a later resource converges. `lazy(fn)` defers `fn` until
the resource that holds it is about to run (after, e.g., a long package install).

A Lazy is memoized (the function runs at most once per run, its answer or its error is
kept) and callable (`members()` returns the value), so one lazy answer can feed several
resources consistently. A Lazy is a whole property value; inside plain dicts, lists and
tuples only in a template's variables (as Chef: see NESTED), and in a custom resource's
properties, whose action passes them on.
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


# Where a Lazy may sit inside a property's dicts and lists. Chef evaluates a lazy value
# nested in a Hash/Array only in a template's `variables` (provider/template/content.rb
# file_for_provider walks them); any other property is lazy only as a whole (property.rb
# get/stored_value_to_output: `value.is_a?(DelayedEvaluator)`), a nested one reaching the
# provider as a Proc (a TypeError for an environment value, its inspect text in a unit).
NESTED = {"template": frozenset({"variables"})}


def lazy_names(kind: str, props: dict[str, Any], keep_nested: bool) -> list[str]:
    """The properties of a `kind` resource holding a Lazy to resolve before its first
    action. A Lazy nested where Chef would not evaluate it is refused (ValueError), unless
    `keep_nested` (custom resources: their action passes the value on as it is)."""
    nested = NESTED.get(kind, frozenset())
    names = []
    for name, value in props.items():
        if isinstance(value, Lazy) or (name in nested and contains_lazy(value)):
            names.append(name)
        elif contains_lazy(value) and not keep_nested:
            raise ValueError(f"property {name}: lazy() inside a dict or list is only "
                             f"evaluated in a template's variables (Chef passes it on "
                             f"unevaluated); make the whole value lazy: "
                             f"{name}=lazy(lambda: ...)")
    return names


def resolve_property(kind: str, name: str, value: Any, keep_nested: bool) -> Any:
    """A property's value at converge: the whole of it (a Lazy returning a Lazy too) and,
    in a template's variables, what is nested (see lazy_names)."""
    if name in NESTED.get(kind, frozenset()):
        return resolve(value)
    while isinstance(value, Lazy):
        value = value()
    if contains_lazy(value) and not keep_nested:
        raise LazyError(f"the lazy value of {name} holds lazy values inside: only a "
                        "template's variables evaluate those")
    return value


def own_default(value: Any) -> Any:
    """This instance's copy of a property default. Chef (property.rb) freezes a default
    where it is defined and `get` hands each resource a `deep_dup` of it, stored on that
    resource when mutable: appending to `new_resource.options` never reaches the class
    default nor another resource. deep_dup recurses into Hash/Array (here plain dicts,
    lists, tuples; sets are copied) and leaves a lazy default as it is, evaluated for each
    resource (here a fresh Lazy per resource: ours are memoized)."""
    if isinstance(value, Lazy):
        return Lazy(value.fn, value.where)
    if type(value) is dict:
        return {k: own_default(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(own_default(v) for v in value)
    if type(value) in (set, bytearray):
        return type(value)(value)
    return value

"""Resource base: properties, actions, guards, notifications; subclasses do the work.

A resource is declared in the compile phase (a recipe calls e.g. `template(...)`) and run
in the converge phase: each action method returns whether it changed the system.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from . import shell
from .errors import ResourceFailure
from .lazy import Lazy, LazyError, contains_lazy, lazy_names, own_default, resolve_property

TIMINGS = {"delayed": "delayed", "immediately": "immediately", "immediate": "immediately",
           "before": "before"}
TARGET_RE = re.compile(r"^(\w+)\[(.+)\]$")
COMMON = ("action", "notifies", "subscribes", "only_if", "not_if", "ignore_failure", "retries",
          "retry_delay", "sensitive")  # Chef::Resource: `property :sensitive` on every resource


@dataclass
class Context:
    """Per-run state every resource sees; `run` is the command seam tests replace."""

    node: Any = None
    cookbooks: dict[str, Any] = field(default_factory=dict)
    run: shell.Runner = shell.run
    out: Callable[[str], None] = lambda line: print(line, flush=True)
    why_run: bool = False
    state: dict[str, Any] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep      # retry_delay waits (tests replace it)
    # custom resources: the Compiler collects an action's resources, the Converger runs them
    collect: Callable[..., tuple[list[Resource], bool]] | None = None
    converger: Any = None  # the Converger running now (converge.py; no import cycle)

    def step(self, message: str) -> None:
        """Say what a (possibly long) action is doing right now."""
        self.out(f"    - {message}")


@dataclass(frozen=True)
class Notification:
    action: str
    target: str
    timing: str


def parse_notifications(value: Any, owner: str, what: str) -> list[Notification]:
    """[(action, "type[name]", timing?)] or one such tuple; timing defaults to delayed."""
    if not value:
        return []
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], str):
        value = [value]
    out = []
    for entry in value:
        if not isinstance(entry, (tuple, list)) or len(entry) not in (2, 3):
            raise ResourceFailure(f"{what} entries are (action, 'type[name]'[, timing]), "
                                  f"got {entry!r}", owner)
        action, target = str(entry[0]), str(entry[1])
        timing = TIMINGS.get(str(entry[2]) if len(entry) == 3 else "delayed")
        if timing is None or not TARGET_RE.match(target):
            raise ResourceFailure(f"bad {what} entry {entry!r}: target must look like "
                                  "'service[name]', timing 'delayed', 'immediately' or "
                                  "'before'", owner)
        out.append(Notification(action, target, timing))
    return out


class Resource:
    """Base class: subclasses set `kind`, `actions`, `default_action`, `properties`."""

    kind: ClassVar[str] = ""
    actions: ClassVar[tuple[str, ...]] = ()
    default_action: ClassVar[str | list[str]] = "nothing"
    properties: ClassVar[dict[str, Any]] = {}
    keeps_nested_lazy: ClassVar[bool] = False  # custom resources (harness/agent/lazy.py NESTED)

    def __init__(self, ctx: Context, name: str, *, cookbook_name: str | None = None,
                 recipe_name: str | None = None, defined_at: str | None = None,
                 **kwargs: Any) -> None:
        self.ctx = ctx
        self.name = str(name)
        # Chef's resource.cookbook_name / recipe_name: where it was declared (resource_builder.rb;
        # inside a custom resource's action, the custom resource's own, provider.rb)
        self.cookbook = cookbook_name
        self.recipe = recipe_name
        self.defined_at = defined_at
        unknown = sorted(set(kwargs) - set(self.properties) - set(COMMON))
        if unknown:
            raise ResourceFailure(f"unknown propert{'y' if len(unknown) == 1 else 'ies'} "
                                  f"{', '.join(unknown)}; {self.kind} takes "
                                  f"{', '.join(sorted(self.properties))}", self.key)
        for option in COMMON:
            if contains_lazy(kwargs.get(option)):
                raise ResourceFailure(f"{option} cannot be lazy (only property values can: "
                                      f"{', '.join(sorted(self.properties))})", self.key)
        self.props = {k: kwargs[k] if k in kwargs else own_default(default)
                      for k, default in self.properties.items()}
        try:
            self.lazy_props = lazy_names(self.kind, self.props, self.keeps_nested_lazy)
        except ValueError as exc:
            raise ResourceFailure(str(exc), self.key) from None
        action = kwargs.get("action") or self.default_action
        self.action_list = [action] if isinstance(action, str) else list(action)
        for act in self.action_list:
            if act != "nothing" and act not in self.actions:
                raise ResourceFailure(f"unknown action {act!r}; {self.kind} supports "
                                      f"{', '.join(self.actions)}", self.key)
        self.notifies = parse_notifications(kwargs.get("notifies"), self.key, "notifies")
        self.subscribes = parse_notifications(kwargs.get("subscribes"), self.key, "subscribes")
        self.only_if = kwargs.get("only_if")
        self.not_if = kwargs.get("not_if")
        self.ignore_failure = _ignore_failure(kwargs.get("ignore_failure"), self.key)
        self.retries = _count(kwargs.get("retries", 0), "retries", self.key)
        self.retry_delay = _count(kwargs.get("retry_delay", 2), "retry_delay", self.key)
        self.sensitive = _sensitive(kwargs.get("sensitive"), self.key)
        # set by a custom resource whose action changed something, even if it then failed
        self.updated_by_last_action = False
        self.validate()

    @property
    def key(self) -> str:
        return f"{self.kind}[{self.name}]"

    def __repr__(self) -> str:
        return self.key

    def validate(self) -> None:
        """Check property values at declaration time (subclasses); a check skips a property
        that is still lazy (`pending`) and runs again on the resolved values."""

    def check_action(self, action: str) -> None:
        """Checks Chef's provider makes when `action` runs, after the guards (custom
        resources: `required`); why-run makes them too."""

    def pending(self, name: str) -> bool:
        """True while property `name` holds a lazy value that has not been resolved."""
        return name in self.lazy_props

    def check_booleans(self, *names: str) -> None:
        """Chef types these properties [TrueClass, FalseClass]: anything else (a "yes", a 1)
        is refused at declaration instead of being read as one or the other."""
        for name in names:
            value = self.props[name]
            if not self.pending(name) and not isinstance(value, bool):
                raise self.fail(f"{name} must be True or False, not {value!r}")

    def resolve_lazy(self) -> None:
        """Replace lazy property values by their values, then validate them like declared
        ones. Called before the resource's first action (guards may read properties)."""
        if not self.lazy_props:
            return
        names = list(self.lazy_props)
        for name in names:
            try:
                self.props[name] = resolve_property(self.kind, name, self.props[name],
                                                    self.keeps_nested_lazy)
            except LazyError as exc:
                raise self.fail(f"property {name}: {exc}") from None
        self.lazy_props = []
        try:
            self.validate()
        except ResourceFailure as exc:
            self.lazy_props = names  # stays failed: a later action must not run unchecked
            raise self.fail(f"bad value from lazy {', '.join(names)}: {exc}") from None

    def describe(self) -> dict[str, Any]:
        """Properties as why-run shows them (JSON-friendly)."""
        props = {k: _jsonable(v) for k, v in self.props.items()}
        for name in ("only_if", "not_if"):
            if getattr(self, name) is not None:
                props[name] = _jsonable(getattr(self, name))
        if self.notifies:
            props["notifies"] = [[n.action, n.target, n.timing] for n in self.notifies]
        if self.subscribes:
            props["subscribes"] = [[n.action, n.target, n.timing] for n in self.subscribes]
        if self.retries:
            props.update(retries=self.retries, retry_delay=self.retry_delay)
        if self.sensitive:
            props["sensitive"] = True
        return props

    def skip_reason(self) -> str | None:
        """Why the guards say not to run, or None to run."""
        if self.only_if is not None and not self._guard(self.only_if):
            return "only_if"
        if self.not_if is not None and self._guard(self.not_if):
            return "not_if"
        return None

    def _guard(self, guard: Any) -> bool:
        if callable(guard):
            return bool(guard())
        if isinstance(guard, str):
            result = self.ctx.run(guard, **self.guard_options())
            if result.error is not None:
                # Neither guard interpreter rescues what shell_out raises here: an exec error
                # (Errno::ENOENT for a missing program run without a shell) or a timeout
                # (Mixlib::ShellOut::CommandTimeout; the `rescue Chef::Exceptions::
                # CommandTimeout` in conditional.rb names another class), so the resource fails
                raise self.fail(f"guard {guard!r}: {result.error}")
            return result.rc == 0
        raise ResourceFailure(f"guards are shell strings or callables, got {guard!r}", self.key)

    def guard_options(self) -> dict[str, Any]:
        """How shell guards run. Chef's DefaultGuardInterpreter (every resource but
        execute): `shell_out(command, default_env: false)` with none of the resource's
        options, and mixlib-shellout's default timeout, 600 s (DEFAULT_READ_TIMEOUT)."""
        return {"timeout": 600}

    def would_change(self, action: str) -> bool:
        """Whether `action` would change the system, computed without changing it (Chef runs
        a forced why-run for `notifies ... :before`). True unless a resource knows better,
        as Chef's why-run assumes for commands and restarts."""
        return action != "nothing"

    def apply(self, action: str) -> bool:
        """Run one action; True when something changed."""
        if action == "nothing":
            return False
        if action not in self.actions:
            raise ResourceFailure(f"{self.kind} has no action {action!r}", self.key)
        return bool(getattr(self, "action_" + action)())

    def fail(self, message: str) -> ResourceFailure:
        return ResourceFailure(message, self.key)

    def command(self, cmd: shell.Command, what: str, **kwargs: Any) -> shell.Completed:
        """Run a command that must succeed; the failure names it and shows its output."""
        started = time.monotonic()
        result = self.ctx.run(cmd, **kwargs)
        if result.rc != 0:
            shown = cmd if isinstance(cmd, str) else " ".join(cmd)
            tail = result.tail()
            raise self.fail(f"{what} failed (exit {result.rc} after "
                            f"{time.monotonic() - started:.1f}s): {shown}"
                            + (f"\n{tail}" if tail else ""))
        return result


def _ignore_failure(value: Any, owner: str) -> bool | str:
    """resource.rb: `property :ignore_failure, [ true, false, :quiet, "quiet" ]`."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if value == "quiet":
        return "quiet"
    raise ResourceFailure(f"ignore_failure must be True, False or 'quiet', not {value!r}", owner)


def _sensitive(value: Any, owner: str) -> bool:
    """resource.rb: `property :sensitive, [ TrueClass, FalseClass ]`."""
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ResourceFailure(f"sensitive must be True or False, not {value!r}", owner)
    return value


def _count(value: Any, name: str, owner: str) -> int:
    """retries / retry_delay: a whole number >= 0 (Chef: Integer properties)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ResourceFailure(f"{name} must be a whole number >= 0, got {value!r}", owner)
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, Lazy):
        return repr(value)
    if callable(value):
        return f"<python {getattr(value, '__name__', 'callable')}>"
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


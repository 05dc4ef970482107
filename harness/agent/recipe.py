"""The compile phase: exec() each recipe with the resource API as its globals.

Resources are collected in declaration order (include_recipe inlines another recipe where it
is called, once per run). Errors name the cookbook, recipe file and line.
"""
from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Any

from .accounts import Group, User
from .apt import AptRepository, AptUpdate
from .cron import CronD
from .custom import define
from .errors import AgentError, RecipeError, ResourceFailure
from .execute import Execute, Log
from .files import CookbookFile, Directory, File, Link, Template
from .lazy import Lazy
from .packages import Package, Service
from .remote_file import RemoteFile
from .resource import Context, Resource
from .script import Bash, Script
from .sysctl import Sysctl
from .systemd import SystemdUnit

RESOURCE_TYPES: dict[str, type[Resource]] = {
    cls.kind: cls for cls in (Package, File, CookbookFile, Template, Directory, Link, User,
                              Group, Service, Execute, Log, CronD, Sysctl, SystemdUnit,
                              AptUpdate, AptRepository, Script, Bash, RemoteFile)}


def recipe_name(item: str) -> str:
    """"recipe[cb::x@1.0]", "cb" or "cb::x" -> "cb::x" ("cb" means "cb::default")."""
    item = item.strip()
    if item.startswith("recipe[") and item.endswith("]"):
        item = item[len("recipe["):-1]
    item = item.split("@", 1)[0]
    return item if "::" in item else f"{item}::default"


class Compiler:
    """Runs recipes and collects their resources; `api` are the extra globals (search...)."""

    def __init__(self, ctx: Context, api: dict[str, Callable[..., Any]]) -> None:
        self.ctx = ctx
        self.api = api
        self.resources: list[Resource] = []
        self.loaded: list[str] = []
        self.stack: list[tuple[str, str]] = []   # (recipe, label) being executed
        self.labels: dict[str, str] = {}         # file label -> recipe
        self.collecting: list[dict[str, bool]] = []  # custom resource actions being run
        self.types = dict(RESOURCE_TYPES)
        ctx.collect = self.collect
        self.load_custom_resources()

    def include_recipe(self, item: str) -> None:
        """Compile a recipe unless it already was in this run."""
        name = recipe_name(item)
        if name in self.loaded:
            return
        cookbook, _, short = name.partition("::")
        book = self.ctx.cookbooks.get(cookbook)
        if book is None:
            raise RecipeError(f"recipe {name}: cookbook {cookbook} is not in this node's "
                              f"policy (cookbooks: {', '.join(sorted(self.ctx.cookbooks))})",
                              f"recipe[{name}]")
        path = f"recipes/{short}.py"
        if not book.has(path):
            raise RecipeError(f"recipe {name}: cookbook {cookbook} {book.version} has no {path}",
                              f"recipe[{name}]")
        self.loaded.append(name)
        label = book.label(path)
        self.labels[label] = name
        self.stack.append((name, label))
        try:
            code = compile(book.read(path), label, "exec")
            exec(code, self.globals_for(cookbook, short))
        except RecipeError:
            raise
        except SyntaxError as exc:
            raise RecipeError(f"recipe {name} ({label}:{exc.lineno}): SyntaxError: {exc.msg}",
                              f"recipe[{name}]") from None
        except Exception as exc:
            where = self._where(exc, label)
            resource = getattr(exc, "resource", None) or f"recipe[{name}]"
            text = str(exc) if isinstance(exc, AgentError) else f"{type(exc).__name__}: {exc}"
            raise RecipeError(f"recipe {name} ({where}): {text}", resource) from None
        finally:
            self.stack.pop()

    def _where(self, exc: BaseException, label: str) -> str:
        line = None
        for frame, lineno in traceback.walk_tb(exc.__traceback__):
            if frame.f_code.co_filename == label:
                line = lineno
        return f"{label}:{line}" if line else label

    def location(self) -> str | None:
        """Recipe file and line of the innermost recipe frame calling us."""
        frame: FrameType | None = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_filename in self.labels:
                return f"{frame.f_code.co_filename}:{frame.f_lineno}"
            frame = frame.f_back
        return None

    def globals_for(self, cookbook: str, short: str) -> dict[str, Any]:
        env: dict[str, Any] = {"__name__": f"recipe:{cookbook}::{short}",
                               "__builtins__": __builtins__,
                               "cookbook_name": cookbook, "recipe_name": short,
                               "node": self.ctx.node, "include_recipe": self.include_recipe,
                               "lazy": self.lazy}
        env.update(self.api)
        for kind, cls in self.types.items():
            env[kind] = self._factory(cls, cookbook)
        return env

    # -- custom resources (harness/agent/custom.py) ----------------------------------------
    def load_custom_resources(self) -> None:
        """Every cookbook's resources/NAME.py becomes a resource type (COOKBOOK_NAME); each
        file's actions can use every type, whichever file defines it."""
        envs: list[tuple[dict[str, Any], str]] = []
        for cookbook in sorted(self.ctx.cookbooks):
            book = self.ctx.cookbooks[cookbook]
            for path in sorted(p for p in book.paths
                               if p.startswith("resources/") and p.endswith(".py")
                               and p.count("/") == 1):
                label = book.label(path)
                self.labels[label] = f"{cookbook} {path}"
                env = self.globals_for(cookbook, path[len("resources/"):-3])
                env["converge_by"] = self.converge_by
                env["__name__"] = f"resource:{cookbook}/{path}"
                where = f"recipe[{cookbook}]"
                try:
                    exec(compile(book.read(path), label, "exec"), env)
                    kind = str(env.get("provides") or f"{cookbook}_{path[10:-3]}")
                    if kind in self.types:
                        raise ValueError(f"resource type {kind} is already defined "
                                         f"({getattr(self.types[kind], 'source', 'built in')})")
                    self.types[kind] = define(kind, env, label)
                    envs.append((env, cookbook))
                except SyntaxError as exc:
                    raise RecipeError(f"{label}:{exc.lineno}: SyntaxError: {exc.msg}",
                                      where) from None
                except Exception as exc:
                    text = str(exc) if isinstance(exc, (AgentError, ValueError)) \
                        else f"{type(exc).__name__}: {exc}"
                    raise RecipeError(f"custom resource {self._where(exc, label)}: {text}",
                                      where) from None
        for env, cookbook in envs:
            for kind, cls in self.types.items():
                env.setdefault(kind, self._factory(cls, cookbook))

    def collect(self, fn: Callable[[], Any], owner: str, predict: bool
                ) -> tuple[list[Resource], bool]:
        """Run a custom resource action's body; (resources it declared, converge_by ran)."""
        saved, self.resources = self.resources, []
        self.collecting.append({"updated": False, "predict": predict})
        try:
            fn()
            return self.resources, self.collecting[-1]["updated"]
        except AgentError:
            raise
        except Exception as exc:
            line = None
            for frame, lineno in traceback.walk_tb(exc.__traceback__):
                if frame.f_code.co_filename in self.labels:
                    line = f"{frame.f_code.co_filename}:{lineno}"
            raise ResourceFailure(f"action body failed{f' at {line}' if line else ''}: "
                                  f"{type(exc).__name__}: {exc}", owner) from None
        finally:
            self.resources = saved
            self.collecting.pop()

    def converge_by(self, description: str, fn: Callable[[], Any]) -> None:
        """Chef's converge_by inside a custom resource action: run fn, count as a change."""
        if not self.collecting:
            raise RecipeError("converge_by() only works inside a custom resource action")
        self.collecting[-1]["updated"] = True
        if not self.collecting[-1]["predict"]:
            self.ctx.step(description)
            fn()

    def lazy(self, fn: Callable[[], Any]) -> Lazy:
        """A property value computed when its resource converges (memoized, callable)."""
        return Lazy(fn, self.location())

    def _factory(self, cls: type[Resource], cookbook: str) -> Callable[..., Resource]:
        def declare(name: str, **kwargs: Any) -> Resource:
            where = self.location()
            if isinstance(name, Lazy):
                recipe = self.stack[-1][0] if self.stack else "?"
                raise RecipeError(f"recipe {recipe} ({where}): {cls.kind}() name cannot be "
                                  "lazy: names identify resources for notifications and "
                                  "reports before the converge starts", f"recipe[{recipe}]")
            try:
                res = cls(self.ctx, name, cookbook=cookbook, defined_at=where, **kwargs)
            except ResourceFailure as exc:
                raise RecipeError(f"{exc.resource} ({where}): {exc}", exc.resource) from None
            self.resources.append(res)
            return res
        declare.__name__ = cls.kind
        return declare

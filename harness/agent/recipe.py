"""The compile phase: exec() each recipe with the resource API as its globals.

Resources are collected in declaration order (include_recipe inlines another recipe where it
is called, once per run). Errors name the cookbook, recipe file and line.
"""
from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass
class _Action:
    """A custom resource action whose body is running: its resource's cookbook and recipe,
    whether this is a `before` prediction, who converges what it declares (unified mode),
    and whether a converge_by ran."""

    cookbook: str | None
    recipe: str | None
    predict: bool
    declare: Callable[[Resource], None] | None = None
    updated: bool = False


def _flatten(items: Any) -> list[Any]:
    out: list[Any] = []
    for item in items:
        out.extend(_flatten(item) if isinstance(item, (list, tuple)) else [item])
    return out


class Compiler:
    """Runs recipes and collects their resources; `api` are the extra globals (search...)."""

    def __init__(self, ctx: Context, api: dict[str, Callable[..., Any]]) -> None:
        self.ctx = ctx
        self.api = api
        self.resources: list[Resource] = []
        self.loaded: list[str] = []
        self.stack: list[tuple[str, str]] = []   # (recipe, label) being executed
        self.labels: dict[str, str] = {}         # file label -> recipe
        self.collecting: list[_Action] = []      # custom resource actions being run
        self.types = dict(RESOURCE_TYPES)
        ctx.collect = self.collect
        self.load_custom_resources()

    def include_recipe(self, item: str) -> None:
        """Compile a recipe unless it already was in this run."""
        name = recipe_name(item)
        if name in self.loaded:
            return
        cookbook, _, short = name.partition("::")
        # run_context.rb load_recipe: node.loaded_recipe before the cookbook loads the file
        if self.ctx.node is not None:
            self.ctx.node.loaded_recipe(cookbook, short)
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

    def globals_for(self, cookbook: str, short: str, *, action: bool = False
                    ) -> dict[str, Any]:
        """A recipe's globals. With `action` (a resources/NAME.py file), the resource
        factories, include_recipe's "::x" and cookbook_name follow the custom resource whose
        action is running, as Chef's provider DSL (see `_origin`)."""
        env: dict[str, Any] = {"__name__": f"recipe:{cookbook}::{short}",
                               "__builtins__": __builtins__,
                               "cookbook_name": cookbook, "recipe_name": short,
                               "node": self.ctx.node, "lazy": self.lazy}
        origin = None if action else (cookbook, short)
        env["include_recipe"] = self._includer(origin, cookbook)
        env.update(self.api)
        for kind, cls in self.types.items():
            env[kind] = self._factory(cls, origin, cookbook, short)
        return env

    def _origin(self, origin: tuple[str, str] | None, cookbook: str, short: str
                ) -> tuple[str | None, str | None]:
        """(cookbook_name, recipe_name) of a resource declared now. In a recipe: the recipe's.
        In a custom resource's action: the custom resource's own, i.e. the cookbook of the
        recipe that declared it, not the one defining it (Chef: declare_resource.rb
        build_resource passes `cookbook_name: cookbook_name`, and provider.rb `def
        cookbook_name; new_resource.cookbook_name; end`), so a template or cookbook_file in
        an action is looked up in the caller's cookbook unless it says `cookbook=`."""
        if origin is None and self.collecting:
            return self.collecting[-1].cookbook, self.collecting[-1].recipe
        return origin or (cookbook, short)

    def _includer(self, origin: tuple[str, str] | None, cookbook: str) -> Callable[..., None]:
        """include_recipe(*names): Chef's DSL passes `current_cookbook: cookbook_name`, so
        "::x" is a recipe of the current cookbook (recipe.rb parse_recipe_name), and takes
        several names (dsl/include_recipe.rb `*recipe_names`, flattened)."""
        def include_recipe(*items: Any) -> None:
            current = self._origin(origin, cookbook, "")[0]
            for item in _flatten(items):
                item = str(item)
                if item.startswith("::"):
                    if current is None:
                        raise RecipeError(f"current cookbook is unknown, cannot resolve {item}",
                                          f"recipe[{item}]")
                    item = f"{current}{item}"
                self.include_recipe(item)
        return include_recipe

    # -- custom resources (harness/agent/custom.py) ----------------------------------------
    def load_custom_resources(self) -> None:
        """Every cookbook's resources/NAME.py becomes a resource type (COOKBOOK_NAME); each
        file's actions can use every type, whichever file defines it."""
        envs: list[tuple[dict[str, Any], str, str]] = []
        for cookbook in sorted(self.ctx.cookbooks):
            book = self.ctx.cookbooks[cookbook]
            for path in sorted(p for p in book.paths
                               if p.startswith("resources/") and p.endswith(".py")
                               and p.count("/") == 1):
                label = book.label(path)
                self.labels[label] = f"{cookbook} {path}"
                env = self.globals_for(cookbook, path[len("resources/"):-3], action=True)
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
                    envs.append((env, cookbook, path[len("resources/"):-3]))
                except SyntaxError as exc:
                    raise RecipeError(f"{label}:{exc.lineno}: SyntaxError: {exc.msg}",
                                      where) from None
                except Exception as exc:
                    text = str(exc) if isinstance(exc, (AgentError, ValueError)) \
                        else f"{type(exc).__name__}: {exc}"
                    raise RecipeError(f"custom resource {self._where(exc, label)}: {text}",
                                      where) from None
        for env, cookbook, stem in envs:
            for kind, cls in self.types.items():
                env.setdefault(kind, self._factory(cls, None, cookbook, stem))

    def collect(self, fn: Callable[[], Any], owner: Resource, predict: bool,
                declare: Callable[[Resource], None] | None = None
                ) -> tuple[list[Resource], bool]:
        """Run a custom resource action's body; (resources it declared, converge_by ran).
        `declare` gets each resource as it is declared (unified mode converges it then)."""
        saved, self.resources = self.resources, []
        self.collecting.append(_Action(owner.cookbook, owner.recipe, predict, declare))
        try:
            fn()
            return self.resources, self.collecting[-1].updated
        except AgentError:
            raise
        except Exception as exc:
            line = None
            for frame, lineno in traceback.walk_tb(exc.__traceback__):
                if frame.f_code.co_filename in self.labels:
                    line = f"{frame.f_code.co_filename}:{lineno}"
            raise ResourceFailure(f"action body failed{f' at {line}' if line else ''}: "
                                  f"{type(exc).__name__}: {exc}", owner.key) from None
        finally:
            self.resources = saved
            self.collecting.pop()

    def converge_by(self, description: str, fn: Callable[[], Any]) -> None:
        """Chef's converge_by inside a custom resource action: run fn, count as a change."""
        if not self.collecting:
            raise RecipeError("converge_by() only works inside a custom resource action")
        self.collecting[-1].updated = True
        if not self.collecting[-1].predict:
            self.ctx.step(description)
            fn()

    def lazy(self, fn: Callable[[], Any]) -> Lazy:
        """A property value computed when its resource converges (memoized, callable)."""
        return Lazy(fn, self.location())

    def _factory(self, cls: type[Resource], origin: tuple[str, str] | None, cookbook: str,
                 short: str) -> Callable[..., Resource]:
        def declare(name: str, **kwargs: Any) -> Resource:
            where = self.location()
            book, recipe = self._origin(origin, cookbook, short)
            if isinstance(name, Lazy):
                recipe = self.stack[-1][0] if self.stack else "?"
                raise RecipeError(f"recipe {recipe} ({where}): {cls.kind}() name cannot be "
                                  "lazy: names identify resources for notifications and "
                                  "reports before the converge starts", f"recipe[{recipe}]")
            try:
                res = cls(self.ctx, name, cookbook_name=book, recipe_name=recipe,
                          defined_at=where, **kwargs)
            except ResourceFailure as exc:
                raise RecipeError(f"{exc.resource} ({where}): {exc}", exc.resource) from None
            self.resources.append(res)
            if self.collecting and self.collecting[-1].declare is not None:
                self.collecting[-1].declare(res)  # unified mode: converges it now
            return res
        declare.__name__ = cls.kind
        return declare

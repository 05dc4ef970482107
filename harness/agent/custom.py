"""Custom resources: a cookbook's resources/NAME.py, Chef's custom resource DSL in Python.

Chef (docs "Custom Resources", lib/chef/resource/lwrp_base.rb, lib/chef/provider.rb
compile_and_converge_action): a file resources/NAME.rb in cookbook CB defines the resource type
CB_NAME (or what `provides` says) with `property` lines and `action :x do ... end` blocks whose
body declares other resources into a sub-collection; in unified mode (Chef 19's default,
harness/agent/unified.py) each converges as it is declared, else all once the body is done;
the custom resource counts as updated when one of them was. The first action declared is
the default. Here:

    # cookbooks/web/resources/site.py  -> resource type web_site
    properties = {"port": 80, "root": None}      # name -> default
    required = ["root"]                          # optional
    name_property = "site_name"                  # optional: defaults to the resource name
    provides = "web_site"                        # optional; default COOKBOOK_FILE
    default_action = "create"                    # optional; default: the first action_*
    unified_mode = False                         # optional; default True (Chef 19)

    def action_create(new_resource):             # new_resource.port, new_resource.name
        directory(new_resource.root)
        template(f"/etc/web/{new_resource.name}.conf", source="site.conf.j2",
                 variables={"port": new_resource.port}, notifies=[("reload", "service[web]")])

The file runs with the recipe globals (resources, node, search, data_bag_item, lazy) plus
`converge_by(description, fn)` (runs fn, counts as a change); in an action, resources,
`cookbook_name`, `recipe_name` and include_recipe("::x") are those of the recipe that
declared the custom resource (templates are looked up there). Notifications from inside
reach resources of the same action and of the recipes (delayed ones to the recipes' run at
the end of the run). `required` properties are checked when an action runs.
Why-run lists the custom resource itself, not the resources inside (ChefSpec without step_into).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from . import unified
from .errors import ResourceFailure
from .resource import Resource


class Properties:
    """What an action sees as `new_resource`: the properties by attribute, plus name."""

    def __init__(self, res: CustomResource) -> None:
        self._res = res

    @property
    def name(self) -> str:
        return self._res.name

    @property
    def cookbook_name(self) -> str | None:
        """The cookbook of the recipe that declared the custom resource (Chef's
        new_resource.cookbook_name), where its action's templates are looked up."""
        return self._res.cookbook

    @property
    def recipe_name(self) -> str | None:
        return self._res.recipe

    def __getattr__(self, key: str) -> Any:
        props = self._res.props
        if key not in props:
            raise AttributeError(f"{self._res.key} has no property {key!r} (properties: "
                                 f"{', '.join(sorted(props)) or 'none'})")
        return props[key]

    def __repr__(self) -> str:
        return f"new_resource<{self._res.key}>"


class CustomResource(Resource):
    """Base of the types built by `define`; the action functions come from the file."""

    action_fns: ClassVar[dict[str, Callable[[Properties], Any]]] = {}
    required: ClassVar[tuple[str, ...]] = ()
    name_property: ClassVar[str | None] = None
    source: ClassVar[str] = ""
    # Chef's property get evaluates only a whole lazy value: one nested in a dict or list
    # reaches the action as it is, which may hand it to a template's variables
    keeps_nested_lazy: ClassVar[bool] = True
    unified_mode: ClassVar[bool] = True  # Chef 19's default (harness/agent/unified.py)

    def validate(self) -> None:
        if self.name_property and self.props.get(self.name_property) is None:
            self.props[self.name_property] = self.name

    def check_action(self, action: str) -> None:
        """`required` properties are checked when an action runs, after the guards, not at
        declaration (provider.rb run_action: `validate_required_properties!`, each
        required property `get`, which raises "is a required property" on nil; resource.rb
        run_action never reaches the provider for :nothing or a guard that skips)."""
        if action == "nothing":
            return
        missing = [p for p in self.required if self.props[p] is None]
        if missing:
            raise self.fail(f"required propert{'y' if len(missing) == 1 else 'ies'} "
                            f"{', '.join(missing)} not set (defined in {self.source})")

    def collect(self, action: str, *, predict: bool = False,
                declare: Callable[[Resource], None] | None = None
                ) -> tuple[list[Resource], bool]:
        """Run the action's body: the resources it declares, in order, and whether a
        converge_by in it ran (with predict, converge_by only says it would); `declare`
        is called with each resource as it is declared (unified mode)."""
        collect = self.ctx.collect
        if collect is None:
            raise self.fail("custom resources need the recipe compiler")
        fn = self.action_fns[action]
        return collect(lambda: self._call(fn), self, predict, declare)

    def _call(self, fn: Callable[[Properties], Any]) -> Any:
        """Run an action function with `cookbook_name`/`recipe_name` set to this resource's
        (Chef's provider.rb: `def cookbook_name; new_resource.cookbook_name; end`, and
        recipe_name the same), then restore the file's globals (actions may nest)."""
        env = getattr(fn, "__globals__", {})
        saved = {k: env[k] for k in ("cookbook_name", "recipe_name") if k in env}
        env.update(cookbook_name=self.cookbook, recipe_name=self.recipe)
        try:
            return fn(Properties(self))
        finally:
            env.update(saved)

    def would_change(self, action: str) -> bool:
        if action == "nothing":
            return False
        self.check_action(action)
        inner, updated = self.collect(action, predict=True)
        if updated:
            return True
        for r in inner:
            if all(a == "nothing" for a in r.action_list):
                continue
            # Chef's forced why-run (runner.rb run_action) converges the action's resources
            # in why-run: a lazy value is read as it would be, before the guards
            r.resolve_lazy()
            if r.skip_reason() is None and any(r.would_change(a) for a in r.action_list):
                return True
        return False

    def apply(self, action: str) -> bool:
        if action == "nothing":
            return False
        if action not in self.actions:
            raise self.fail(f"{self.kind} has no action {action!r}")
        self.check_action(action)
        converger = self.ctx.converger
        if converger is None:
            raise self.fail("custom resources need a converger")
        try:
            if self.unified_mode:
                return unified.converge_action(
                    converger, self,
                    lambda declare: self.collect(action, declare=declare)[1])
            inner, updated = self.collect(action)
            return unified.converge_collected(converger, inner, self) or updated
        except ResourceFailure as exc:
            if exc.resource == self.key:  # its own action body failed
                raise
            raise self.fail(f"{exc.resource}: {exc}") from None


def define(kind: str, module: dict[str, Any], label: str) -> type[CustomResource]:
    """The resource class described by an executed resources/NAME.py namespace."""
    fns = {k[len("action_"):]: v for k, v in module.items()
           if k.startswith("action_") and callable(v)}
    if not fns:
        raise ValueError(f"{label} defines no action_NAME(new_resource) function")
    properties = module.get("properties", {})
    if not isinstance(properties, dict):
        raise ValueError(f"{label}: properties must be a dict of name -> default")
    name_property = module.get("name_property")
    if name_property is not None:
        properties = {**properties, str(name_property): properties.get(name_property)}
    default = module.get("default_action", next(iter(fns)))
    if default not in fns:
        raise ValueError(f"{label}: default_action {default!r} is not one of "
                         f"{', '.join(fns)}")
    attrs = {"kind": kind, "actions": tuple(fns), "default_action": default,
             "properties": dict(properties), "action_fns": fns,
             "required": tuple(module.get("required", ())), "name_property": name_property,
             "source": label, "unified_mode": _flag(module.get("unified_mode", True), label)}
    return type(f"Custom_{kind}", (CustomResource,), attrs)


def _flag(value: Any, label: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{label}: unified_mode must be True or False, not {value!r}")
    return value

"""Custom resources: a cookbook's resources/NAME.py, Chef's custom resource DSL in Python.

Chef (docs "Custom Resources", lib/chef/resource/lwrp_base.rb, lib/chef/provider.rb
compile_and_converge_action): a file resources/NAME.rb in cookbook CB defines the resource type
CB_NAME (or what `provides` says) with `property` lines and `action :x do ... end` blocks whose
body declares other resources; each action compiles those into a sub-collection and converges it
right away; the custom resource counts as updated when one of them was. The first action
declared is the default. Here:

    # cookbooks/web/resources/site.py  -> resource type web_site
    properties = {"port": 80, "root": None}      # name -> default
    required = ["root"]                          # optional
    name_property = "site_name"                  # optional: defaults to the resource name
    provides = "web_site"                        # optional; default COOKBOOK_FILE
    default_action = "create"                    # optional; default: the first action_*

    def action_create(new_resource):             # new_resource.port, new_resource.name
        directory(new_resource.root)
        template(f"/etc/web/{new_resource.name}.conf", source="site.conf.j2",
                 variables={"port": new_resource.port}, notifies=[("reload", "service[web]")])

The file runs with the recipe globals (resources, node, search, data_bag_item, lazy) plus
`converge_by(description, fn)` (runs fn, counts as a change). Notifications from inside reach
resources of the same action and of the recipes (delayed ones run at the end of the run).
Why-run lists the custom resource itself, not the resources inside (ChefSpec without step_into).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from .errors import ResourceFailure
from .resource import Resource


class Properties:
    """What an action sees as `new_resource`: the properties by attribute, plus name."""

    def __init__(self, res: CustomResource) -> None:
        self._res = res

    @property
    def name(self) -> str:
        return self._res.name

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

    def validate(self) -> None:
        if self.name_property and self.props.get(self.name_property) is None:
            self.props[self.name_property] = self.name
        missing = [p for p in self.required if not self.pending(p) and self.props[p] is None]
        if missing:
            raise self.fail(f"required propert{'y' if len(missing) == 1 else 'ies'} "
                            f"{', '.join(missing)} not set (defined in {self.source})")

    def collect(self, action: str, *, predict: bool = False) -> tuple[list[Resource], bool]:
        """Run the action's body: the resources it declares, in order, and whether a
        converge_by in it ran (with predict, converge_by only says it would)."""
        collect = self.ctx.collect
        if collect is None:
            raise self.fail("custom resources need the recipe compiler")
        fn = self.action_fns[action]
        return collect(lambda: fn(Properties(self)), self.key, predict)

    def would_change(self, action: str) -> bool:
        if action == "nothing":
            return False
        inner, updated = self.collect(action, predict=True)
        return updated or any(r.skip_reason() is None and r.would_change(a)
                              for r in inner for a in r.action_list)

    def apply(self, action: str) -> bool:
        if action == "nothing":
            return False
        if action not in self.actions:
            raise self.fail(f"{self.kind} has no action {action!r}")
        sub = self.ctx.sub_converge
        if sub is None:
            raise self.fail("custom resources need a converger")
        inner, updated = self.collect(action)
        try:
            return sub(inner) or updated
        except ResourceFailure as exc:
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
             "source": label}
    return type(f"Custom_{kind}", (CustomResource,), attrs)

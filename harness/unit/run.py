"""What a unit converge returns: the resources the run declared, its node, its output.

Shaped after ChefSpec's runner: `run.resource("template", "/etc/x").content` is the rendered
text, `.action` the declared actions, `run.node["a"]["b"]` the merged attributes after every
recipe ran. Asking for a resource the run does not have is an error listing what it has.
"""
from __future__ import annotations

from typing import Any

from harness.agent.node import Node
from harness.errors import HarnessError


class UnitError(HarnessError):
    """A unit converge failed (bad input, a recipe, a resource) or a lookup found nothing."""


class ResourceView:
    """One declared resource as why-run describes it; properties read as attributes."""

    def __init__(self, key: str, actions: list[str], properties: dict[str, Any]) -> None:
        self.key = key
        self.type, _, rest = key.partition("[")
        self.name = rest[:-1]
        self.action = actions
        self.properties = properties

    @property
    def notifies(self) -> list[tuple[str, str, str]]:
        """[(action, "type[name]", timing)]: checked against the run's resources already."""
        return [tuple(n) for n in self.properties.get("notifies", [])]

    @property
    def subscribes(self) -> list[tuple[str, str, str]]:
        return [tuple(n) for n in self.properties.get("subscribes", [])]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self.properties[name]
        except KeyError:
            raise AttributeError(f"{self.key} has no property {name!r} (it has: "
                                 f"{', '.join(sorted(self.properties)) or 'none'})") from None

    def __repr__(self) -> str:
        return f"<{self.key} action={self.action}>"


class UnitRun:
    """The answer of harness.unit.converge()."""

    def __init__(self, node: Node, run_list: list[str], environment: str,
                 entries: list[dict[str, Any]], output: list[str],
                 searches: dict[tuple[str, str], list[str]]) -> None:
        self.node = node
        self.run_list = run_list
        self.environment = environment
        self.output = output
        self.searches = searches
        views: dict[str, ResourceView] = {}
        for entry in entries:
            key = entry["resource"]
            if key in views:
                views[key].action.append(entry["action"])
            else:
                views[key] = ResourceView(key, [entry["action"]], entry["properties"])
        self.resources = list(views.values())
        self._by_key = views

    def resource(self, type_: str, name: str) -> ResourceView:
        """The resource `type_[name]`; UnitError listing the run's resources otherwise."""
        key = f"{type_}[{name}]"
        if key in self._by_key:
            return self._by_key[key]
        same = [r.name for r in self.resources if r.type == type_]
        raise UnitError(f"{key} is not in the run of {self.node.name} "
                        f"({', '.join(self.run_list)}, environment {self.environment}); "
                        + (f"its {type_} resources: {', '.join(same)}" if same else
                           f"it has no {type_} resource; it has: "
                           + ", ".join(r.key for r in self.resources)))

    def find(self, type_: str) -> list[ResourceView]:
        """Every resource of one type, in run order."""
        return [r for r in self.resources if r.type == type_]

    def __contains__(self, key: str) -> bool:
        return key in self._by_key

    @property
    def saved(self) -> dict[str, dict[str, Any]]:
        """What a real converge would save of the node: combined default, normal (with the
        recipes' node.normal writes), combined override (why-run itself saves nothing)."""
        return self.node.saved_levels()

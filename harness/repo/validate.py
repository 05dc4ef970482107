"""The rules a repo's documents must follow: shapes (per file) and references (across files).

Shape checks take one parsed document and return it normalised to Chef's full shape plus a
list of issues `(keypath, message, value)`; the loader turns issues into Problems with lines.
Reference checks run once everything is loaded: roles, recipes, environments and cookbooks
that do not exist, role cycles (per environment) and cookbook dependency cycles.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from harness.errors import UsageError
from harness.repo.limits import MAX_NAME
from harness.repo.rubyfiles import recipe_hint
from harness.repo.runlist import RunListItem, parse_item, role_items
from harness.repo.versions import Constraint

Issue = tuple[tuple[Any, ...], str, Any]
# Chef Server's names (erchef chef_regex.erl): roles, nodes, data bags and items may hold ':',
# cookbooks, environments and clients may not (NAME_REGEX "[.[:alnum:]_-]+").
NAME_RE = re.compile(r"[A-Za-z0-9_.:-]+\Z")
COOKBOOK_RE = re.compile(r"[A-Za-z0-9_.-]+\Z")
# What chef-client itself loads: Chef::Role#name and Chef::Environment#name match
# /^[\-[:alnum:]_]+$/ (role.rb, environment.rb), so a role or environment named with '.' or
# ':' is stored by Chef Server and then fails every chef-client run that reaches it.
ROLE_RE = re.compile(r"[A-Za-z0-9_-]+\Z")
_ALLOWED = {NAME_RE: "'_', '-', '.', ':'", COOKBOOK_RE: "'_', '-', '.'", ROLE_RE: "'_', '-'"}
NAME_RULES = {"role": ROLE_RE, "environment": ROLE_RE, "node": NAME_RE}   # repo documents
DEFAULT_ENVIRONMENT = "The default environment"   # our _default's description
_NONE = type(None)
BUILTIN_INDEXES = ("node", "role", "environment", "client")  # search indexes, not data bags

SHAPES: dict[str, dict[str, Any]] = {
    "role": {"name": None, "description": "", "json_class": "Chef::Role", "chef_type": "role",
             "run_list": [], "env_run_lists": {}, "default_attributes": {},
             "override_attributes": {}},
    "environment": {"name": None, "description": "", "json_class": "Chef::Environment",
                    "chef_type": "environment", "cookbook_versions": {},
                    "default_attributes": {}, "override_attributes": {}},
    "node": {"name": None, "chef_environment": "_default", "json_class": "Chef::Node",
             "chef_type": "node", "run_list": [], "normal": {}, "default": {}, "override": {},
             "automatic": {}},
}
_OPTIONAL = {"node": {"policy_name", "policy_group"}}   # Chef writes them as null


def name_issue(name: Any, what: str, pattern: re.Pattern[str] = NAME_RE) -> str | None:
    """Why `name` is not a valid name (path separators, '..', empty, odd characters)."""
    if not isinstance(name, str):
        return f"{what} must be a string, not {type(name).__name__}"
    if name in ("", ".", "..") or not pattern.match(name):
        allowed = _ALLOWED.get(pattern, _ALLOWED[NAME_RE])
        return f"bad {what} {name!r}: use letters, digits, {allowed} (no path separators, not '..')"
    if len(name) > MAX_NAME:
        return f"bad {what} {name[:20]}...: {len(name)} characters, the limit is {MAX_NAME}"
    return None


def bag_issue(bag: Any) -> str | None:
    """Why `bag` cannot name a data bag: chef-client's rule (no ':': data_query.rb calls
    DataBag.validate_name!, VALID_NAME in data_bag.rb) and not a built-in search index."""
    problem = name_issue(bag, "data bag name", COOKBOOK_RE)
    if problem is None and bag in BUILTIN_INDEXES:
        problem = (f"bad data bag name {bag!r}: it is a built-in search index "
                   f"({', '.join(BUILTIN_INDEXES)}); the config server refuses it")
    return problem


def type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", _NONE: "null"}.get(type(value), type(value).__name__)


def check_document(kind: str, doc: Any, stem: str) -> tuple[dict[str, Any], list[Issue]]:
    """Normalise a role/environment/node document; issues for every rule it breaks."""
    shape = SHAPES[kind]
    if not isinstance(doc, dict):
        return dict(shape, name=stem), [((), f"a {kind} must be a mapping, not "
                                             f"{type_name(doc)}", None)]
    issues: list[Issue] = []
    out = dict(shape)
    out["name"] = stem
    for key, value in doc.items():
        if key in _OPTIONAL.get(kind, ()):
            if value is not None:
                issues.append(((key,), f"{key} is not supported (Policyfiles): must be null", None))
            out[key] = value
            continue
        if key not in shape:
            issues.append(((key,), f"unknown key {key!r} in {kind} (expected one of: "
                                   f"{', '.join(shape)})", None))
            continue
        default = shape[key]
        if value is None and key not in ("name", "json_class", "chef_type"):
            continue                    # `run_list:` with nothing after it: keep the default
        if not isinstance(value, type(default) if default is not None else str):
            expected = type_name(default if default is not None else "")
            issues.append(((key,), f"{key} must be {expected}, not {type_name(value)}", None))
            continue
        if key in ("json_class", "chef_type") and value != default:
            issues.append(((key,), f"{key} must be {default!r} in a {kind}, not {value!r}", None))
            continue
        out[key] = value
    problem = name_issue(out["name"], f"{kind} name", NAME_RULES[kind])
    if problem:
        issues.append((("name",), problem, None))
    elif out["name"] != stem:
        issues.append((("name",), f"{kind} name {out['name']!r} does not match the file name "
                                  f"{stem!r}", None))
    issues.extend(_run_list_issues(out.get("run_list", []), ("run_list",)))
    if kind == "role":
        out["env_run_lists"] = {env: [] if items is None else items      # `env:` means none
                                for env, items in out["env_run_lists"].items()}
        for env, items in out["env_run_lists"].items():
            problem = name_issue(env, "environment name", ROLE_RE)
            if problem:
                issues.append((("env_run_lists", env), problem, None))
            elif not isinstance(items, list):
                issues.append((("env_run_lists", env), f"env_run_lists[{env}] must be a list, "
                                                       f"not {type_name(items)}", None))
            else:
                issues.extend(_run_list_issues(items, ("env_run_lists", env)))
        out["env_run_lists"] = {env: normal_run_list(items) if isinstance(items, list)
                                else items for env, items in out["env_run_lists"].items()}
    elif kind == "environment":
        issues.extend(_pins_issues(out["cookbook_versions"]))
        if out["name"] == "_default" and any(out[k] for k in ("cookbook_versions",
                                                             "default_attributes",
                                                             "override_attributes")):
            issues.append(((), "the _default environment cannot be changed (as in Chef): "
                               "no pins or attributes", None))
    elif kind == "node":
        problem = name_issue(out["chef_environment"], "environment name", ROLE_RE)
        if problem:
            issues.append((("chef_environment",), problem, None))
    if kind != "environment":
        out["run_list"] = normal_run_list(out["run_list"])
    return out, issues


def qualified(entry: str) -> str:
    """A run-list entry as Chef Server stores it: a bare `cb` is `recipe[cb]`
    (chef_object_base.erl normalize_item)."""
    return entry if entry.startswith(("recipe[", "role[")) else f"recipe[{entry}]"


def normal_run_list(items: list[Any]) -> list[Any]:
    """A run list as Chef Server and knife upload store it: a bare `cb` or `cb::name` written
    `recipe[...]`, exact duplicates dropped, the first kept (erchef chef_object_base.erl
    normalize_run_list; chef_fs data_handler_base.rb normalize_run_list: `.uniq`)."""
    out: list[Any] = []
    seen: set[str] = set()
    for item in items:
        if isinstance(item, str):
            item = qualified(item)
            if item in seen:
                continue
            seen.add(item)
        out.append(item)
    return out


def _run_list_issues(items: list[Any], where: tuple[Any, ...]) -> Iterator[Issue]:
    for index, text in enumerate(items):
        try:
            parse_item(text)
        except UsageError as err:
            yield where + (index,), err.message, text if isinstance(text, str) else None


def _pins_issues(pins: dict[str, Any]) -> Iterator[Issue]:
    for cb, constraint in pins.items():
        problem = name_issue(cb, "cookbook name", COOKBOOK_RE)
        if problem:
            yield ("cookbook_versions", cb), problem, None
            continue
        try:
            Constraint.parse(constraint)
        except UsageError as err:
            yield ("cookbook_versions", cb), f"cookbook_versions[{cb}]: {err.message}", None


def items_of(run_list: Any) -> Iterator[tuple[int, RunListItem]]:
    """The valid items of a run list (invalid ones were reported by the shape checks)."""
    for index, text in enumerate(run_list if isinstance(run_list, list) else ()):
        try:
            yield index, parse_item(text)
        except UsageError:
            continue


def find_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Cycles met by an iterative depth-first walk, each as [a, b, ..., a], without repeats."""
    state: dict[str, int] = {}          # 1: on the current path, 2: finished
    cycles: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()
    for start in graph:
        if start in state:
            continue
        path, stack = [start], [iter(graph[start])]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                state[path.pop()] = 2
            elif nxt not in graph:
                continue
            elif state.get(nxt) == 1:
                cycle = path[path.index(nxt):]
                turn = cycle.index(min(cycle))
                key = tuple(cycle[turn:] + cycle[:turn])
                if key not in seen:
                    seen.add(key)
                    cycles.append(list(key) + [key[0]])
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(graph[nxt]))
    return cycles


def check_references(repo: Any, ghosts: Mapping[str, set[str]]
                     ) -> list[tuple[str, str, tuple[Any, ...], str, Any]]:
    """Cross-file issues as (kind, name, keypath, message, value); `ghosts` are names whose
    file failed to load (they exist, so references to them are not reported again)."""
    out: list[tuple[str, str, tuple[Any, ...], str, Any]] = []
    roles, cookbooks = repo.roles, repo.cookbooks
    known_envs = set(repo.environments) | ghosts.get("environment", set())

    def item_issue(item: RunListItem) -> str | None:
        if item.type == "role":
            if item.name in roles or item.name in ghosts.get("role", ()):
                return None
            return f"no role {item.name!r} (roles/{item.name}.json or .yaml)"
        cookbook = cookbooks.get(item.cookbook)
        if cookbook is None:
            if item.cookbook in ghosts.get("cookbook", ()):
                return None
            return f"{item}: no cookbook {item.cookbook!r} in cookbooks/ or site-cookbooks/"
        short = item.recipe.partition("::")[2]
        if short not in cookbook.recipes:
            return (f"{item}: cookbook {item.cookbook} has no recipes/{short}.py"
                    + recipe_hint(cookbook.files, short))
        return None

    def run_list(kind: str, name: str, items: Any, where: tuple[Any, ...]) -> None:
        for index, item in items_of(items):
            problem = item_issue(item)
            if problem:
                out.append((kind, name, where + (index,), problem, str(item)))

    for name, role in roles.items():
        run_list("role", name, role["run_list"], ("run_list",))
        for env, items in role["env_run_lists"].items():
            run_list("role", name, items, ("env_run_lists", env))
    for name, node in repo.nodes.items():
        run_list("node", name, node["run_list"], ("run_list",))
        env = node["chef_environment"]
        if isinstance(env, str) and env not in known_envs:
            out.append(("node", name, ("chef_environment",),
                        f"no environment {env!r} (environments/{env}.json or .yaml)", None))
    for name, cookbook in cookbooks.items():
        for dep in cookbook.depends:
            if dep not in cookbooks and dep not in ghosts.get("cookbook", ()):
                out.append(("cookbook", name, cookbook.depends_at.get(dep, ()),
                            f"cookbook {name} depends on {dep!r}, which is in neither "
                            "cookbooks/ nor site-cookbooks/", None))
    out.extend(_role_cycles(roles))
    for cycle in find_cycles({n: list(c.depends) for n, c in cookbooks.items()}):
        out.append(("cookbook", cycle[0], cookbooks[cycle[0]].depends_at.get(cycle[1], ()),
                    f"cookbook dependency cycle: {' -> '.join(cycle)}", None))
    return out


def _role_cycles(roles: Mapping[str, dict[str, Any]]) -> Iterator[tuple[str, str, tuple[Any, ...], str, Any]]:
    """Role cycles in the plain run lists and in each environment's run lists, once each."""
    envs = sorted({env for role in roles.values() for env in role["env_run_lists"]})
    reported: set[frozenset[str]] = set()
    for env in [None, *envs]:
        graph: dict[str, list[str]] = {}
        for name, role in roles.items():  # the run list expansion reads (role_items)
            graph[name] = [i.name for _, i in items_of(role_items(role, env or "_default"))
                           if i.type == "role"]
        for cycle in find_cycles(graph):
            if frozenset(cycle) in reported:
                continue
            reported.add(frozenset(cycle))
            first = roles[cycle[0]]
            key = next((k for k in (env, "_default") if k in first["env_run_lists"]), None)
            where = ("env_run_lists", key) if key is not None else ("run_list",)
            items = role_items(first, env or "_default")
            index = next((i for i, item in items_of(items)
                          if item.type == "role" and item.name == cycle[1]), None)
            suffix = f" in environment {env}" if env is not None else ""
            yield ("role", cycle[0], where + ((index,) if index is not None else ()),
                   f"role cycle{suffix}: {' -> '.join(cycle)}", f"role[{cycle[1]}]")

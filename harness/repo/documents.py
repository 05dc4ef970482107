"""Shape checks and normalisation of the documents the config server stores.

Every document is checked once, on write, and stored normalised (all keys present,
`json_class`/`chef_type` filled in when missing and refused when wrong, as Chef Server does),
so reads never re-validate and a backup of what is stored is byte-for-byte stable. Bad input
is a UsageError. Pure model:
the server and restore (names, cookbook file paths) both use it, and the repo loader its
data bag item rule (check_item), so an item means the same in a repo and on the server.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any, TypeVar

from harness.errors import HarnessError, UsageError
from harness.repo.allowlists import DEFAULT_BAG, item_issues
from harness.repo.limits import MAX_NAME
from harness.repo.runlist import parse_item
from harness.repo.validate import (
    BUILTIN_INDEXES,
    COOKBOOK_RE,
    NAME_RE,
    Issue,
    name_issue,
    normal_run_list,
    type_name,
)
from harness.repo.versions import Constraint, Version

BUILTIN = BUILTIN_INDEXES  # search indexes that are not data bags
CHECKSUM_RE = re.compile(r"^[0-9a-f]{64}$")
T = TypeVar("T")
# Chef Server's names (erchef chef_regex.erl): environment, cookbook and client names are
# NAME_REGEX "[.[:alnum:]_-]+" (no ':'); roles, nodes, data bags and items also take ':'.
_NO_COLON = {"environment", "cookbook", "client"}
RESERVED_ITEM_KEYS = ("chef_type", "json_class", "data_bag")  # DataBagItem.from_hash drops them


def check_name(name: object, what: str) -> str:
    """The server's name rule for `what` (Chef Server's): no path tricks, one line."""
    pattern = COOKBOOK_RE if what in _NO_COLON else NAME_RE
    if not isinstance(name, str) or name_issue(name, what, pattern) is not None:
        if isinstance(name, str) and pattern.match(name) and len(name) > MAX_NAME:
            raise UsageError(f"bad {what} name {name[:20]}...: {len(name)} characters, "
                             f"the limit is {MAX_NAME}")
        chars = "_ . -" if pattern is COOKBOOK_RE else "_ . : -"
        raise UsageError(f"bad {what} name {name!r}: use letters, digits, {chars} "
                         "(no path separators, not '.' or '..')")
    return name


def _type(value: object, kind: type[T], what: str) -> T:
    """isinstance, except that a bool is not an int (JSON true is not 1)."""
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        expected = {dict: "an object", list: "an array", str: "a string", bool: "true or false"}
        got = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
               int: "a number", float: "a number", type(None): "null"}.get(type(value), "?")
        raise UsageError(f"{what} must be {expected.get(kind, kind.__name__)}, not {got}")
    return value


def _run_list(value: Any, what: str) -> list[str]:
    for item in _type(value, list, what):
        _type(item, str, f"{what} item")
        try:
            parse_item(item)
        except (HarnessError, ValueError) as err:
            raise UsageError(f"{what}: {err}") from None
    return normal_run_list(value)


def _env_run_lists(value: Any, what: str) -> dict[str, list[str]]:
    return {check_name(env, "environment"): _run_list(items, f"{what}[{env}]")
            for env, items in _type(value, dict, what).items()}


def _cookbook_versions(value: Any, what: str, depends: bool = False) -> dict[str, str]:
    """Pins (an environment's: `OP x.y[.z]`), or a cookbook's `depends` (metadata.rb's wider
    grammar, Constraint.parse_depends: Chef writes `~> 1` into metadata.json)."""
    out = {}
    parse = Constraint.parse_depends if depends else Constraint.parse
    for cb, constraint in _type(value, dict, what).items():
        check_name(cb, "cookbook")
        try:
            parse(_type(constraint, str, f"{what}[{cb}]"))
        except (HarnessError, ValueError) as err:
            raise UsageError(f"{what}[{cb}]: {err}") from None
        out[cb] = constraint
    return out


def _obj(value: Any, what: str) -> dict[str, Any]:
    return _type(value, dict, what)


def _str(value: Any, what: str) -> str:
    return _type(value, str, what)


def _bool(value: Any, what: str) -> bool:
    return _type(value, bool, what)


# kind -> (json_class, {field: (default factory, checker)})
Checker = Callable[[Any, str], Any]
SCHEMAS: dict[str, tuple[str, dict[str, tuple[Callable[[], Any], Checker]]]] = {
    "role": ("Chef::Role", {
        "description": (str, _str), "run_list": (list, _run_list),
        "env_run_lists": (dict, _env_run_lists),
        "default_attributes": (dict, _obj), "override_attributes": (dict, _obj)}),
    "environment": ("Chef::Environment", {
        "description": (str, _str), "cookbook_versions": (dict, _cookbook_versions),
        "default_attributes": (dict, _obj), "override_attributes": (dict, _obj)}),
    "node": ("Chef::Node", {
        "chef_environment": (lambda: "_default", _str), "run_list": (list, _run_list),
        "normal": (dict, _obj), "default": (dict, _obj), "override": (dict, _obj),
        "automatic": (dict, _obj)}),
    "client": ("Chef::ApiClient", {"validator": (bool, _bool)}),
}


def _check_class(doc: dict[str, Any], what: str, want: dict[str, str]) -> None:
    """`json_class`/`chef_type` may be left out (Chef Server fills them in) but, when given,
    must be Chef's exact value: erchef refuses any other, null included, with a 400
    "Field 'json_class' invalid" (chef_role.erl, chef_environment.erl, chef_node.erl)."""
    for key, value in want.items():
        if key in doc and doc[key] != value:
            raise UsageError(f"{what}: {key} must be {value!r}, not {repr(doc[key])[:40]} "
                             f"(Chef Server: Field '{key}' invalid)")


def normalise(kind: str, name: str, doc: Any) -> dict[str, Any]:
    """Checked, complete copy of a role/environment/node/client document named `name`.
    Chef Server refuses a role, environment or node with a key it does not know
    (chef_object_base.erl strictly_valid: invalid_key), or with another json_class or
    chef_type than its own; so do we, rather than drop or overwrite them."""
    _type(doc, dict, f"{kind} document")
    if doc.get("name", name) != name:
        raise UsageError(f"{kind} name {doc.get('name')!r} in the body does not match {name!r}")
    json_class, fields = SCHEMAS[kind]
    if kind != "client":
        for key in doc:
            if key in ("policy_name", "policy_group") and kind == "node":
                if doc[key] is not None:
                    raise UsageError(f"node {name}: {key} is not supported (Policyfiles)")
            elif key not in fields and key not in ("name", "json_class", "chef_type"):
                raise UsageError(f"{kind} {name}: unknown key {key!r} (Chef Server refuses "
                                 f"it; a {kind} has {', '.join(['name', *fields])})")
    _check_class(doc, f"{kind} {name}", {"json_class": json_class, "chef_type": kind})
    out: dict[str, Any] = {"name": name, "json_class": json_class, "chef_type": kind}
    for field, (default, check) in fields.items():
        out[field] = check(doc[field], f"{kind} {name}: {field}") if field in doc else default()
    if kind == "node":
        check_name(out["chef_environment"], "environment")
    return out


def normalise_item(bag: str, item: str, doc: Any) -> dict[str, Any]:
    """A data bag item is any object whose `id` is the item's name; Chef's wrapped form
    (what knife and DataBagItem#save send) is stored unwrapped, as Chef Server stores it."""
    _type(doc := unwrap_item(doc), dict, "data bag item")
    if doc.get("id", item) != item:
        raise UsageError(f"data bag item id {doc.get('id')!r} does not match {item!r}")
    return {**doc, "id": item}


def check_item(doc: Any, bag: str, stem: str) -> tuple[dict[str, Any], list[Issue]]:
    """A data bag item: a mapping whose id is its file name. Encrypted values stay as they are.
    Chef's wrapped form ({"json_class": "Chef::DataBagItem", "raw_data": {...}}) is unwrapped,
    as knife upload does (chef_fs data_bag_item_data_handler.rb normalize)."""
    doc = unwrap_item(doc)
    if not isinstance(doc, dict):
        return {"id": stem}, [((), f"a data bag item must be a mapping, not {type_name(doc)}",
                               None)]
    out = doc if "id" in doc else {"id": stem, **doc}
    problem = name_issue(out["id"], "data bag item id", COOKBOOK_RE)
    if problem:
        return out, [(("id",), problem, None)]
    if out["id"] != stem:
        return out, [(("id",), f"item id {out['id']!r} does not match the file name {stem!r} "
                               f"(data bag {bag})", None)]
    reserved = [((key,), f"key {key!r} is removed by chef-client before a recipe sees the "
                         "item (data_bag_item.rb from_hash): rename it", None)
                for key in RESERVED_ITEM_KEYS if key in out]
    if reserved or bag != DEFAULT_BAG:
        return out, reserved
    return out, [(keypath, message, None) for keypath, message in item_issues(out)]


def unwrap_item(doc: Any) -> Any:
    """The item inside Chef's wrapper, or doc itself (erchef chef_data_bag_item.erl
    unwrap_item, chef-zero data_normalizer.rb: json_class Chef::DataBagItem and raw_data)."""
    if isinstance(doc, dict) and doc.get("json_class") == "Chef::DataBagItem" \
            and doc.get("raw_data") not in (None, False):
        return doc["raw_data"]
    return doc


def safe_path(value: object) -> str:
    """A cookbook file path: relative, POSIX, no `..`, so no one writes outside a directory."""
    path = _type(value, str, "cookbook file path")
    parts = PurePosixPath(path).parts
    if (not parts or path.startswith("/") or "\\" in path or "\x00" in path
            or any(p in ("..", ".") for p in parts) or str(PurePosixPath(*parts)) != path):
        raise UsageError(f"bad cookbook file path {path!r}: must be relative, without '..'")
    return path


MANIFEST_KEYS = ("name", "version", "metadata", "attributes", "files", "frozen")
_MAX_PART = 2**63 - 1  # erchef chef_cookbook_version.erl MAX_VERSION (a Postgres bigint)
# Chef Server's constraints: chef_object_base.erl parse_constraint, then is_valid_version
_CHEF_CONSTRAINT = re.compile(r"(?:(?:<|>|<=|>=|~>|=) )?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?")


def _version(name: str, version: str) -> None:
    """Canonical x.y.z (versions.py allows 9 digits a part, below erchef's MAX_VERSION)."""
    try:
        canonical = str(Version.parse(version))
    except (HarnessError, ValueError) as err:
        raise UsageError(f"cookbook {name}: {err}") from None
    if canonical != version:
        raise UsageError(f"cookbook version {version!r} must be written {canonical!r}")


def _chef_metadata(metadata: dict[str, Any], what: str) -> None:
    """The metadata fields Chef Server checks (chef_cookbook_version.erl cookbook_spec), as
    Chef 19's Metadata#from_hash sends them: strings, and {cookbook: constraint} maps in
    Chef Server's strict grammar ("~> 1.0", ">= 2"; not ">=1.0"). A one-element array in
    `dependencies` is its element (metadata.rb handle_incorrect_constraints)."""
    for key in ("description", "long_description", "maintainer", "maintainer_email", "license"):
        if key in metadata:
            _str(metadata[key], f"{what}: metadata.{key}")
    for key in ("platforms", "dependencies"):
        for target, value in _obj(metadata.get(key, {}), f"{what}: metadata.{key}").items():
            problem = name_issue(target, f"metadata.{key} name", COOKBOOK_RE)
            if problem:
                raise UsageError(f"{what}: {problem}")
            if key == "dependencies" and isinstance(value, list) and len(value) == 1:
                value = value[0]
            match = _CHEF_CONSTRAINT.fullmatch(value) if isinstance(value, str) else None
            if match is None or any(int(p) > _MAX_PART for p in match.groups() if p):
                raise UsageError(f"{what}: metadata.{key}[{target}]: {repr(value)[:40]} is not "
                                 "a constraint Chef Server takes ('OP x.y.z', one space)")


def normalise_manifest(name: str, version: str, doc: Any) -> dict[str, Any]:
    """A cookbook version manifest (contracts.md), files sorted by path. Refused, as Chef
    Server refuses them (chef_cookbook_version.erl cookbook_spec, strictly_valid): an unknown
    key (Chef's `frozen?` too, rather than dropping it), another metadata.version than the
    version's, a metadata field of the wrong type. `metadata.name` is the cookbook's."""
    _type(doc, dict, "cookbook manifest")
    _version(name, version)
    what = f"cookbook {name} {version}"
    for key in doc:
        if key not in MANIFEST_KEYS and key not in ("json_class", "chef_type"):
            raise UsageError(f"{what}: unknown key {key!r} (a manifest has "
                             f"{', '.join(MANIFEST_KEYS)})")
    _check_class(doc, what, {"json_class": "Chef::CookbookVersion",
                             "chef_type": "cookbook_version"})
    for key, want in (("name", name), ("version", version)):
        if doc.get(key, want) != want:
            raise UsageError(f"cookbook {key} {doc.get(key)!r} in the body does not match {want!r}")
    metadata = dict(_obj(doc.get("metadata", {}), "cookbook metadata"))
    if metadata.get("version", version) != version:
        raise UsageError(f"{what}: metadata.version {repr(metadata['version'])[:40]} is not "
                         "the version's (Chef Server: Field 'metadata.version' invalid)")
    _chef_metadata(metadata, what)
    metadata.update(name=name, version=version)
    metadata.setdefault("description", "")
    metadata["depends"] = _cookbook_versions(metadata.get("depends", {}), "metadata.depends",
                                             depends=True)
    attrs = _obj(doc.get("attributes", {}), "cookbook attributes")
    for level in attrs:
        if level not in ("default", "override"):
            raise UsageError(f"{what}: attributes level {level!r}: a cookbook has default "
                             "and override")
    attributes = {level: _obj(attrs.get(level, {}), f"attributes.{level}")
                  for level in ("default", "override")}
    files: list[dict[str, Any]] = []
    seen: set[str] = set()
    for entry in _type(doc.get("files", []), list, "cookbook files"):
        _obj(entry, "cookbook file entry")
        path = safe_path(entry.get("path"))
        checksum = _str(entry.get("checksum"), f"checksum of {path}")
        if not CHECKSUM_RE.match(checksum):
            raise UsageError(f"bad checksum {checksum!r} for {path}: want sha256 hex")
        size = entry.get("size", 0)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise UsageError(f"bad size {size!r} for {path}")
        if path in seen:
            raise UsageError(f"cookbook file {path} listed twice")
        seen.add(path)
        files.append({"path": path, "checksum": checksum, "size": size})
    files.sort(key=lambda f: f["path"])
    frozen = _bool(doc.get("frozen", False), "frozen")
    return {"name": name, "version": version, "metadata": metadata, "attributes": attributes,
            "files": files, "frozen": frozen}

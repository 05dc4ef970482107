"""Shape checks and normalisation of the documents the config server stores.

Every document is checked once, on write, and stored normalised (all keys present,
`json_class`/`chef_type` written the way Chef writes them), so reads never re-validate and a
backup of what is stored is byte-for-byte stable. Bad input is a UsageError. Pure model:
the server and restore (names, cookbook file paths) both use it.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any, TypeVar

from harness.errors import HarnessError, UsageError
from harness.repo.limits import MAX_NAME
from harness.repo.runlist import parse_item
from harness.repo.validate import BUILTIN_INDEXES, NAME_RE, name_issue
from harness.repo.versions import Constraint, Version

BUILTIN = BUILTIN_INDEXES  # search indexes that are not data bags
CHECKSUM_RE = re.compile(r"^[0-9a-f]{64}$")
T = TypeVar("T")


def check_name(name: object, what: str) -> str:
    """The repo's name rule (harness.repo.validate.name_issue): no path tricks, one line."""
    if not isinstance(name, str) or name_issue(name, what) is not None:
        if isinstance(name, str) and NAME_RE.match(name) and len(name) > MAX_NAME:
            raise UsageError(f"bad {what} name {name[:20]}...: {len(name)} characters, "
                             f"the limit is {MAX_NAME}")
        raise UsageError(f"bad {what} name {name!r}: use letters, digits, _ . : - "
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
    return list(value)


def _env_run_lists(value: Any, what: str) -> dict[str, list[str]]:
    return {check_name(env, "environment"): _run_list(items, f"{what}[{env}]")
            for env, items in _type(value, dict, what).items()}


def _cookbook_versions(value: Any, what: str) -> dict[str, str]:
    out = {}
    for cb, constraint in _type(value, dict, what).items():
        check_name(cb, "cookbook")
        try:
            Constraint.parse(_type(constraint, str, f"{what}[{cb}]"))
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
SCHEMAS: dict[str, tuple[str | None, dict[str, tuple[Callable[[], Any], Checker]]]] = {
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


def normalise(kind: str, name: str, doc: Any) -> dict[str, Any]:
    """Checked, complete copy of a role/environment/node/client document named `name`."""
    _type(doc, dict, f"{kind} document")
    if doc.get("name", name) != name:
        raise UsageError(f"{kind} name {doc.get('name')!r} in the body does not match {name!r}")
    json_class, fields = SCHEMAS[kind]
    out: dict[str, Any] = {"name": name, "json_class": json_class, "chef_type": kind}
    for field, (default, check) in fields.items():
        out[field] = check(doc[field], f"{kind} {name}: {field}") if field in doc else default()
    if kind == "node":
        check_name(out["chef_environment"], "environment")
    return out


def normalise_item(bag: str, item: str, doc: Any) -> dict[str, Any]:
    """A data bag item is any object whose `id` is the item's name."""
    _type(doc, dict, "data bag item")
    if doc.get("id", item) != item:
        raise UsageError(f"data bag item id {doc.get('id')!r} does not match {item!r}")
    return {**doc, "id": item}


def safe_path(value: object) -> str:
    """A cookbook file path: relative, POSIX, no `..`, so no one writes outside a directory."""
    path = _type(value, str, "cookbook file path")
    parts = PurePosixPath(path).parts
    if (not parts or path.startswith("/") or "\\" in path or "\x00" in path
            or any(p in ("..", ".") for p in parts) or str(PurePosixPath(*parts)) != path):
        raise UsageError(f"bad cookbook file path {path!r}: must be relative, without '..'")
    return path


def normalise_manifest(name: str, version: str, doc: Any) -> dict[str, Any]:
    """A cookbook version manifest (contracts.md), files sorted by path."""
    _type(doc, dict, "cookbook manifest")
    try:
        canonical = str(Version.parse(version))
    except (HarnessError, ValueError) as err:
        raise UsageError(f"cookbook {name}: {err}") from None
    if canonical != version:
        raise UsageError(f"cookbook version {version!r} must be written {canonical!r}")
    for key, want in (("name", name), ("version", version)):
        if doc.get(key, want) != want:
            raise UsageError(f"cookbook {key} {doc.get(key)!r} in the body does not match {want!r}")
    metadata = dict(_obj(doc.get("metadata", {}), "cookbook metadata"))
    metadata.update(name=name, version=version)
    metadata.setdefault("description", "")
    metadata["depends"] = _cookbook_versions(metadata.get("depends", {}), "metadata.depends")
    attrs = _obj(doc.get("attributes", {}), "cookbook attributes")
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

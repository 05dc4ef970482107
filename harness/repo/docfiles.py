"""Reading one JSON or YAML document of a repo, and finding the line a problem is on.

Parsing is the hot path of `load_repo` (tens of thousands of files), so it does the minimum:
the C YAML loader (timestamps left as strings, as JSON would have them) or `json`, then one
walk that rejects values JSON cannot carry. Lines of semantic problems are found lazily, by
re-reading the file only when there is a problem to report.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from harness.errors import Problem
from harness.repo.limits import MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_NODES, SLACK, size_issue, text_issue

EXTENSIONS = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}
# Below this many bytes (and without YAML anchors) a file cannot reach MAX_DOCUMENT_BYTES as
# compact JSON (quoting at most triples it), so the hot path skips encoding it.
_SMALL = 64 * 1024

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader that keeps dates as strings, so YAML and JSON files load alike."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()}


class _Unparsable(Exception):
    """Internal: carries a syntax problem out of the parser wrappers."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message, self.line = message, line


def _reject_constant(name: str) -> None:
    raise _Unparsable(f"invalid JSON: {name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Unparsable(f"invalid JSON: {text} is too large for a number")
    return value


def _parse(text: str, kind: str) -> Any:
    if kind == "json":
        try:
            return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
        except json.JSONDecodeError as err:
            raise _Unparsable(f"invalid JSON: {err.msg}", err.lineno) from None
        except ValueError as err:                 # e.g. an integer of 5,000 digits
            raise _Unparsable(f"invalid JSON: {err}") from None
        except RecursionError:
            raise _Unparsable("invalid JSON: nested too deeply") from None
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        what = err.problem or err.context or "syntax error"
        raise _Unparsable(f"invalid YAML: {what}", mark.line + 1 if mark else None) from None
    except yaml.reader.ReaderError as err:
        line = text.count("\n", 0, max(err.position, 0)) + 1
        raise _Unparsable(f"invalid YAML: {err.reason} (character {err.character!r})", line) \
            from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, AttributeError) as err:
        raise _Unparsable(f"invalid YAML: {err}") from None
    except RecursionError:
        raise _Unparsable("invalid YAML: nested too deeply") from None


def read_document(path: Path) -> tuple[Any, Problem | None]:
    """(document, None) or (None, Problem naming the file and, for syntax errors, the line)."""
    try:
        data = path.read_bytes()
    except OSError as err:
        return None, Problem(str(path), f"cannot read: {err.strerror or err}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        return None, Problem(str(path), "not UTF-8 text", data.count(b"\n", 0, err.start) + 1)
    kind = EXTENSIONS.get(path.suffix, "yaml")
    try:
        doc = _parse(text, kind)
    except _Unparsable as err:
        return None, Problem(str(path), err.message, err.line)
    # JSON can only hold JSON values; a deep one has more than MAX_DEPTH brackets, a lone
    # surrogate needs a \uD8xx-\uDFxx escape (cheap counts)
    if (kind == "yaml" or text.count("[") + text.count("{") > MAX_DEPTH
            or "\\ud" in text or "\\uD" in text):
        issue = json_issue(doc, aliases=kind == "yaml")
    else:
        issue = None
    if issue:
        keypath, message = issue
        return None, problem_at(path, message, keypath)
    if len(data) > _SMALL or (kind == "yaml" and "&" in text):
        size = len(json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode())
        problem = size_issue(size, "this document", MAX_DOCUMENT_BYTES - SLACK)
        if problem:
            return None, Problem(str(path), problem + " (the config server's limit, as Chef "
                                                      "Server's max_request_size)")
    return doc, None


_PLAIN = {str, int, bool, type(None)}
_ODD_NAMES: dict[type[Any], str] = {bytes: "binary data", set: "a set", tuple: "a pair list"}


def json_issue(doc: Any, *, aliases: bool = True) -> tuple[tuple[Any, ...], str] | None:
    """(keypath, message) of the first value JSON cannot carry, or None when all is plain.

    `aliases`: the document may share containers (YAML anchors); each is walked once and
    the expanded size is bounded, so an alias bomb is reported instead of exploding later.
    """
    sizes: dict[int, int] = {}

    def walk(value: Any, depth: int) -> int:
        kind = type(value)
        if kind is str:
            problem = text_issue(value)
            if problem:
                raise _Bad([], problem)
            return 1
        if kind in _PLAIN:
            return 1
        if kind is float:
            if value != value or value in (float("inf"), float("-inf")):
                raise _Bad([], f"{value} is not a JSON number")
            return 1
        if kind is not dict and kind is not list:
            name = _ODD_NAMES.get(kind, kind.__name__)
            raise _Bad([], f"{name} is not a JSON value")
        if depth > MAX_DEPTH:
            raise _Bad([], f"nested deeper than {MAX_DEPTH} levels (or a recursive alias)")
        if aliases:
            known = sizes.get(id(value))
            if known is not None:
                return known
        total = 1
        if kind is dict:
            for key, child in value.items():
                if type(key) is not str:
                    raise _Bad([], f"key {key!r} is not a string (quote it)")
                problem = text_issue(key)
                if problem:
                    raise _Bad([key], f"key: {problem}")
                try:
                    total += walk(child, depth + 1)
                except _Bad as bad:
                    bad.keypath.append(key)
                    raise
        else:
            for index, child in enumerate(value):
                try:
                    total += walk(child, depth + 1)
                except _Bad as bad:
                    bad.keypath.append(index)
                    raise
        if aliases:
            if total > MAX_NODES:
                raise _Bad([], f"more than {MAX_NODES} values after alias expansion")
            sizes[id(value)] = total
        return total

    try:
        walk(doc, 0)
    except _Bad as bad:
        return tuple(reversed(bad.keypath)), bad.message
    return None


class _Bad(Exception):
    def __init__(self, keypath: list[Any], message: str) -> None:
        super().__init__(message)
        self.keypath, self.message = keypath, message


def problem_at(path: Path, message: str, keypath: Sequence[Any] = (), value: Any = None) -> Problem:
    """A Problem for `path` with the line of `keypath` (and `value`) when it can be found."""
    return Problem(str(path), message, locate(path, keypath, value))


def locate(path: Path, keypath: Sequence[Any], value: Any = None) -> int | None:
    """1-based line of the node at `keypath` in a JSON/YAML file; None when not found."""
    if not keypath:
        return None
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    try:
        node = yaml.compose(text, Loader=_Loader)
    except (yaml.YAMLError, ValueError, TypeError, RecursionError):
        node = None
    if node is not None:
        found = _walk_nodes(node, keypath)
        if found is not None:
            return found
    return _scan_json(text, keypath, value)


def _walk_nodes(node: yaml.Node, keypath: Sequence[Any]) -> int | None:
    """Line of the last key (or sequence item) of `keypath` in a composed YAML tree."""
    line = None
    for step in keypath:
        if isinstance(node, yaml.MappingNode) and isinstance(step, str):
            pair = next(((k, v) for k, v in node.value
                         if isinstance(k, yaml.ScalarNode) and k.value == step), None)
            if pair is None:
                return None
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif (isinstance(node, yaml.SequenceNode) and isinstance(step, int)
              and 0 <= step < len(node.value)):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            return None
    return line


def _scan_json(text: str, keypath: Sequence[Any], value: Any) -> int | None:
    """Fallback for JSON that YAML cannot read (tabs): find the keys in order in the text."""
    pos = 0
    for step in keypath:
        if isinstance(step, str):
            match = re.compile(re.escape(json.dumps(step)) + r"\s*:").search(text, pos)
            if not match:
                return None
            pos = match.start()
    if isinstance(value, str):
        found = text.find(json.dumps(value), pos)
        pos = found if found >= 0 else pos
    return text.count("\n", 0, pos) + 1

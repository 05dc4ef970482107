"""Splice edits into JSON/YAML text at the marks PyYAML's composer recorded.

Why: a re-dump would reorder keys, re-indent and drop comments. Each edit here changes the
smallest span of text (one scalar token, one new entry, one removed item), copying separators
and indentation from the neighbours, and returns the new text; Doc.commit verifies it.
"""
from __future__ import annotations

import json
import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from harness.rollout.docfile import Doc


def entry(mapping: Node | None, key: str) -> tuple[Node, Node] | None:
    """The (key node, value node) pair of `key` in a mapping node, if any (last one wins)."""
    if not isinstance(mapping, MappingNode):
        return None
    found = None
    for knode, vnode in mapping.value:
        if isinstance(knode, ScalarNode) and knode.value == key:
            found = (knode, vnode)
    return found


def _yaml_plain_ok(value: str, flow: bool) -> bool:
    try:
        return (value == value.strip() and "\n" not in value and value != ""
                and yaml.safe_load(f"k: {value}") == {"k": value}
                and (not flow or yaml.safe_load(f"[{value}]") == [value]))
    except yaml.YAMLError:
        return False


def scalar(doc: Doc, value: str, style: str | None = None, flow: bool = True) -> str:
    """Render a string the way its neighbours are written (JSON always double-quotes).

    Plain YAML only when it reads back as the same string in this context (flow is stricter).
    """
    if doc.fmt == "json" or style == '"':
        return json.dumps(value, ensure_ascii=False)
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    return value if _yaml_plain_ok(value, flow) else json.dumps(value, ensure_ascii=False)


def _style(node: Node | None) -> str | None:
    return node.style if isinstance(node, ScalarNode) else None


def replace_scalar(doc: Doc, node: Node, value: str) -> str:
    """Replace one scalar token, keeping its quoting style."""
    start, end = node.start_mark.index, node.end_mark.index
    return doc.text[:start] + scalar(doc, value, _style(node)) + doc.text[end:]


def _indent_unit(doc: Doc) -> str:
    """The file's indentation step: the leading whitespace of its first indented line."""
    for line in doc.text.splitlines():
        match = re.match(r"[ \t]+", line)
        if match and line.strip() and not line.lstrip().startswith("#"):
            return match.group(0)
    return "  "


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _leaf_end(node: Node) -> int:
    """End offset of the last thing written inside a block node (its rightmost scalar)."""
    while isinstance(node, (MappingNode, SequenceNode)) and node.value and not node.flow_style:
        last = node.value[-1]
        node = last[1] if isinstance(node, MappingNode) else last
    return node.end_mark.index


def _after_line(text: str, index: int) -> int:
    """Offset just past the line that contains index (block scalars already end there)."""
    if index > 0 and text[index - 1] == "\n":
        return index
    newline = text.find("\n", index)
    return len(text) if newline < 0 else newline + 1


def _insert_line(doc: Doc, at: int, line: str) -> str:
    """Insert a whole line at `at` (a line start, or the end of a file without final newline)."""
    lead = doc.newline if at == len(doc.text) and doc.text and not doc.text.endswith("\n") else ""
    return doc.text[:at] + lead + line + doc.newline + doc.text[at:]


def _json_value(doc: Doc, value: Any, indent: str, multiline: bool) -> str:
    if not multiline or not isinstance(value, (dict, list)) or not value:
        return json.dumps(value, ensure_ascii=False)
    unit = _indent_unit(doc)
    body = json.dumps(value, ensure_ascii=False, indent=unit.count(" ") or unit)
    return body.replace("\n", doc.newline + indent)


def _yaml_block(doc: Doc, key: str, value: Any, indent: str,
                styles: tuple[str | None, str | None]) -> str:
    """`key: value` for a block mapping; nested dicts/lists as block collections."""
    kstyle, vstyle = styles
    head = indent + scalar(doc, key, kstyle, flow=False) + ":"
    if isinstance(value, str):
        return head + " " + scalar(doc, value, vstyle, flow=False)
    if not value:
        return head + (" {}" if isinstance(value, dict) else " []")
    inner = indent + _indent_unit(doc)
    if isinstance(value, dict):
        lines = [_yaml_block(doc, k, v, inner, styles) for k, v in value.items()]
    else:
        lines = [inner + "- " + scalar(doc, item, vstyle, flow=False) for item in value]
    return doc.newline.join([head, *lines])


def insert_entry(doc: Doc, mapping: MappingNode, key: str, value: Any) -> str:
    """Add `key: value` as the last entry of a mapping, formatted like its siblings."""
    text, pairs = doc.text, mapping.value
    if not mapping.flow_style:  # a block mapping always has an entry ({} is flow style)
        last_k, last_v = pairs[-1]
        indent = " " * last_k.start_mark.column
        line = _yaml_block(doc, key, value, indent, (_style(last_k), _style(last_v)))
        return _insert_line(doc, _after_line(text, _leaf_end(last_v)), line)
    start, end = mapping.start_mark.index, mapping.end_mark.index
    styles = (_style(pairs[-1][0]), _style(pairs[-1][1])) if pairs else (None, None)
    if doc.fmt == "yaml":
        pair = scalar(doc, key, styles[0]) + ": "
        pair += scalar(doc, value, styles[1]) if isinstance(value, str) else json.dumps(value)
    if not pairs:
        multiline = doc.fmt == "json" and "\n" in text.strip()
        if not multiline:
            pair = pair if doc.fmt == "yaml" else json.dumps({key: value}, ensure_ascii=False)[1:-1]
            return text[:start] + "{" + pair + "}" + text[end:]
        line = text[_line_start(text, start):]
        outer = line[:len(line) - len(line.lstrip(" \t"))]
        inner = outer + _indent_unit(doc)
        body = json.dumps(key) + ": " + _json_value(doc, value, inner, True)
        return text[:start] + "{" + doc.newline + inner + body + doc.newline + outer + "}" + text[end:]
    last_k, last_v = pairs[-1]
    if len(pairs) >= 2:
        sep = text[pairs[-2][1].end_mark.index:last_k.start_mark.index]
    else:
        lead = text[start + 1:last_k.start_mark.index]
        sep = "," + (lead or " ")
    if doc.fmt == "json":
        indent = sep[sep.rfind("\n") + 1:] if "\n" in sep else ""
        kv = text[last_k.end_mark.index:last_v.start_mark.index]
        pair = json.dumps(key, ensure_ascii=False) + kv + _json_value(doc, value, indent, bool(indent))
    at = last_v.end_mark.index
    return text[:at] + sep + pair + text[at:]


def append_item(doc: Doc, seq: SequenceNode, value: str) -> str:
    """Append a string to a sequence, formatted like its other items."""
    text, items = doc.text, seq.value
    if not seq.flow_style:
        last = items[-1]
        line_start = _line_start(text, last.start_mark.index)
        prefix = text[line_start:last.start_mark.index]
        if not re.fullmatch(r"[ \t]*-[ \t]+", prefix):
            dash = text.rfind("-", line_start, last.start_mark.index)
            prefix = " " * (dash - line_start) + "- "
        return _insert_line(doc, _after_line(text, _leaf_end(last)),
                            prefix + scalar(doc, value, _style(last), flow=False))
    rendered = scalar(doc, value, _style(items[-1]) if items else None)
    start, end = seq.start_mark.index, seq.end_mark.index
    if not items:
        return text[:start] + "[" + rendered + "]" + text[end:]
    if len(items) >= 2:
        sep = text[items[-2].end_mark.index:items[-1].start_mark.index]
    else:
        sep = "," + (text[start + 1:items[0].start_mark.index] or " ")
    at = items[-1].end_mark.index
    return text[:at] + sep + rendered + text[at:]


def remove_item(doc: Doc, key_node: Node, seq: SequenceNode, index: int) -> str:
    """Remove item `index` with its separator; an emptied sequence becomes `[]`."""
    text, items = doc.text, seq.value
    if not seq.flow_style:
        if len(items) == 1:
            end = _after_line(text, _leaf_end(items[0]))
            return text[:key_node.end_mark.index] + ": []" + doc.newline + text[end:]
        item = items[index]
        start = _line_start(text, item.start_mark.index)
        return text[:start] + text[_after_line(text, _leaf_end(item)):]
    if len(items) == 1:
        return text[:seq.start_mark.index] + "[]" + text[seq.end_mark.index:]
    if index < len(items) - 1:
        return text[:items[index].start_mark.index] + text[items[index + 1].start_mark.index:]
    return text[:items[index - 1].end_mark.index] + text[items[index].end_mark.index:]

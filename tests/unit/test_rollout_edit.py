"""Splice edits: byte-exact except the intended change, for JSON and YAML layouts."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import HarnessError, UsageError
from harness.rollout.docfile import load_doc
from harness.rollout.splice import append_item, entry, insert_entry, remove_item, replace_scalar


def _doc(tmp_path: Path, name: str, text: str, *, raw: bytes | None = None):
    path = tmp_path / name
    path.write_bytes(raw if raw is not None else text.encode())
    return load_doc(path)


def _set(doc, keys, value):
    node = doc.root
    for key in keys:
        node = entry(node, key)[1]
    expected = doc.expected()
    target = expected
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    doc.commit(replace_scalar(doc, node, value), expected)


@pytest.mark.parametrize("name,before,after", [
    ("m.json", '{\n  "name": "zk",\n  "version": "1.2.3",\n  "depends": {"java": ">= 1.0"}\n}\n',
     '{\n  "name": "zk",\n  "version": "1.2.4",\n  "depends": {"java": ">= 1.0"}\n}\n'),
    ("m.json", '{"version":"1.2.3","name":"zk"}', '{"version":"1.2.4","name":"zk"}'),
    ("m.json", '{\r\n\t"name": "zk",\r\n\t"version": "1.2.3"\r\n}', '{\r\n\t"name": "zk",\r\n\t"version": "1.2.4"\r\n}'),
    ("m.yaml", "# zk\nname: zk\nversion: 1.2.3   # bump me\n", "# zk\nname: zk\nversion: 1.2.4   # bump me\n"),
    ("m.yaml", "name: zk\nversion: '1.2.3'\n", "name: zk\nversion: '1.2.4'\n"),
    ("m.yaml", 'version: "1.2.3"\nname: zk', 'version: "1.2.4"\nname: zk'),
    ("m.yaml", "version: 1.2\n", "version: 1.2.4\n"),
])
def test_replace_scalar_changes_only_the_token(tmp_path, name, before, after):
    doc = _doc(tmp_path, name, before)
    _set(doc, ["version"], "1.2.4")
    assert (tmp_path / name).read_bytes() == after.encode()


def test_bom_and_mode_are_kept(tmp_path):
    path = tmp_path / "m.json"
    path.write_bytes(b'\xef\xbb\xbf{"version": "1.0.0"}\n')
    path.chmod(0o640)
    _set(load_doc(path), ["version"], "2.0.0")
    assert path.read_bytes() == b'\xef\xbb\xbf{"version": "2.0.0"}\n'
    assert path.stat().st_mode & 0o777 == 0o640


def test_yaml_value_needing_quotes_gets_them(tmp_path):
    doc = _doc(tmp_path, "e.yaml", "cookbook_versions:\n  zk: = 1.0.0\n")
    _set(doc, ["cookbook_versions", "zk"], ">= 2.0.0")
    assert (tmp_path / "e.yaml").read_text() == 'cookbook_versions:\n  zk: ">= 2.0.0"\n'


@pytest.mark.parametrize("name,before,after", [
    ("e.json", '{\n  "cookbook_versions": {\n    "a": "= 1.0.0"\n  },\n  "x": 1\n}\n',
     '{\n  "cookbook_versions": {\n    "a": "= 1.0.0",\n    "zk": "= 2.0.0"\n  },\n  "x": 1\n}\n'),
    ("e.json", '{\n    "cookbook_versions": {\n        "a": "= 1.0.0",\n        "b": "= 1.0.0"\n    }\n}',
     '{\n    "cookbook_versions": {\n        "a": "= 1.0.0",\n        "b": "= 1.0.0",\n        "zk": "= 2.0.0"\n    }\n}'),
    ("e.json", '{"cookbook_versions": {"a": "= 1"}}', '{"cookbook_versions": {"a": "= 1", "zk": "= 2.0.0"}}'),
    ("e.json", '{\n  "name": "p",\n  "cookbook_versions": {}\n}\n',
     '{\n  "name": "p",\n  "cookbook_versions": {\n    "zk": "= 2.0.0"\n  }\n}\n'),
    ("e.json", '{"cookbook_versions": {}}', '{"cookbook_versions": {"zk": "= 2.0.0"}}'),
    ("e.yaml", "cookbook_versions:\n  a: = 1.0.0  # why\n# tail\nname: p\n",
     "cookbook_versions:\n  a: = 1.0.0  # why\n  zk: = 2.0.0\n# tail\nname: p\n"),
    ("e.yaml", 'cookbook_versions:\n    a: "= 1.0.0"', 'cookbook_versions:\n    a: "= 1.0.0"\n    zk: "= 2.0.0"\n'),
    ("e.yaml", "name: p\ncookbook_versions: {}\n", "name: p\ncookbook_versions: {zk: = 2.0.0}\n"),
])
def test_insert_entry_copies_neighbour_layout(tmp_path, name, before, after):
    doc = _doc(tmp_path, name, before)
    expected = doc.expected()
    expected["cookbook_versions"]["zk"] = "= 2.0.0"
    mapping = entry(doc.root, "cookbook_versions")[1]
    doc.commit(insert_entry(doc, mapping, "zk", "= 2.0.0"), expected)
    assert (tmp_path / name).read_text() == after


@pytest.mark.parametrize("name,before,after", [
    ("e.json", '{\n  "name": "p",\n  "default_attributes": {"a": [1]}\n}\n',
     '{\n  "name": "p",\n  "default_attributes": {"a": [1]},\n  "cookbook_versions": {\n    "zk": "= 2.0.0"\n  }\n}\n'),
    ("e.yaml", "name: p\ndefault_attributes:\n  a:\n    b: 1\n",
     "name: p\ndefault_attributes:\n  a:\n    b: 1\ncookbook_versions:\n  zk: = 2.0.0\n"),
])
def test_insert_nested_mapping_at_top_level(tmp_path, name, before, after):
    doc = _doc(tmp_path, name, before)
    expected = doc.expected()
    expected["cookbook_versions"] = {"zk": "= 2.0.0"}
    doc.commit(insert_entry(doc, doc.root, "cookbook_versions", {"zk": "= 2.0.0"}), expected)
    assert (tmp_path / name).read_text() == after


@pytest.mark.parametrize("name,before,after", [
    ("i.json", '{"id": "x", "patterns": ["a"]}', '{"id": "x", "patterns": ["a", "b*"]}'),
    ("i.json", '{"patterns": []}', '{"patterns": ["b*"]}'),
    ("i.json", '{\n  "patterns": [\n    "a",\n    "c"\n  ]\n}', '{\n  "patterns": [\n    "a",\n    "c",\n    "b*"\n  ]\n}'),
    ("i.json", '{\n  "patterns": [\n    "a"\n  ]\n}', '{\n  "patterns": [\n    "a",\n    "b*"\n  ]\n}'),
    ("i.yaml", "patterns:\n  - a   # first\nroles: []\n", "patterns:\n  - a   # first\n  - b*\nroles: []\n"),
    ("i.yaml", "patterns:\n- 'a'\n", "patterns:\n- 'a'\n- 'b*'\n"),
])
def test_append_item(tmp_path, name, before, after):
    doc = _doc(tmp_path, name, before)
    expected = doc.expected()
    expected["patterns"].append("b*")
    doc.commit(append_item(doc, entry(doc.root, "patterns")[1], "b*"), expected)
    assert (tmp_path / name).read_text() == after


@pytest.mark.parametrize("name,before,index,after", [
    ("i.json", '{"patterns": ["a", "b", "c"]}', 0, '{"patterns": ["b", "c"]}'),
    ("i.json", '{"patterns": ["a", "b", "c"]}', 1, '{"patterns": ["a", "c"]}'),
    ("i.json", '{"patterns": ["a", "b", "c"]}', 2, '{"patterns": ["a", "b"]}'),
    ("i.json", '{\n  "patterns": [\n    "a"\n  ]\n}', 0, '{\n  "patterns": []\n}'),
    ("i.json", '{\n  "patterns": [\n    "a",\n    "b"\n  ]\n}', 1, '{\n  "patterns": [\n    "a"\n  ]\n}'),
    ("i.yaml", "patterns:\n  - a\n  - b  # x\nid: i\n", 1, "patterns:\n  - a\nid: i\n"),
    ("i.yaml", "patterns:\n  - a\nid: i\n", 0, "patterns: []\nid: i\n"),
])
def test_remove_item(tmp_path, name, before, index, after):
    doc = _doc(tmp_path, name, before)
    expected = doc.expected()
    del expected["patterns"][index]
    knode, seq = entry(doc.root, "patterns")
    doc.commit(remove_item(doc, knode, seq, index), expected)
    assert (tmp_path / name).read_text() == after


def test_commit_refuses_an_edit_that_changes_more(tmp_path):
    before = "a: &v 1.0.0\nb: *v\n"
    doc = _doc(tmp_path, "x.yaml", before)
    expected = doc.expected()
    expected["b"] = "2.0.0"
    with pytest.raises(HarnessError, match="by hand"):
        doc.commit(replace_scalar(doc, entry(doc.root, "b")[1], "2.0.0"), expected)
    assert (tmp_path / "x.yaml").read_text() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("name,text,line", [
    ("x.json", '{\n  "a": 1,\n}\n', 3), ("x.yaml", "a: [1\nb: 2\n", 2), ("x.yaml", "- a\n", None)])
def test_bad_files_are_usage_errors_with_location(tmp_path, name, text, line):
    with pytest.raises(UsageError) as err:
        _doc(tmp_path, name, text)
    assert err.value.path.endswith(name) and err.value.line == line


@pytest.mark.parametrize("value", ["= 1.0.0", ">= 1", "~> 1.2", "a: b", "#x", "'q'", "[x]", "yes", "1.5", ""])
def test_yaml_rendering_round_trips(tmp_path, value):
    doc = _doc(tmp_path, "x.yaml", "k: v\n")
    _set(doc, ["k"], value)
    assert yaml.safe_load((tmp_path / "x.yaml").read_text()) == {"k": value}
    doc = _doc(tmp_path, "x.json", '{"k": "v"}')
    _set(doc, ["k"], value)
    assert json.loads((tmp_path / "x.json").read_text()) == {"k": value}


PATTERN = st.text(st.sampled_from("abz09.-*?[]!_"), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(patterns=st.lists(PATTERN, max_size=5, unique=True), new=PATTERN,
       layout=st.sampled_from(["json0", "json2", "json4", "jsontab", "yamlblock", "yamlflow"]),
       data=st.data())
def test_add_and_remove_round_trip_in_any_layout(tmp_path, patterns, new, layout, data):
    """Whatever the dumper's layout, add then remove gives back the original bytes."""
    item = {"id": "x", "patterns": patterns, "roles": ["r"]}
    if layout.startswith("json"):
        indent = {"json0": None, "json2": 2, "json4": 4, "jsontab": "\t"}[layout]
        text, name = json.dumps(item, indent=indent), "x.json"
    else:
        text = yaml.safe_dump(item, default_flow_style=layout == "yamlflow", sort_keys=False)
        name = "x.yaml"
    doc = _doc(tmp_path, name, text)
    if new in patterns:
        return
    expected = doc.expected()
    expected["patterns"].append(new)
    doc.commit(append_item(doc, entry(doc.root, "patterns")[1], new), expected)
    doc = load_doc(tmp_path / name)
    assert doc.data["patterns"] == patterns + [new]
    knode, seq = entry(doc.root, "patterns")
    expected = doc.expected()
    expected["patterns"].pop()
    doc.commit(remove_item(doc, knode, seq, len(patterns)), expected)
    after = (tmp_path / name).read_text()
    if patterns:   # an emptied list is written `[]`, whatever it was before
        assert after == text
    else:
        assert (json.loads(after) if name.endswith(".json") else yaml.safe_load(after)) == item
    if patterns:
        index = data.draw(st.integers(0, len(patterns) - 1))
        doc = load_doc(tmp_path / name)
        knode, seq = entry(doc.root, "patterns")
        expected = doc.expected()
        del expected["patterns"][index]
        doc.commit(remove_item(doc, knode, seq, index), expected)


def _one_insertion(before: str, after: str) -> bool:
    """after == before with one contiguous piece of text inserted."""
    prefix = len(os.path.commonprefix([before, after]))
    suffix = len(os.path.commonprefix([before[::-1], after[::-1]]))
    return len(after) > len(before) and min(prefix, len(before)) + suffix >= len(before)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pins=st.dictionaries(st.sampled_from(["apt", "base", "java", "nginx"]),
                            st.sampled_from(["= 1.0.0", "~> 1.2", ">= 0.1.0"]), min_size=1),
       layout=st.sampled_from(["json0", "json2", "jsontab", "yaml"]),
       extra=st.booleans())
def test_new_pin_is_one_insertion(tmp_path, pins, layout, extra):
    env = {"name": "p", "cookbook_versions": pins}
    if extra:
        env["default_attributes"] = {"a": {"b": [1, 2]}}
    if layout == "yaml":
        text, name = yaml.safe_dump(env, sort_keys=False), "e.yaml"
    else:
        text = json.dumps(env, indent={"json0": None, "json2": 2, "jsontab": "\t"}[layout])
        name = "e.json"
    doc = _doc(tmp_path, name, text)
    expected = doc.expected()
    expected["cookbook_versions"]["zookeeper"] = "= 2.0.0"
    doc.commit(insert_entry(doc, entry(doc.root, "cookbook_versions")[1], "zookeeper", "= 2.0.0"),
               expected)
    assert _one_insertion(text, (tmp_path / name).read_text())

"""Search: Chef-style flattening and every piece of query syntax, on the Index alone."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import UsageError
from harness.repo import merge_precedence
from harness.server.fields import flatten, flatten_layers
from harness.server.search import Index


def test_flatten_nested_keys_leaf_keys_and_arrays():
    fields = flatten({"a": {"b": 1, "c": {"d": True}}, "tags": ["x", "y"], "n": None})
    assert fields == {"a_b": {"1"}, "b": {"1"}, "a_c_d": {"true"}, "d": {"true"},
                      "tags": {"x", "y"}, "n": {""},
                      "a": {"b", "c"}, "a_c": {"d"}, "c": {"d"}}  # nested keys are values too


def test_flatten_arrays_of_hashes_keep_the_key_path():
    fields = flatten({"disks": [{"name": "sda"}, {"name": "sdb"}]})
    assert fields["disks_name"] == {"sda", "sdb"}


def _index() -> Index:
    index = Index()
    docs = {
        "web1": {"role": "web", "env": "prod", "port": "80", "motd": "hello world"},
        "web2": {"role": "web", "env": "staging", "port": "8080"},
        "db1": {"role": "db", "env": "prod", "port": "5432", "path": "a:b"},
        "db10": {"role": "db", "env": "prod", "port": "5433"},
    }
    for name, doc in docs.items():
        index.put(name, doc, {**flatten(doc), "name": {name}})
    return index


@pytest.mark.parametrize("query, expected", [
    ("role:web", ["web1", "web2"]),
    ("role:web AND env:prod", ["web1"]),
    ("role:web OR role:db", ["db1", "db10", "web1", "web2"]),
    ("env:prod AND NOT role:db", ["web1"]),
    ("NOT role:db", ["web1", "web2"]),
    ("env:prod -role:db", ["web1"]),
    ("+env:prod +role:db", ["db1", "db10"]),
    ("+env:prod role:web", ["db1", "db10", "web1"]),  # should-clauses do not filter
    ("role:db env:staging", ["db1", "db10", "web2"]),  # implicit OR, as Lucene
    ("name:db*", ["db1", "db10"]),
    ("name:db?", ["db1"]),
    ("name:*1", ["db1", "web1"]),
    ("port:*", ["db1", "db10", "web1", "web2"]),
    ("motd:*", ["web1"]),
    ('motd:"hello world"', ["web1"]),
    ('"hello world"', []),  # a bare phrase: words after a value's first (tokens test file)
    ("hello", []),  # `hello` is motd's head token `motd__=__hello`, not a bare word
    ("world", ["web1"]),  # a value's later words are bare words of `content`
    ("prod", []),  # a bare term is not `content:env__=__prod`
    ("motd:hello", ["web1"]),  # the value's first word
    ("port:[80 TO 8080]", ["web1", "web2"]),  # string order: "5432" < "80"
    ("port:{5432 TO 8080}", ["db10", "web1"]),
    ("port:[80 TO 8080}", ["web1"]),
    ("port:[5433 TO *]", ["db10", "web1", "web2"]),
    ("*:*", ["db1", "db10", "web1", "web2"]),
    ("role:(web OR db) AND env:staging", []),  # content:role__=__ +(web OR db) +env...
    ("(role:web OR role:db) AND NOT env:prod", ["web2"]),
    (r"path:a\:b", ["db1"]),
    ("name:/db[0-9]+/", []),  # content:name__=__ OR /db[0-9]+/ on bare words
    ("/db[0-9]+/", []),  # whole tokens: `name__=__db1` does not match
    ("/name__=__db[0-9]+/", ["db1", "db10"]),
    ("role:web^2", ["web1", "web2"]),
    ("role:nothing", []),
    ("nosuchfield:x", []),
    ("ro*:db", ["db1", "db10"]),  # wildcard field names
    ("Role:web", []),  # case-sensitive
])
def test_query_syntax(query, expected):
    assert _index().search(query) == expected


@pytest.mark.parametrize("query", ["role:", "role:web AND OR x", "(role:web", "a:[1 TO",
                                   "name:/[/", "", " ", "port:>5432", "port:<=5432",
                                   "[a TO b]", r"motd:hello\ world"])
def test_bad_query_is_a_usage_error_with_the_parser_message(query):
    with pytest.raises(UsageError, match="bad"):
        _index().search(query)


def test_updates_move_postings_and_removal_cleans_up():
    index = _index()
    index.put("web1", {"role": "db"}, flatten({"role": "db"}))
    assert index.search("role:web") == ["web2"]
    assert index.search("role:db") == ["db1", "db10", "web1"]
    assert index.search("motd:*") == []
    for name in list(index.docs):
        index.remove(name)
    assert not index.postings and index.search("*:*") == []
    assert index.remove("web1") is None


def test_a_field_without_values_survives_its_peers_removal():
    """A node saved before it has roles (role = []) outlives the last node with a role."""
    index = Index()
    index.put("new", {"role": []}, {"role": set(), "name": {"new"}})
    index.put("zk", {"role": ["zk"]}, {"role": {"zk"}, "name": {"zk"}})
    index.remove("zk")
    assert index.remove("new") == {"role": []}
    assert not index.postings and index.search("role:*") == []


_text = st.text(alphabet="abcxyz019_-", min_size=1, max_size=6)
_docs = st.dictionaries(_text, st.dictionaries(st.sampled_from(["role", "env", "port"]), _text),
                        max_size=20)


@settings(max_examples=60, deadline=None)
@given(_docs, _text, _text)
def test_and_or_not_agree_with_a_plain_scan(docs, role, env):
    index = Index()
    for name, doc in docs.items():
        index.put(name, doc, flatten(doc))
    q = f'role:"{role}" AND env:"{env}"'
    scan = sorted(n for n, d in docs.items() if d.get("role") == role and d.get("env") == env)
    assert index.search(q) == scan
    scan_or = sorted(n for n, d in docs.items() if d.get("role") == role or d.get("env") == env)
    assert index.search(f'role:"{role}" OR env:"{env}"') == scan_or
    assert index.search(f'NOT role:"{role}"') == sorted(n for n, d in docs.items()
                                                      if d.get("role") != role)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_any_query_answers_or_raises_usage_error(query):
    try:
        result = _index().search(query)
    except UsageError:
        return
    assert result == sorted(result)


_json = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from("ab"),
                     lambda inner: st.lists(inner, max_size=2)
                     | st.dictionaries(st.sampled_from("abc"), inner, max_size=3), max_leaves=10)
_layer = st.dictionaries(st.sampled_from("abc"), _json, max_size=3)


@settings(max_examples=300, deadline=None)
@given(st.lists(_layer, max_size=4))
def test_flatten_layers_is_flatten_of_the_chef_merge(layers):
    assert flatten_layers(layers) == flatten(merge_precedence(layers))

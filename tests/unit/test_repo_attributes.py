"""deep_merge / merge_precedence: hashes deep-merge, arrays and scalars replace, no aliasing."""
from __future__ import annotations

import copy

from hypothesis import given
from hypothesis import strategies as st

from harness.repo import deep_merge, merge_precedence

keys = st.sampled_from(["a", "b", "c", "d"])
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=3))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)), max_leaves=12)
attrs = st.dictionaries(keys, values, max_size=4)


def test_hashes_merge_deeply() -> None:
    base = {"zk": {"port": 2181, "conf": {"tick": 2000, "init": 10}}, "other": 1}
    over = {"zk": {"conf": {"tick": 3000}, "heap": "1g"}}
    assert deep_merge(base, over) == {"zk": {"port": 2181, "heap": "1g",
                                             "conf": {"tick": 3000, "init": 10}}, "other": 1}


def test_arrays_and_scalars_replace() -> None:
    base = {"servers": ["a", "b", "c"], "port": 1, "mixed": {"x": 1}, "flag": True}
    over = {"servers": ["z"], "port": "2", "mixed": [1], "flag": None}
    assert deep_merge(base, over) == {"servers": ["z"], "port": "2", "mixed": [1], "flag": None}
    assert deep_merge({"a": 1}, {"a": {"b": 2}}) == {"a": {"b": 2}}


def test_inputs_are_not_modified_and_not_shared() -> None:
    base = {"a": {"list": [1, 2]}, "b": {"c": 1}}
    over = {"a": {"d": {"e": [3]}}}
    before = copy.deepcopy((base, over))
    out = deep_merge(base, over)
    assert (base, over) == before
    out["a"]["list"].append(99)
    out["a"]["d"]["e"].append(99)
    out["b"]["c"] = 2
    assert (base, over) == before


def test_none_and_empty_layers() -> None:
    assert deep_merge(None, None) == {}
    assert deep_merge({"a": 1}, None) == {"a": 1}
    assert merge_precedence([None, {}, {"a": 1}, None, {"a": 2}]) == {"a": 2}


def test_merge_precedence_applies_lowest_first() -> None:
    layers = [{"x": 1, "keep": {"a": 1}}, {"x": 2, "keep": {"b": 2}}, {"x": 3}]
    assert merge_precedence(layers) == {"x": 3, "keep": {"a": 1, "b": 2}}


@given(attrs)
def test_empty_is_identity(a: dict) -> None:
    assert deep_merge(a, {}) == a
    assert deep_merge({}, a) == a


@given(attrs)
def test_idempotent(a: dict) -> None:
    assert deep_merge(a, a) == a


def leaves(doc: dict, path: tuple = ()):
    for key, value in doc.items():
        if isinstance(value, dict):
            yield from leaves(value, path + (key,))
        else:
            yield path + (key,), value


def get(doc: dict, path: tuple):
    for key in path:
        doc = doc[key]
    return doc


@given(attrs, attrs, attrs)
def test_highest_layer_leaves_always_win(a: dict, b: dict, c: dict) -> None:
    merged = merge_precedence([a, b, c])
    assert merged == deep_merge(deep_merge(a, b), c)      # a left fold, lowest first
    for path, value in leaves(c):
        assert get(merged, path) == value


@given(attrs, attrs, attrs)
def test_associative_when_no_hash_meets_a_scalar(a: dict, b: dict, c: dict) -> None:
    """Chef's merge is associative except where a hash and a non-hash meet at one key."""
    def clash(x: dict, y: dict) -> bool:
        return any(k in y and (isinstance(v, dict) != isinstance(y[k], dict)
                               or (isinstance(v, dict) and clash(v, y[k])))
                   for k, v in x.items())
    if clash(a, b) or clash(b, c) or clash(a, c):
        return
    assert deep_merge(deep_merge(a, b), c) == deep_merge(a, deep_merge(b, c))


@given(attrs, attrs)
def test_keys_union_and_right_wins_on_non_hash(a: dict, b: dict) -> None:
    out = deep_merge(a, b)
    assert set(out) == set(a) | set(b)
    for key, value in b.items():
        if not (isinstance(value, dict) and isinstance(a.get(key), dict)):
            assert out[key] == value


@given(attrs, attrs)
def test_never_mutates_inputs(a: dict, b: dict) -> None:
    before = copy.deepcopy((a, b))
    deep_merge(a, b)
    merge_precedence([a, b, a])
    assert (a, b) == before

"""Search over Chef Server's tokenised `content` field: values split on whitespace, bare
terms on the default field, and queries as chef_lucene.peg rewrites them.

Chef Server sources are chef/chef-server at HEAD 9df4f56 (src/oc_erchef/...). Every document
is one `content` text field of `key__=__value ` entries (chef_index_expand.erl), analysed by
the index's default `whitespace` analyzer; a query `f:v` becomes `content:f__=__v`
(chef_lucene.peg) and goes to OpenSearch's `query_string` with no default field.
"""
from __future__ import annotations

import pytest

from harness.errors import UsageError
from harness.server.fields import LOOSE, RUNS, content, flatten, search_fields, tokens
from harness.server.search import Index
from harness.server.store import Store


def _index(docs: dict[str, dict[str, object]]) -> Index:
    index = Index()
    for name, doc in docs.items():
        index.put(name, doc, flatten(doc))
    return index


MOTD = {"a": {"motd": "hello world"}, "b": {"motd": "say hello world"},
        "c": {"motd": "hello world again"}, "d": {"motd": "hello there world"},
        "e": {"motd": ""}, "s": {"motd": " indented"}}


@pytest.mark.parametrize("query, expected", [
    ("motd:hello", ["a", "c", "d"]),
    ("motd:world", []),
    ("motd:*world", []),
    ("motd:hello*", ["a", "c", "d"]),
    ("motd:*ell?", ["a", "c", "d"]),
    ("motd:Hello", []),
    ("motd:say", ["b"]),
])
def test_a_value_is_its_words_and_a_field_query_sees_the_first(query: str,
                                                                expected: list[str]) -> None:
    """src/oc_erchef/habitat/config/opensearch-index-init.json:6 `"default": {"type":
    "whitespace"}` (no lowercasing) analyses `content`; chef_index_expand.erl:267-271
    encode_pair writes `K, <<"__=__">>, V, <<" ">>`, so "hello world" is the tokens
    `motd__=__hello` and `world`, and chef_lucene.peg:15 `[<<"content:">>, name, <<"__=__">>,
    arg]` makes `motd:X` a query on the first token only."""
    assert _index(MOTD).search(query) == expected


@pytest.mark.parametrize("query, expected", [
    ('motd:"hello world"', ["a", "c"]),    # d has both words, not side by side
    ('motd:"hello world again"', ["c"]),
    ('motd:"world again"', []),
    ('"world again"', ["c"]),
    ('"hello world"', ["b"]),
    ('motd:"hello"', ["a", "c", "d"]),
    ('"there world"', ["d"]),
    ('"say"', []),
])
def test_a_phrase_is_a_run_of_words(query: str, expected: list[str]) -> None:
    """chef_lucene.peg:18-20 field_phrase: `f:"a b"` -> `[<<"content:\\"">>, name,
    <<"__=__">>, P, <<"\\"">>]`, the phrase `f__=__a b`: the tokens side by side, so a value
    whose words START with `a b`; a bare phrase (peg `string`, passed as is) is a run of the
    other words (a value's first word is part of its `key__=__` token)."""
    assert _index(MOTD).search(query) == expected


@pytest.mark.parametrize("query, expected", [
    ("motd:[a TO i]", ["a", "c", "d"]),
    ("motd:[* TO i]", ["a", "c", "d", "e", "s"]),
    ("motd:{* TO i]", ["a", "c", "d"]),     # {* is `{motd__=__`: the empty value is out
    ("motd:[i TO *]", ["b"]),
    ("motd:[* TO *]", ["a", "b", "c", "d", "e", "s"]),
    ("motd:*", ["a", "b", "c", "d", "e", "s"]),
    ("mo*:[a TO z]", []),                   # a range's field is literal
])
def test_ranges_compare_a_values_first_word(query: str, expected: list[str]) -> None:
    """chef_lucene.peg:94-108 convert_range_expression: `[a TO b]` -> `content:[f__=__a TO
    f__=__b]`, `[a TO *]` -> `... TO f__=__\\\\ufff0]`, `[* TO b]` -> `[f__=__ TO ...`, and
    `[* TO *]` -> `content:f__=__*` (test/search_queries.txt: `afield:[* TO *]` ->
    `content:afield__=__*`). An empty value or one starting with a space has the token
    `motd__=__`."""
    assert _index(MOTD).search(query) == expected


def test_a_bare_term_matches_later_words_and_the_keyword_fields_only() -> None:
    """chef_lucene.peg:12 `term` is passed through without `content:`, and
    chef_opensearch.erl:165 query_string_query_ejson sends `{"query": Q}` with no default
    field, so OpenSearch's `index.query.default_field` `*` applies: `content` (where no
    `key__=__value` token equals a word) and the keyword fields X_CHEF_type_CHEF_X and
    data_bag (opensearch-index-init.json:18-37; chef_index_expand.erl:160-174 meta_fields,
    maybe_data_bag_field). So `prod` finds nothing, `node` every node, a bag's name every
    item of it."""
    store = Store()
    store.put("node", "web-1", {"chef_environment": "prod", "run_list": ["role[web]"],
                                "normal": {"motd": "welcome to prod"}})
    store.put("node", "db-1", {"chef_environment": "prod"})
    store.put("role", "web", {"description": "the web tier"})
    store.create_bag("users")
    store.put_item("users", "alice", {"id": "alice", "shell": "/bin/bash"})

    def names(index: str, q: str) -> list[str]:
        return sorted(str(d.get("name", d.get("id"))) for d in store.search_docs(index, q))

    assert names("node", "web") == []
    assert names("node", "prod") == ["web-1"]            # motd's third word
    assert names("node", "node") == ["db-1", "web-1"]    # X_CHEF_type_CHEF_X
    assert names("node", "X_CHEF_type_CHEF_X:node") == ["db-1", "web-1"]  # also in content
    assert names("role", "tier") == ["web"]
    assert names("role", "role") == ["web"]
    assert names("users", "users") == ["alice"]          # the data_bag keyword
    assert names("users", "data_bag_item") == ["alice"]
    assert names("users", "alice") == []
    assert names("node", "text:prod") == []              # `text` is an ordinary field
    assert names("node", "*") == names("node", "*:*") == ["db-1", "web-1"]


@pytest.mark.parametrize("query, expected", [
    ("k:/x/", ["e"]),                     # content:k__=__ OR /x/: e's k is empty
    ("/x/", []),
    ("/wor.*/", ["a"]),                   # a loose word
    ("/motd__=__h.*/", ["a"]),            # whole tokens, heads included
    ("k:/x/ AND motd:hello", []),         # k__=__ +/x/ +motd__=__hello: no token is `x`
    ("motd:hello AND k:/x/", []),         # +motd__=__hello +k__=__ /x/: a's k is not empty
    ("k:(x OR y)", ["e"]),                # content:k__=__ (x OR y): no bare word x or y
    ("-k:/zzz/", []),                     # -k__=__ /zzz/: the one SHOULD clause finds nothing
])
def test_a_fielded_regex_or_group_reads_as_lucene_reads_its_rewrite(query: str,
                                                                    expected: list[str]) -> None:
    """chef_lucene.peg:14-15 `field <- name ":" arg:(fuzzy_op / term / group / string)` ->
    `content:f__=__ARG`; Lucene's classic QueryParser.jj excludes "/" and "(" from
    _TERM_START_CHAR/_TERM_CHAR, so `content:k__=__/x/` is the clause `content:k__=__` (an
    empty k) followed by `/x/` on the default field, a clause of its own
    (`<REGEXPTERM: "/" (~[ "/" ] | "\\\\/" )* "/" >`); `k:(x OR y)` likewise."""
    index = _index({"a": {"motd": "hello world", "k": "x"}, "b": {"k": "y"}, "e": {"k": ""}})
    assert index.search(query) == expected


@pytest.mark.parametrize("query", ["port:>80", "port:<=80", "[a TO b]", r"motd:hello\ world"])
def test_what_chef_servers_query_grammar_cannot_read_is_a_400(query: str) -> None:
    """chef_lucene.peg: `field_range <- field_name ":" (("[" ...) / ("{" ...))` (:23) is the
    only range (no `>`/`<`, none without a field), and `special_char` (:68) has no space to
    escape; the parse then leaves input over and chef_index_query.erl transform_query throws
    bad_query (400)."""
    with pytest.raises(UsageError, match="bad search query"):
        _index(MOTD).search(query)


def test_a_long_word_is_cut_into_255_character_tokens() -> None:
    """Lucene CharTokenizer (WhitespaceTokenizer's base): DEFAULT_MAX_WORD_LEN = 255, `if
    (length >= maxTokenLen) break;`: a longer run is emitted in 255-unit pieces."""
    key = "ssh-rsa " + "A" * 300
    assert [len(t) for t in tokens(f"k__=__{key}")] == [13, 255, 45]
    index = _index({"n": {"k": key}})
    assert index.search("k:ssh-rsa") == ["n"]
    assert index.search("A" * 255) == ["n"] and index.search("A" * 45) == ["n"]


def test_a_key_with_a_space_is_split_too() -> None:
    """encode_pair joins the key as written: `my key__=__v ` is the tokens `my` and `key__=__v`."""
    index = _index({"n": {"my key": "v"}})
    assert index.search("key:v") == ["n"] and index.search("my") == ["n"]


def test_only_columns_with_spaces_are_copied() -> None:
    """content() shares the caller's sets where no value splits (indexing 10,000 nodes)."""
    fields = {"a": {"x", "y"}, "b": {"hello world", "z"}}
    out = content(fields)
    assert out["a"] is fields["a"] and out["b"] == {"hello", "z"}
    assert out[LOOSE] == {"world"} and out[RUNS] == {"b__=__hello world"}
    assert fields["b"] == {"hello world", "z"}
    node = {"name": "n", "chef_environment": "_default", "run_list": [], "default": {},
            "normal": {"os": "Debian GNU/Linux 12"}, "override": {}, "automatic": {}}
    assert search_fields("node", node)["os"] == {"Debian"}


def test_clients_and_the_default_environment_carry_their_index_type():
    """chef_index_expand.erl meta_fields: every indexed object carries X_CHEF_type_CHEF_X (its
    index type), which the default field holds, so a bare `client` / `environment` finds
    clients and environments, `_default` included, as any other document of those indexes."""
    from harness.server.store import Store
    store = Store()
    store.create_client("web-1", validator=False)
    assert [d["name"] for d in store.search_docs("client", "client")] == ["web-1"]
    assert "_default" in [d["name"] for d in store.search_docs("environment", "environment")]

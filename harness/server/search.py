"""Search: an inverted index kept current on writes, luqum evaluation (fields.py flattens).

Each index maps `field -> token -> {ids}`, the tokens of Chef Server's `content` field
(fields.content: `motd: "hello world"` is the head `motd: hello` plus the loose word
`world`), so `role:X AND chef_environment:Y` is two dict lookups and a set intersection;
only wildcards, ranges and regexes scan one field's values. Queries are parsed by luqum
(lucene.py) and read as Chef Server reads them (chef_lucene.peg rewrites `f:v` to
`content:f__=__v`); values are matched by RE2 (matching.py).

A search runs off the event loop and must not hold the store lock while it matches, or node
writes would wait for it: the evaluator takes the lock (Budget.lock) only to copy a column's
values or union posting sets, and matches with it released, checking its time budget.
"""
from __future__ import annotations

from collections.abc import Callable

from luqum import tree

from harness.errors import UsageError
from harness.server.fields import KEYWORD, LOOSE, RESERVED, RUNS, SEP, Content, Doc, content, tokens
from harness.server.lucene import OPERATIONS, OnDefault, clauses, parse_query, split_field
from harness.server.matching import Budget, regex, wildcard

__all__ = ["BARE", "Budget", "Index", "parse_query"]

# The field of a term written without one. Chef Server leaves it to OpenSearch's default
# field `*`: the `content` tokens (no `key__=__value` head can equal a word without `=`) and
# the keyword fields X_CHEF_type_CHEF_X and data_bag (index.query.default_field).
BARE = ""


class Index:
    """One search index: stored documents plus `field -> value -> ids` postings."""

    def __init__(self) -> None:
        self.docs: dict[str, Doc] = {}
        self.postings: dict[str, dict[str, set[str]]] = {}
        self._terms: dict[str, dict[str, set[str]]] = {}  # id -> its fields, to unindex
        self._sorted: list[str] | None = None

    def __len__(self) -> int:
        return len(self.docs)

    def put(self, id_: str, doc: Doc, fields: dict[str, set[str]]) -> None:
        """Store doc under id_ and (re)index it by fields (kept: do not mutate them later);
        fields not yet split into content tokens (fields.content) are split here."""
        if not isinstance(fields, Content):
            fields = content(fields)
        if id_ in self.docs:
            self._unindex(id_)
        else:
            self._sorted = None
        self.docs[id_] = doc
        postings = self.postings
        for field, values in fields.items():
            if not values or field == RUNS:  # an empty column would outlive its last value
                continue
            column = postings.get(field)
            if column is None:
                postings[field] = {value: {id_} for value in values}
                continue
            for value in values:
                ids = column.get(value)
                if ids is None:
                    column[value] = {id_}
                else:
                    ids.add(id_)
        self._terms[id_] = fields

    def remove(self, id_: str) -> Doc | None:
        """Drop id_ from the index; returns its document (None when absent)."""
        if id_ not in self.docs:
            return None
        self._unindex(id_)
        self._sorted = None
        return self.docs.pop(id_)

    def _unindex(self, id_: str) -> None:
        for field, values in self._terms.pop(id_, {}).items():
            if not values or field == RUNS:  # never indexed (see put)
                continue
            column = self.postings[field]
            for value in values:
                ids = column[value]
                ids.discard(id_)
                if not ids:
                    del column[value]
            if not column:
                del self.postings[field]

    def sorted_ids(self) -> list[str]:
        """Every id in name order (cached until the set of ids changes)."""
        if self._sorted is None:
            self._sorted = sorted(self.docs)
        return self._sorted

    def search(self, q: str, budget: Budget | None = None) -> list[str]:
        """Ids matching the Lucene query q, sorted by name. With a budget, the store lock
        is taken only in short bursts and the search stops at the budget's deadline."""
        budget = budget or Budget()
        if not q.strip():  # Chef Server and chef-zero both refuse it; absent `q` is `*:*`
            raise UsageError(f"bad search query {q!r}: empty (leave out `q`, or `*:*` for all)")
        hits = _Evaluator(self, budget).eval(parse_query(q), BARE)
        budget.check()
        with budget.lock:
            if len(hits) * 8 > len(self.docs):
                return [i for i in self.sorted_ids() if i in hits]
        return sorted(hits)


def _prefixed(head: str, match: Callable[[str], bool]) -> Callable[[str], bool]:
    return lambda value: match(head + value)


class _Evaluator:
    """Walks luqum's tree; every node evaluates to a set of ids."""

    def __init__(self, index: Index, budget: Budget) -> None:
        self.index = index
        self.budget = budget
        self.lock = budget.lock

    def all(self) -> set[str]:
        with self.lock:
            return set(self.index.docs)

    def eval(self, node: tree.Item, field: str) -> set[str]:
        if isinstance(node, OPERATIONS) or split_field(node) is not None:
            return self._bool(clauses(node), field)
        if isinstance(node, OnDefault):
            return self.eval(node.expr, BARE)
        if isinstance(node, tree.SearchField):
            return self.eval(node.expr, node.name)
        if isinstance(node, (tree.Group, tree.FieldGroup)):
            return self.eval(node.expr, field)
        if isinstance(node, (tree.Not, tree.Prohibit)):
            return self.all() - self.eval(node.a, field)
        if isinstance(node, tree.Plus):
            return self.eval(node.a, field)
        if isinstance(node, tree.Boost):
            return self.eval(node.expr, field)
        if isinstance(node, tree.BaseApprox):  # fuzzy / proximity: match the term itself
            return self.eval(node.term, field)
        if isinstance(node, tree.Range):
            return self._range(field, node.low, node.high, node.include_low, node.include_high)
        if isinstance(node, (tree.From, tree.To)):
            raise UsageError(f"bad search query {str(node)!r}: Chef Server's query grammar has "
                             "no `>`/`<` ranges (chef_lucene.peg field_range); write "
                             "field:[a TO *] or field:[* TO b]")
        if isinstance(node, tree.Regex):  # Lucene lexes /re/ as a clause of its own
            return self._bare_scan(regex(node.value[1:-1]))
        if isinstance(node, tree.Phrase):
            return self._phrase(field, tree.Term.WORD_ESCAPED_CHARS.sub(r"\1", node.value[1:-1]))
        if isinstance(node, tree.Word):
            return self._word(field, node)
        raise UsageError(f"unsupported search syntax: {node}")

    def _bool(self, clauses: list[tuple[str, tree.Item]], field: str) -> set[str]:
        """Lucene's BooleanQuery: every MUST, else any SHOULD, minus every MUST_NOT (only
        MUST_NOT clauses: everything else, as Solr and Elasticsearch answer it)."""
        must, should, must_not = [], [], []
        for occur, op in clauses:
            if occur == "must_not":
                must_not.append(self.eval(op.a, field))
            elif occur == "must":
                must.append(self.eval(op, field))
            else:
                should.append(self.eval(op, field))
        if must:
            hits = set.intersection(*sorted(must, key=len))
        elif should:
            hits = set().union(*should)
        else:
            hits = self.all()
        for excluded in must_not:
            hits -= excluded
        return hits

    def _columns(self, field: str) -> list[dict[str, set[str]]]:
        """The content columns a field (or field pattern) names; matched outside the lock."""
        with self.lock:
            postings = self.index.postings
            if "*" not in field and "?" not in field:
                column = postings.get(field) if field not in RESERVED else None
                return [column] if column else []
            names = [name for name in postings if name not in RESERVED]
        wanted = self._matching(names, wildcard(field))
        with self.lock:
            return [column for name in wanted if (column := postings.get(name))]

    def _word(self, field: str, node: tree.Word) -> set[str]:
        if node.value == "*":  # `*:*`, a bare `*` (OpenSearch: match all), or `f:*`
            if field in (BARE, "*"):
                return self.all()
            columns = self._columns(field)
            with self.lock:
                return set().union(*(ids for col in columns for ids in col.values()))
        if node.has_wildcard():
            if field == BARE:
                return self._bare_scan(wildcard(node.value))
            return self._scan(field, wildcard(node.value))
        value = node.unescaped_value
        if tokens(value) != [value]:
            raise UsageError(f"bad search query term {node.value!r}: Chef Server's query grammar "
                             "has no escaped space (chef_lucene.peg); use a phrase: \"a b\"")
        if field == BARE:
            return self._tokens([value], keyword=value)
        if "*" in field or "?" in field:  # `ro*:db`: content:ro*__=__db, a wildcard
            return self._exact_in(self._columns(field), value)
        return self._tokens(tokens(f"{field}{SEP}{value}"))

    def _tokens(self, words: list[str], keyword: str | None = None) -> set[str]:
        """Ids with any of these content tokens (a term analysed into several: OR), or
        whose keyword fields hold `keyword`."""
        hits: set[str] = set()
        with self.lock:
            postings = self.index.postings
            for word in words:
                key, sep, value = word.partition(SEP)
                column = postings.get(key if sep else LOOSE)
                hits |= column.get(value if sep else word, set()) if column else set()
            if keyword is not None:
                hits |= postings.get(KEYWORD, {}).get(keyword, set())
        return hits

    def _exact_in(self, columns: list[dict[str, set[str]]], value: str) -> set[str]:
        hits: set[str] = set()
        with self.lock:
            for column in columns:
                hits |= column.get(value, set())
        return hits

    def _phrase(self, field: str, text: str) -> set[str]:
        """Lucene's phrase query on `content`: `f:"a b"` is `content:"f__=__a b"`, the
        tokens f__=__a, b side by side, so a value whose words start with `a b`; a bare
        phrase is a run of words anywhere after a value's first."""
        words = tokens(text if field == BARE else f"{field}{SEP}{text}")
        if len(words) <= 1:
            if field == BARE:
                return self._tokens(words, keyword=text) if words else set()
            return self._tokens(words)
        candidates = set.intersection(*(self._tokens([word]) for word in words))
        return {id_ for id_ in candidates if self._has_run(id_, words)}

    def _has_run(self, id_: str, words: list[str]) -> bool:
        with self.lock:
            entries = list(self.index._terms.get(id_, {}).get(RUNS, ()))
        n = len(words)
        for entry in entries:
            self.budget.tick()
            got = tokens(entry)
            if any(got[i:i + n] == words for i in range(len(got) - n + 1)):
                return True
        return False

    def _scan(self, field: str, match: Callable[[str], bool]) -> set[str]:
        """Ids of the values match accepts: values copied under the lock, matched without
        it (writers proceed meanwhile), their posting sets read under it again."""
        hits: set[str] = set()
        for column in self._columns(field):
            hits |= self._scan_column(column, match)
        return hits

    def _scan_column(self, column: dict[str, set[str]], match: Callable[[str], bool]) -> set[str]:
        hits: set[str] = set()
        with self.lock:
            values = list(column)
        wanted = self._matching(values, match)
        with self.lock:
            for value in wanted:
                hits |= column.get(value, set())
        return hits

    def _bare_scan(self, match: Callable[[str], bool]) -> set[str]:
        """A wildcard or regex on the default field: every whole token (`key__=__word`,
        loose words) and the keyword fields."""
        with self.lock:
            columns = list(self.index.postings.items())
        hits: set[str] = set()
        for name, column in columns:
            if name in (LOOSE, KEYWORD):
                hits |= self._scan_column(column, match)
            else:
                hits |= self._scan_column(column, _prefixed(f"{name}{SEP}", match))
        return hits

    def _matching(self, values: list[str], match: Callable[[str], bool]) -> list[str]:
        """The values match accepts, counted against the budget."""
        tick, out = self.budget.tick, []
        for value in values:
            tick()
            if match(value):
                out.append(value)
        return out

    def _range(self, field: str, low: tree.Term, high: tree.Term,
               include_low: bool, include_high: bool) -> set[str]:
        """chef_lucene.peg convert_range_expression: `[a TO b]` is the token range
        `[f__=__a TO f__=__b]`, so a first word between a and b; `*` below is `f__=__` (an
        empty value), above `f__=__\\ufff0`; `[* TO *]` is `f__=__*`. The field is literal."""
        if field == BARE:
            raise UsageError(f"bad search query range {low} TO {high}: Chef Server's query "
                             "grammar needs a field (chef_lucene.peg field_range): f:[a TO b]")
        if low.value == "*" and high.value == "*":
            return self._word(field, tree.Word("*"))
        lo = "" if low.value == "*" else low.unescaped_value
        hi = "\ufff0" if high.value == "*" else high.unescaped_value

        def inside(value: str) -> bool:
            return ((lo < value or (include_low and value == lo))
                    and (value < hi or (include_high and value == hi)))

        with self.lock:
            column = self.index.postings.get(field) if field not in RESERVED else None
        return self._scan_column(column, inside) if column else set()

"""Search: an inverted index kept current on writes, luqum evaluation (fields.py flattens).

Each index maps `field -> value -> {ids}` so `role:X AND chef_environment:Y` is two dict
lookups and a set intersection; only wildcards, ranges and regexes scan one field's values.
Queries are parsed by luqum (lucene.py), values matched by RE2 (matching.py).

A search runs off the event loop and must not hold the store lock while it matches, or node
writes would wait for it: the evaluator takes the lock (Budget.lock) only to copy a column's
values or union posting sets, and matches with it released, checking its time budget.
"""
from __future__ import annotations

from collections.abc import Callable

from luqum import tree

from harness.errors import UsageError
from harness.server.fields import Doc
from harness.server.lucene import parse_query
from harness.server.matching import Budget, regex, wildcard

__all__ = ["TEXT", "Budget", "Index", "parse_query"]

TEXT = "text"  # a bare term's field: every value of the document (no postings of its own)


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
        """Store doc under id_ and (re)index it by fields (kept: do not mutate them later)."""
        if id_ in self.docs:
            self._unindex(id_)
        else:
            self._sorted = None
        self.docs[id_] = doc
        postings = self.postings
        for field, values in fields.items():
            if not values:  # an empty column would outlive its last value's removal
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
            if not values:  # never indexed (see put)
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
        hits = _Evaluator(self, budget).eval(parse_query(q), TEXT)
        budget.check()
        with budget.lock:
            if len(hits) * 8 > len(self.docs):
                return [i for i in self.sorted_ids() if i in hits]
        return sorted(hits)


_OPERATIONS = (tree.AndOperation, tree.OrOperation, tree.UnknownOperation, tree.BoolOperation)
_MUST, _SHOULD, _MUST_NOT = "must", "should", "must_not"


def _sequence(node: tree.Item, conj: str | None, out: list[tuple[str | None, tree.Item]]) -> None:
    """The operands of one parenthesis level in query order, each with the operator written
    before it: luqum nests `a AND b OR c` by precedence, Lucene's parser reads it flat."""
    if not isinstance(node, _OPERATIONS):
        out.append((conj, node))
        return
    written = ("AND" if isinstance(node, tree.AndOperation)
               else "OR" if isinstance(node, tree.OrOperation) else None)
    for i, operand in enumerate(node.operands):
        _sequence(operand, conj if i == 0 else written, out)


def _clauses(node: tree.Item) -> list[tuple[str, tree.Item]]:
    """Lucene classic QueryParser#addClause with the default operator OR: no precedence;
    `AND` makes the clause before it and itself required (a prohibited one stays
    prohibited), `NOT`/`-` prohibit, `+` requires, the rest are optional. So `a AND b OR c`
    is `+a +b c` (= a AND b) and `a OR NOT b` is `a -b` (= a without b)."""
    sequence: list[tuple[str | None, tree.Item]] = []
    _sequence(node, None, sequence)
    clauses: list[tuple[str, tree.Item]] = []
    for conj, op in sequence:
        if conj == "AND" and clauses and clauses[-1][0] != _MUST_NOT:
            clauses[-1] = (_MUST, clauses[-1][1])
        if isinstance(op, (tree.Not, tree.Prohibit)):
            clauses.append((_MUST_NOT, op))
        elif isinstance(op, tree.Plus) or conj == "AND":
            clauses.append((_MUST, op))
        else:
            clauses.append((_SHOULD, op))
    return clauses


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
        if isinstance(node, tree.SearchField):
            return self.eval(node.expr, node.name)
        if isinstance(node, (tree.Group, tree.FieldGroup)):
            return self.eval(node.expr, field)
        if isinstance(node, _OPERATIONS):
            return self._bool(_clauses(node), field)
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
        if isinstance(node, tree.From):
            return self._range(field, node.a, None, node.include, True)
        if isinstance(node, tree.To):
            return self._range(field, None, node.a, True, node.include)
        if isinstance(node, tree.Regex):
            return self._scan(field, regex(node.value[1:-1]))
        if isinstance(node, tree.Phrase):
            return self._exact(field, tree.Term.WORD_ESCAPED_CHARS.sub(r"\1", node.value[1:-1]))
        if isinstance(node, tree.Word):
            return self._word(field, node)
        raise UsageError(f"unsupported search syntax: {node}")

    def _bool(self, clauses: list[tuple[str, tree.Item]], field: str) -> set[str]:
        """Lucene's BooleanQuery: every MUST, else any SHOULD, minus every MUST_NOT (only
        MUST_NOT clauses: everything else, as Solr and Elasticsearch answer it)."""
        must, should, must_not = [], [], []
        for occur, op in clauses:
            if occur == _MUST_NOT:
                must_not.append(self.eval(op.a, field))
            elif occur == _MUST:
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
        """The posting columns a field (or field pattern) names; matched outside the lock."""
        with self.lock:
            postings = self.index.postings
            if field in ("*", TEXT):
                return list(postings.values())
            if "*" not in field and "?" not in field:
                column = postings.get(field)
                return [column] if column else []
            names = list(postings)
        wanted = self._matching(names, wildcard(field))
        with self.lock:
            return [column for name in wanted if (column := postings.get(name))]

    def _word(self, field: str, node: tree.Word) -> set[str]:
        if node.value == "*":
            if field == "*":
                return self.all()
            columns = self._columns(field)
            with self.lock:
                return set().union(*(ids for col in columns for ids in col.values()))
        if node.has_wildcard():
            return self._scan(field, wildcard(node.value))
        return self._exact(field, node.unescaped_value)

    def _exact(self, field: str, value: str) -> set[str]:
        hits: set[str] = set()
        columns = self._columns(field)
        with self.lock:
            for column in columns:
                hits |= column.get(value, set())
        return hits

    def _scan(self, field: str, match: Callable[[str], bool]) -> set[str]:
        """Ids of the values match accepts: values copied under the lock, matched without
        it (writers proceed meanwhile), their posting sets read under it again."""
        hits: set[str] = set()
        for column in self._columns(field):
            with self.lock:
                values = list(column)
            wanted = self._matching(values, match)
            with self.lock:
                for value in wanted:
                    hits |= column.get(value, set())
        return hits

    def _matching(self, values: list[str], match: Callable[[str], bool]) -> list[str]:
        """The values match accepts, counted against the budget."""
        tick, out = self.budget.tick, []
        for value in values:
            tick()
            if match(value):
                out.append(value)
        return out

    def _range(self, field: str, low: tree.Term | None, high: tree.Term | None,
               include_low: bool, include_high: bool) -> set[str]:
        lo = None if low is None or low.value == "*" else low.unescaped_value
        hi = None if high is None or high.value == "*" else high.unescaped_value

        def inside(value: str) -> bool:
            if lo is not None and (value < lo or (value == lo and not include_low)):
                return False
            if hi is not None and (value > hi or (value == hi and not include_high)):
                return False
            return True

        return self._scan(field, inside)

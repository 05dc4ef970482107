"""Query text -> luqum tree (with the operator spellings luqum lacks: `!`, `&&`, `||`), and
the boolean clauses Lucene's classic parser reads in it (clauses()).

Lucene's classic QueryParser (the one Solr and Elasticsearch behind Chef Server use) lexes
`<AND: ("AND" | "&&")>`, `<OR: ("OR" | "||")>`, `<NOT: ("NOT" | "!")>`, and `!` can never be
part of an unescaped term. luqum knows only the words, so `!chef_environment:testing` reached
the evaluator as a field named `!chef_environment` and matched nothing. luqum's own lexer
finds the terms (so phrases, regexes and ranges are left alone); we respell the operators in
them and hand the text back to luqum's parser.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import InvalidOperation
from functools import lru_cache
from typing import Any

from luqum import tree
from luqum.exceptions import InconsistentQueryException, ParseError
from luqum.parser import lexer as luqum_lexer
from luqum.thread import parse

from harness.errors import UsageError

_BANG = re.compile(r"(\\.)|!")  # an escaped character (kept) or a bare `!` (NOT)
_WORDS = {"&&": " AND ", "||": " OR "}


def respell_operators(q: str) -> str:
    """q with `&&`, `||` and unescaped `!` outside phrases, regexes and ranges spelled as
    AND, OR, NOT; q unchanged when luqum's lexer cannot read it (the parser then says why)."""
    if "!" not in q and "&&" not in q and "||" not in q:
        return q
    lex = luqum_lexer.clone()
    lex.input(q)
    edits: list[tuple[int, int, str]] = []
    depth = 0  # inside [a TO b] / {a TO b} every character is literal, as in Lucene
    try:
        for tok in iter(lex.token, None):
            if tok.type == "LBRACKET":
                depth += 1
            elif tok.type == "RBRACKET":
                depth = max(0, depth - 1)
            elif tok.type == "TERM" and depth == 0:
                text = str(tok.value.value)
                spelled = _WORDS.get(text)
                if spelled is None and "!" in text:
                    spelled = _BANG.sub(lambda m: m.group(1) or " NOT ", text)
                if spelled is not None:
                    edits.append((tok.lexpos, tok.lexpos + len(text), spelled))
    except Exception:  # luqum's lexer raises its own errors for illegal characters
        return q
    for start, end, text in reversed(edits):
        q = q[:start] + text + q[end:]
    return q


@lru_cache(maxsize=1024)
def parse_query(q: str) -> tree.Item:
    """luqum's tree for q; a bad query is a UsageError carrying the parser's message."""
    try:
        return parse(respell_operators(q))
    # luqum turns a malformed boost (`0^.`) into decimal's InvalidOperation (found by hypothesis)
    except (ParseError, InconsistentQueryException, InvalidOperation) as err:
        raise UsageError(f"bad search query {q!r}: {err}") from None


OPERATIONS = (tree.AndOperation, tree.OrOperation, tree.UnknownOperation, tree.BoolOperation)
_MUST, _SHOULD, _MUST_NOT = "must", "should", "must_not"
_UNARY = (tree.Not, tree.Prohibit, tree.Plus)


@dataclass(frozen=True)
class OnDefault:
    """A clause Lucene reads on the default field although luqum put it under a field."""

    expr: tree.Item


def split_field(node: tree.Item) -> list[Any] | None:
    """`f:/re/` and `f:(a b)` as Lucene reads what chef_lucene.peg makes of them,
    `content:f__=__/re/` and `content:f__=__(a b)`: the term `f__=__` (an empty f) and,
    as a clause of its own on the default field, the regex or group. None for other nodes."""
    unary = node if isinstance(node, _UNARY) else None
    inner = node.a if unary is not None else node
    if not isinstance(inner, tree.SearchField):
        return None
    expr = inner.expr.expr if isinstance(inner.expr, tree.Boost) else inner.expr
    if not isinstance(expr, (tree.Regex, tree.FieldGroup)):
        return None
    empty: tree.Item = tree.SearchField(inner.name, tree.Phrase('""'))
    return [type(unary)(empty) if unary is not None else empty, OnDefault(expr)]


def _sequence(node: tree.Item, conj: str | None, out: list[tuple[str | None, Any]]) -> None:
    """The operands of one parenthesis level in query order, each with the operator written
    before it: luqum nests `a AND b OR c` by precedence, Lucene's parser reads it flat."""
    if not isinstance(node, OPERATIONS):
        parts = split_field(node)
        if parts is None:
            out.append((conj, node))
        else:
            out.extend([(conj, parts[0]), (None, parts[1])])
        return
    written = ("AND" if isinstance(node, tree.AndOperation)
               else "OR" if isinstance(node, tree.OrOperation) else None)
    for i, operand in enumerate(node.operands):
        _sequence(operand, conj if i == 0 else written, out)


def clauses(node: tree.Item) -> list[tuple[str, Any]]:
    """Lucene classic QueryParser#addClause with the default operator OR: no precedence;
    `AND` makes the clause before it and itself required (a prohibited one stays
    prohibited), `NOT`/`-` prohibit, `+` requires, the rest are optional. So `a AND b OR c`
    is `+a +b c` (= a AND b) and `a OR NOT b` is `a -b` (= a without b)."""
    sequence: list[tuple[str | None, Any]] = []
    _sequence(node, None, sequence)
    clauses: list[tuple[str, Any]] = []
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

"""Query text -> luqum tree, with the operator spellings luqum lacks: `!`, `&&`, `||`.

Lucene's classic QueryParser (the one Solr and Elasticsearch behind Chef Server use) lexes
`<AND: ("AND" | "&&")>`, `<OR: ("OR" | "||")>`, `<NOT: ("NOT" | "!")>`, and `!` can never be
part of an unescaped term. luqum knows only the words, so `!chef_environment:testing` reached
the evaluator as a field named `!chef_environment` and matched nothing. luqum's own lexer
finds the terms (so phrases, regexes and ranges are left alone); we respell the operators in
them and hand the text back to luqum's parser.
"""
from __future__ import annotations

import re
from decimal import InvalidOperation
from functools import lru_cache

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

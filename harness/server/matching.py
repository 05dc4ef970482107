"""Linear-time value matchers for search (wildcards, regexes) and the per-request budget.

Python's `re` backtracks: `/(.*)*X/` or `*e*e*e*e*e*e*Z` against a 60-character value took
seconds to forever while holding the GIL, so one search stalled the whole server. Both now
compile to RE2 (google-re2), an automaton whose matching time is linear in the value and never
backtracks; what RE2 cannot express (backreferences, lookaround) is refused with 400, as a
Lucene RegexpQuery (also automaton-based) refuses it. The Budget stops a search that still
runs too long (huge indexes, many columns) with 503 instead of holding a worker.
"""
from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import lru_cache

import re2

from harness.errors import UsageError
from harness.server.status import HttpError

Matcher = Callable[[str], bool]
_CHECK_EVERY = 256  # values matched between two looks at the clock


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern on stderr
    options.dot_nl = True       # Lucene's `*`, `?` and `.` match any character, newlines too
    options.max_mem = 8 << 20   # the automaton's memory: a bigger pattern is refused
    return options


_OPTIONS = _options()


def _compile(pattern: str, what: str) -> Matcher:
    try:
        compiled = re2.compile(pattern, _OPTIONS)
    except re2.error as err:
        reason = err.args[0].decode() if err.args and isinstance(err.args[0], bytes) else err
        raise UsageError(f"bad {what}: {reason} (regexes run on RE2: no backreferences or "
                         "lookaround)") from None
    fullmatch = compiled.fullmatch
    return lambda value: fullmatch(value) is not None


@lru_cache(maxsize=1024)
def wildcard(value: str) -> Matcher:
    """Lucene wildcard (`*` any run, `?` one character, backslash escapes) as a whole-value
    matcher."""
    parts, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            parts.append(re.escape(value[i + 1]))
            i += 2
            continue
        parts.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    return _compile("".join(parts), f"wildcard {value!r}")


@lru_cache(maxsize=256)
def regex(pattern: str) -> Matcher:
    """`/pattern/` as Lucene applies it: to the whole value (an unescaped `\\/` is a slash)."""
    return _compile(pattern.replace("\\/", "/"), f"regular expression /{pattern}/")


class BudgetExceeded(HttpError):
    """A search ran past its time budget (503: the server is fine, the query too costly)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=503)


class Budget:
    """A search's deadline and the store lock it takes in short bursts (never while matching)."""

    def __init__(self, seconds: float | None = None,
                 lock: threading.RLock | None = None) -> None:
        self.seconds = seconds
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self.lock: AbstractContextManager[object] = lock if lock is not None else nullcontext()
        self._count = 0

    def tick(self) -> None:
        """Count one matched value; past the deadline, raise BudgetExceeded."""
        self._count += 1
        if self._count % _CHECK_EVERY == 0:
            self.check()

    def check(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise BudgetExceeded(f"search stopped after its {self.seconds:g} s budget; "
                                 "narrow the query (fewer wildcards, a field name)")

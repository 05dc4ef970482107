"""Converge passes after the bootstrap: repeat until search settles, then prove idempotence.

Nodes bootstrap concurrently, so the first node of an ensemble converges before its peers are
registered and its config lists fewer members. The agent reports every search it made; while
any of them would now answer differently, every node converges again (contracts.md,
"Converge passes and settling"). A last pass must change nothing.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.errors import IdempotenceError

MAX_SETTLE_PASSES = 5

Report = dict[str, Any]  # the agent's --json report
SearchFn = Callable[[str, str], list[dict[str, Any]]]
# converge_all(label) runs one pass on every node and returns {node: report}
ConvergeAll = Callable[[str], dict[str, Report]]


def result_names(index: str, rows: list[dict[str, Any]]) -> list[str]:
    """Sorted names of search rows, as the agent records them: `name`, else `id`."""
    return sorted(str(row.get("name") or row.get("id") or "") for row in rows)


def stale_searches(report: Report, search: SearchFn) -> list[str]:
    """The searches of a report whose answer changed since the node ran them."""
    stale = []
    for seen in report.get("searches") or []:
        now = result_names(seen["index"], search(seen["index"], seen["query"]))
        if now != sorted(seen.get("names") or []):
            stale.append(f"{seen['index']}:{seen['query']} {seen.get('names')} -> {now}")
    return stale


def settle(nodes: list[str], last_report: Callable[[str], Report], search: SearchFn,
           converge_all: ConvergeAll, progress: Callable[[str], None],
           max_passes: int = MAX_SETTLE_PASSES) -> int:
    """Run passes until no node's searches are stale; return how many extra passes ran."""
    passes = 0
    while True:
        stale = {n: s for n in nodes if (s := stale_searches(last_report(n), search))}
        if not stale:
            return passes
        if passes >= max_passes:
            progress(f"search results still change after {max_passes} passes: "
                     + "; ".join(f"{n}: {s[0]}" for n, s in sorted(stale.items())))
            return passes
        passes += 1
        progress(f"converge pass {passes + 1} (search results changed on "
                 f"{', '.join(sorted(stale))})")
        converge_all(f"converge_{passes + 1}")


def check_idempotent(reports: dict[str, Report]) -> None:
    """IdempotenceError listing every resource the last pass still changed."""
    changed = {name: r.get("changed") or [] for name, r in sorted(reports.items())}
    changed = {name: res for name, res in changed.items() if res}
    if changed:
        listing = "; ".join(f"{name}: {', '.join(res)}" for name, res in changed.items())
        first = next(iter(changed))
        raise IdempotenceError(f"the idempotence pass changed resources: {listing}",
                               node=first if len(changed) == 1 else None)

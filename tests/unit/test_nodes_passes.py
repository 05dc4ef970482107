"""Settling and idempotence, on plain data."""
from __future__ import annotations

import pytest

from harness.errors import IdempotenceError
from harness.nodes.passes import check_idempotent, result_names, settle, stale_searches


def rep(names, changed=()):
    return {"searches": [{"index": "node", "query": "role:zk", "names": names}],
            "changed": list(changed)}


def test_result_names_like_the_agent():
    assert result_names("node", [{"name": "b"}, {"name": "a"}]) == ["a", "b"]
    assert result_names("users", [{"id": "ops"}, {"id": "dev", "x": 1}]) == ["dev", "ops"]


def test_stale_searches_reports_what_changed():
    def search(index, q):
        return [{"name": "zk-1"}, {"name": "zk-2"}]

    assert stale_searches(rep(["zk-1", "zk-2"]), search) == []
    assert stale_searches({"changed": []}, search) == []
    assert stale_searches(rep(["zk-1"]), search) == ["node:role:zk ['zk-1'] -> ['zk-1', 'zk-2']"]


def test_settle_runs_passes_until_answers_match():
    members = ["zk-1", "zk-2", "zk-3"]
    last = {"zk-1": rep(["zk-1"]), "zk-2": rep(["zk-1", "zk-2"]), "zk-3": rep(members)}
    labels = []

    def converge_all(label):
        labels.append(label)
        for n in last:
            last[n] = rep(members)
        return dict(last)

    def search(index, q):
        return [{"name": n} for n in members]

    assert settle(list(last), last.__getitem__, search, converge_all, print) == 1
    assert labels == ["converge_2"]


def test_settle_gives_up_after_max_passes():
    counter = {"n": 0}

    def search(index, q):  # an answer that never stops changing
        counter["n"] += 1
        return [{"name": f"x{counter['n']}"}]

    lines = []
    runs = settle(["a"], lambda n: rep(["x0"]), search, lambda label: {}, lines.append,
                  max_passes=3)
    assert runs == 3 and "still change after 3 passes" in lines[-1]


def test_idempotence():
    check_idempotent({"a": rep([]), "b": rep([])})
    with pytest.raises(IdempotenceError) as info:
        check_idempotent({"a": rep([], ["file[/x]"]), "b": rep([], ["service[y]", "file[/z]"])})
    assert str(info.value) == ("the idempotence pass changed resources: a: file[/x]; "
                               "b: service[y], file[/z]")
    with pytest.raises(IdempotenceError) as info:
        check_idempotent({"a": rep([]), "b": rep([], ["file[/z]"])})
    assert info.value.node == "b"

"""Removals: background work a cluster's owner waits for before exiting; no state at import."""
from __future__ import annotations

import threading

import pytest

from harness.nodes.removals import Removals


def test_finish_waits_for_every_removal_and_close_stops_the_pool():
    removals, gate, done = Removals(), threading.Event(), []
    removals.submit(lambda: (gate.wait(5), done.append(1)) and None)
    removals.submit(lambda: done.append(2))
    gate.set()
    assert removals.finish() >= 0 and sorted(done) == [1, 2]
    assert removals.finish() < 0.1, "nothing left to wait for"
    removals.close()
    removals.submit(lambda: done.append(3))  # a new pool after close()
    removals.close()
    assert sorted(done) == [1, 2, 3]


def test_a_failed_removal_is_raised_by_finish():
    removals = Removals()

    def boom() -> None:
        raise RuntimeError("engine gone")

    removals.submit(boom)
    with pytest.raises(RuntimeError, match="engine gone"):
        removals.finish()
    removals.close()


def test_two_owners_do_not_share_work():
    first, second, gate = Removals(), Removals(), threading.Event()
    first.submit(lambda: gate.wait(5) and None)
    assert second.finish() < 0.1
    gate.set()
    first.close()

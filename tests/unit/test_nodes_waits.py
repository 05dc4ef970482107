"""tenacity-based waits: values, timeouts with context."""
from __future__ import annotations

import socket
import time

import pytest

from harness.errors import ReadinessTimeout
from harness.waits import eventually, wait_for_port, wait_until


def test_eventually_returns_once_it_stops_failing():
    calls = {"n": 0}

    def flaky():
        calls["n"] += 1
        assert calls["n"] >= 3, "not yet"
        return "ok"

    assert eventually(flaky, timeout=5, interval=0.01) == "ok" and calls["n"] == 3


def test_eventually_gives_up_with_the_last_error():
    def never():
        raise AssertionError("leader count is 0")

    started = time.monotonic()
    with pytest.raises(ReadinessTimeout) as info:
        eventually(never, timeout=0.3, interval=0.05, node="zk-1")
    assert time.monotonic() - started < 2
    assert str(info.value) == ("node zk-1: never did not succeed within 0.3 s: "
                               "AssertionError: leader count is 0")


def test_other_errors_are_not_retried():
    with pytest.raises(KeyError):
        eventually(lambda: {}["x"], timeout=5)


def test_wait_until_names_the_last_result():
    with pytest.raises(ReadinessTimeout, match=r"systemd boot not reached within 0.2 s \(last: 'starting'\)"):
        wait_until(lambda: "starting", lambda s: s == "running", timeout=0.2, interval=0.05,
                   what="systemd boot")


def test_wait_for_port():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        wait_for_port("127.0.0.1", server.getsockname()[1], timeout=2)
        closed = server.getsockname()[1]
    with pytest.raises(ReadinessTimeout, match=f"port 127.0.0.1:{closed} did not succeed"):
        wait_for_port("127.0.0.1", closed, timeout=0.3)

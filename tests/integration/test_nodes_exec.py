"""Exec output through the engine API is complete even when the reading thread runs late."""
from __future__ import annotations

import http.client
import time

import pytest

from tests.integration.nodes_support import bare_session

pytestmark = pytest.mark.docker


@pytest.fixture
def busy_node(engine, base_image):
    with bare_session(engine, "it-exec") as session:
        yield session.node(base_image, "busy-1").container


def test_answers_that_arrive_with_the_headers_are_kept(engine, busy_node, monkeypatch):
    """A reader that gets to the response late finds the command's output already buffered
    with the headers: docker-py's exec_start drops it (execstream.py); under load in a role
    spec this was an empty `stat`. Reading late is forced here, so the test is deterministic."""
    read_headers = http.client.HTTPResponse.begin

    def late(self) -> None:
        time.sleep(0.3)  # the command has answered by now
        read_headers(self)

    monkeypatch.setattr(http.client.HTTPResponse, "begin", late)
    for _ in range(3):
        assert engine.exec_split(busy_node, ["stat", "-Lc", "%a", "/etc/passwd"]) == (
            0, b"644\n", b"")
    assert engine.exec(busy_node, ["sh", "-c", "echo out; echo err >&2; exit 3"]) == (
        3, "out\nerr\n")

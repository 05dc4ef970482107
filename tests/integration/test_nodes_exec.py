"""Exec output through the engine API is complete even when the reading thread runs late, and
a session shell answers exactly as one exec per command."""
from __future__ import annotations

import http.client
import time

import pytest

from harness.nodes.bootstrap import Node, wait_systemd
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


SHELL_COMMANDS = ["echo out; echo err >&2; exit 3", "printf 'no newline'", "id -un; pwd",
                  "env | sort", "head -c 200000 /dev/zero | tr '\\0' x", "cat", "false (",
                  "ls -A /tmp"]  # both see the session's private directory


def test_a_session_shell_answers_exactly_as_one_exec_per_command(engine, busy_node):
    """testinfra's commands go through one long-lived shell per node (shell.py); each answer
    is the one `/bin/sh -c` gives over its own exec, as root and as another user."""
    # after boot, as in a spec: systemd-tmpfiles-setup empties /tmp while the node boots (a
    # single `is-system-running --wait` can come before systemd answers: wait_systemd retries)
    wait_systemd(engine, Node("busy-1", "busy", busy_node))
    for user in ("", "nobody"):
        shell = engine.open_shell(busy_node, user)
        try:
            for command in SHELL_COMMANDS:
                expected = engine.exec_split(busy_node, ["/bin/sh", "-c", command], user=user)
                assert shell.run(command) == expected, command
        finally:
            shell.close()
    time.sleep(0.5)  # the shell removes its directory when its stdin closes
    assert engine.exec_split(busy_node, ["/bin/sh", "-c", "ls -A /tmp | grep -c '^tmp\\.'"]) \
        == (1, b"0\n", b"")


def test_a_session_shell_keeps_answers_that_arrive_with_the_headers(engine, busy_node,
                                                                    monkeypatch):
    """The late reader of the first test: the session's socket is read only after its first
    command is sent, so nothing the engine sent with the upgrade's headers is lost."""
    read_headers = http.client.HTTPResponse.begin

    def late(self) -> None:
        time.sleep(0.3)
        read_headers(self)

    monkeypatch.setattr(http.client.HTTPResponse, "begin", late)
    shell = engine.open_shell(busy_node)
    try:
        for _ in range(3):
            assert shell.run("stat -Lc %a /etc/passwd") == (0, b"644\n", b"")
    finally:
        shell.close()

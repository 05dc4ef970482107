"""The session shell's protocol, against a real local `/bin/sh -s` (no container needed).

Every answer must equal what `/bin/sh -c COMMAND` gives when run alone, which is what
testinfra's docker:// backend runs per command.
"""
from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Iterator

import pytest

from harness.errors import NodeError
from harness.nodes.shell import OneShotShell, SessionShell
from harness.nodes.testinfra_backend import EngineBackend, engine_host


def local_session(env: dict[str, str] | None = None) -> tuple[SessionShell, subprocess.Popen]:
    proc = subprocess.Popen(["/bin/sh", "-s"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, cwd="/", env=env)
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    def send(data: bytes) -> None:
        stdin.write(data)
        stdin.flush()

    def frames() -> Iterator[tuple[int, bytes]]:
        fd = stdout.fileno()
        while True:  # a protocol bug must fail the test, not hang it: 10 s per chunk at most
            if not select.select([fd], [], [], 10)[0]:
                raise TimeoutError("no answer from the local shell in 10 s")
            chunk = os.read(fd, 7)  # small reads: answers arrive split, as frames do
            if not chunk:
                return
            yield 1, chunk

    def close() -> None:
        stdin.close()
        proc.wait(timeout=10)
    return SessionShell("local", send, frames(), close), proc


def alone(command: str) -> tuple[int, bytes, bytes]:
    done = subprocess.run(["/bin/sh", "-c", command], stdin=subprocess.DEVNULL,
                          capture_output=True, cwd="/", env={"PATH": "/usr/bin:/bin"})
    return done.returncode, done.stdout, done.stderr


COMMANDS = [
    "echo out; echo err >&2; exit 3",
    "printf 'no newline'",
    "printf 'a\\0b\\377'",                   # NUL and non-UTF-8 bytes in the output
    "echo 'it''s'; echo \"$HOME\" '$HOME'",  # quoting reaches the inner shell unchanged
    "echo 'two\nlines'",                     # a command that spans lines
    "echo a\nexit 7",                        # its second line stays in the inner shell
    "cat",                                   # stdin is /dev/null: returns at once
    "exit 255",
    "syntax error (",                        # the inner shell's own error, rc 2
    "head -c 1000000 /dev/zero",             # larger than any pipe buffer
    "pwd; umask; env | sort",                # same cwd, umask and environment
    "set -- a b; echo $#",                   # positional parameters of the session stay out
]


@pytest.mark.parametrize("command", COMMANDS)
def test_each_answer_equals_sh_c_run_alone(command):
    shell, _ = local_session(env={"PATH": "/usr/bin:/bin"})
    try:
        assert shell.run(command) == alone(command)
    finally:
        shell.close()


def test_many_commands_in_one_shell_each_answered_apart():
    shell, _ = local_session()
    try:
        for i in range(50):
            assert shell.run(f"echo {i}; echo e{i} >&2; exit {i % 7}") == (
                i % 7, f"{i}\n".encode(), f"e{i}\n".encode())
    finally:
        shell.close()


def test_a_background_child_writing_later_does_not_reach_the_next_answer():
    shell, _ = local_session()
    try:
        assert shell.run("(sleep 0.3; echo late) & echo now") == (0, b"now\n", b"")
        time.sleep(0.5)
        assert shell.run("echo next") == (0, b"next\n", b"")
    finally:
        shell.close()


def test_the_private_directory_goes_when_the_shell_closes(tmp_path):
    shell, proc = local_session(env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path)})
    shell.run("true")
    assert len(list(tmp_path.iterdir())) == 1
    shell.close()
    assert proc.returncode == 0 and list(tmp_path.iterdir()) == []
    assert shell.closed


def test_a_shell_that_ends_fails_the_command_and_closes():
    shell, _ = local_session()
    with pytest.raises(NodeError, match=r"local: its shell ended .*running 'kill -9 \$PPID'"):
        shell.run("kill -9 $PPID")  # the session shell dies under the command
    assert shell.closed


def test_a_nul_byte_is_refused_before_anything_is_sent():
    shell, _ = local_session()
    try:
        with pytest.raises(NodeError, match="NUL"):
            shell.run("echo a\0b")
        assert shell.run("echo still here") == (0, b"still here\n", b"")
    finally:
        shell.close()


class Engine:
    """Opens local session shells and counts them."""

    def __init__(self) -> None:
        self.opened: list[SessionShell] = []

    def open_shell(self, container: str, user: str = "") -> SessionShell:
        shell, _ = local_session()
        self.opened.append(shell)
        return shell


def test_testinfra_host_uses_one_shell_and_reopens_after_it_ended():
    engine = Engine()
    host = engine_host(engine, "c1")  # type: ignore[arg-type]
    assert host.check_output("echo %s", "a b; c") == "a b; c"
    assert host.run("test -d /").rc == 0
    assert len(engine.opened) == 1
    with pytest.raises(NodeError):
        host.run("kill -9 $PPID")  # the session shell dies under the command
    assert host.check_output("echo again") == "again"
    assert len(engine.opened) == 2
    backend = host.backend
    assert isinstance(backend, EngineBackend)
    backend.close()
    assert engine.opened[1].closed


def test_one_shot_shell_is_one_exec_per_command():
    ran = []

    def exec_split(container, cmd, user=""):
        ran.append((container, cmd, user))
        return 0, b"x", b""
    shell = OneShotShell(exec_split, "c1", "ops")
    assert shell.run("id") == (0, b"x", b"") and shell.run("id") == (0, b"x", b"")
    assert ran == [("c1", ["/bin/sh", "-c", "id"], "ops")] * 2


def test_an_answer_cut_short_is_never_read_as_the_next_ones():
    """Ctrl-C (or any error) while an answer arrives closes the shell: what is left of that
    answer would otherwise be taken for the next command's."""
    shell, _ = local_session()
    frames = shell._frames
    chunks = 0

    def interrupted() -> Iterator[tuple[int, bytes]]:
        nonlocal chunks
        for frame in frames:
            chunks += 1
            if chunks == 2:
                raise KeyboardInterrupt
            yield frame
    shell._frames = interrupted()
    with pytest.raises(KeyboardInterrupt):
        shell.run("echo a long enough answer to come in several chunks")
    assert shell.closed


def test_a_connection_error_is_a_node_error_naming_the_command():
    def broken() -> Iterator[tuple[int, bytes]]:
        raise ConnectionResetError("reset by peer")
        yield  # pragma: no cover
    shell = SessionShell("web-1", lambda data: None, broken(), lambda: None)
    with pytest.raises(NodeError, match=r"web-1: its shell's connection failed \(reset by "
                                        r"peer\) running 'id'"):
        shell.run("id")
    assert shell.closed


def test_an_engine_connection_that_is_no_socket_gets_one_exec_per_command():
    """docker-py hands out a paramiko channel for ssh:// engines: no session shell there."""
    from harness.nodes.execstream import open_shell

    class Channel:
        closed = False

        def close(self):
            self.closed = True

    class Api:
        def __init__(self):
            self.channel = Channel()

        def exec_create(self, container, cmd, stdin=False, user=""):
            assert (container, cmd, stdin, user) == ("c1", ["/bin/sh", "-s"], True, "ops")
            return {"Id": "e1"}

        def exec_start(self, exec_id, socket=False):
            assert (exec_id, socket) == ("e1", True)
            return self.channel
    api = Api()
    shell = open_shell(api, "c1", "ops")
    assert isinstance(shell, OneShotShell) and api.channel.closed

"""testinfra hosts over the container seam: same commands and results as `docker://`."""
from __future__ import annotations

import pytest

from harness.nodes.fake import FakeBackend
from harness.nodes.shell import OneShotShell
from harness.nodes.testinfra_backend import engine_host


class Recording:
    """An engine whose exec_split answers from a table and records what it ran."""

    def __init__(self, answers: dict[str, tuple[int, bytes, bytes]]) -> None:
        self.answers, self.ran = answers, []

    def exec_split(self, container, cmd, user=""):
        self.ran.append((container, cmd, user))
        return self.answers.get(cmd[-1], (127, b"", b"sh: not found\n"))

    def open_shell(self, container, user=""):
        return OneShotShell(self.exec_split, container, user)


def test_commands_go_through_sh_c_in_the_container_with_streams_apart():
    engine = Recording({"cat /etc/hostname": (0, b"web-1\n", b""),
                        "false": (1, b"partial\n", b"boom\n")})
    host = engine_host(engine, "h-123-web-1")
    assert host.check_output("cat /etc/hostname") == "web-1"
    result = host.run("false")
    assert (result.rc, result.stdout, result.stderr) == (1, "partial\n", "boom\n")
    assert engine.ran[0] == ("h-123-web-1", ["/bin/sh", "-c", "cat /etc/hostname"], "")
    assert host.backend.get_connection_type() == "docker", "modules behave as with docker://"
    with pytest.raises(AssertionError):
        host.check_output("false")


def test_arguments_are_quoted_like_testinfra_does():
    engine = Recording({})
    host = engine_host(engine, "c1", user="ops")
    host.run("ls %s", "a file; rm -rf /")
    assert engine.ran[0] == ("c1", ["/bin/sh", "-c", "ls 'a file; rm -rf /'"], "ops")


def test_modules_work_on_the_fake_backend():
    fake = FakeBackend()
    fake.create_network("net", {})
    fake.run_node("img", "c1", "web-1", "net", ["web-1"], {})
    fake.on(r"^/bin/sh -c id -u", lambda c, cmd: (0, "0\n"))
    assert engine_host(fake, "c1").check_output("id -u") == "0"

"""Node-level helpers: report parsing, failure lines, converge errors, diagnostics."""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from harness.errors import ConvergeError, NodeError, ReadinessTimeout
from harness.nodes import bootstrap as nb
from harness.nodes.fake import FakeBackend

SCRIPT = Path(__file__).resolve().parents[2] / "bootstrap" / "bootstrap.sh"


@pytest.fixture
def box():
    backend = FakeBackend()
    backend.create_network("n", {})
    node = nb.Node("web-1", "web", "c-web-1")
    backend.run_node("img", node.container, node.name, "n", [node.name], {})
    return backend, node


def test_parse_report_and_failure_line():
    out = 'noise\n{"status": "success", "changed": []}\n'
    assert nb.parse_report(out) == {"status": "success", "changed": []}
    assert nb.parse_report("{not json}\n") is None and nb.parse_report('{"a": 1}') is None
    assert nb.failure_line("x\nFAILED: package[zk]: boom\nbootstrap: failed") == "package[zk]: boom"
    assert nb.failure_line("all good") is None


def test_converge_without_report_says_so(box):
    backend, node = box
    backend.on("converge", lambda c, cmd: (137, "Killed\n"))
    with pytest.raises(ConvergeError, match="agent exited 137 without a report") as info:
        nb.run_converge(backend, node)
    assert info.value.log_tail == "Killed"


def test_converge_failure_line_without_json(box):
    backend, node = box
    backend.on("converge", lambda c, cmd: (1, "FAILED: template[/etc/x]: undefined y\n"))
    with pytest.raises(ConvergeError, match=r"converge failed: template\[/etc/x\]: undefined y"):
        nb.run_converge(backend, node)


def test_why_run_flag(box):
    backend, node = box
    backend.on("converge", lambda c, cmd: (0, json.dumps({"status": "success", "cmd": cmd})))
    report, _ = nb.run_converge(backend, node, why_run=True)
    assert report["cmd"][-3:] == ["converge", "--json", "--why-run"]


def fake_systemctl(tmp_path, answer: str, failed: str = "") -> dict[str, str]:
    """A PATH whose `systemctl` answers is-system-running with `answer`, --failed with `failed`."""
    (tmp_path / "systemctl").write_text(
        '#!/bin/sh\ncase "$*" in *--failed*) printf "%s" "$FAILED" ;; '
        '*) echo "$ANSWER" ;; esac\n')
    (tmp_path / "systemctl").chmod(0o755)
    return {"PATH": f"{tmp_path}:/usr/bin:/bin", "ANSWER": answer, "FAILED": failed}


def test_boot_then_prints_the_state_and_runs_the_command_unchanged(tmp_path):
    """One exec: the boot state, then `exec "$@"`: arguments and exit code pass through."""
    out = subprocess.run(["sh", "-c", nb.BOOT_THEN, "sh", "sh", "-c", 'printf "%s|" "$@"; exit 3',
                          "x", "a b", "--c"], capture_output=True, text=True, timeout=10,
                         env=fake_systemctl(tmp_path, "running"))
    assert (out.returncode, out.stdout) == (3, "harness-boot: running\na b|--c|")


def test_boot_then_lists_failed_units_when_degraded(tmp_path):
    env = fake_systemctl(tmp_path, "degraded", "foo.service loaded failed failed Foo\n"
                                               "bar.mount loaded failed failed Bar\n")
    out = subprocess.run(["sh", "-c", nb.BOOT_THEN, "sh", "echo", "bootstrap"], env=env,
                         capture_output=True, text=True, timeout=10)
    assert out.stdout.splitlines() == ["harness-boot: degraded", "harness-failed-unit: foo.service",
                                       "harness-failed-unit: bar.mount", "bootstrap"]


def test_boot_then_does_not_run_the_command_before_the_boot(tmp_path):
    script = nb.BOOT_THEN.replace("100", "3")
    out = subprocess.run(["sh", "-c", script, "sh", "touch", str(tmp_path / "ran")],
                         env=fake_systemctl(tmp_path, "starting"), capture_output=True,
                         text=True, timeout=10)
    assert (out.returncode, out.stdout) == (nb.NOT_BOOTED, "harness-boot: starting\n")
    assert not (tmp_path / "ran").exists()


BOOTSTRAP = ["bash", "/root/bootstrap.sh", "--node", "web-1"]


def test_boot_and_bootstrap_is_one_exec(box):
    """The boot wait and the bootstrap share an exec (decision 63); the harness's own lines
    are not part of the bootstrap's log; failed units of a degraded boot are printed."""
    backend, node = box
    backend.on("is-system-running", lambda c, cmd: (1, "degraded\n"))
    backend.on("--failed --plain", lambda c, cmd: (0, "foo.service loaded failed failed Foo\n"))
    backend.on("^bash /root/bootstrap.sh", lambda c, cmd: (0, "bootstrap: done\n"))
    timings: dict[str, float] = {}
    said: list[str] = []
    backend.execs.clear()
    out = nb.boot_and_bootstrap(backend, node, BOOTSTRAP, time.monotonic(), timings, said.append)
    assert out == "bootstrap: done\n" and set(timings) == {"systemd", "bootstrap"}
    assert [cmd[:3] for _, cmd in backend.execs if cmd[:2] == ["sh", "-c"]] == \
        [["sh", "-c", nb.BOOT_THEN]], "no exec of its own for the boot wait"
    assert said == ["web-1: systemd is degraded; failed units: foo.service"]


def test_a_slow_boot_is_waited_for_from_the_host_then_bootstrapped(box):
    backend, node = box
    answers = iter(["starting", "starting", "running"])
    backend.on("is-system-running", lambda c, cmd: (1, next(answers) + "\n"))
    backend.on("^bash /root/bootstrap.sh", lambda c, cmd: (0, "bootstrap: done\n"))
    timings: dict[str, float] = {}
    out = nb.boot_and_bootstrap(backend, node, BOOTSTRAP, time.monotonic(), timings, print)
    assert out == "bootstrap: done\n" and set(timings) == {"systemd", "bootstrap"}
    assert [cmd for _, cmd in backend.execs if cmd[0] == "bash"] == [BOOTSTRAP] * 1


def test_a_failed_bootstrap_after_the_boot_names_the_resource(box):
    backend, node = box
    backend.on("^bash /root/bootstrap.sh",
               lambda c, cmd: (1, "x\nFAILED: package[zk]: no candidate\n"))
    timings: dict[str, float] = {}
    with pytest.raises(ConvergeError, match=r"package\[zk\]: no candidate") as info:
        nb.boot_and_bootstrap(backend, node, BOOTSTRAP, time.monotonic(), timings, print)
    assert "harness-boot" not in info.value.log_tail and set(timings) == {"systemd", "bootstrap"}


def test_the_boot_wait_asks_again_inside_the_node_until_systemd_answers(tmp_path):
    """One exec polls in the node; an empty answer (no bus yet) is asked again there."""
    script = nb.WAIT_BOOT
    fake_systemctl = ('n=$(cat "$T/n" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$T/n"; '
                      '[ $n -ge 3 ] && { echo degraded; exit 1; }; '
                      'echo "Failed to connect to bus" >&2; exit 1')
    env_dir = tmp_path
    (env_dir / "systemctl").write_text("#!/bin/sh\n" + fake_systemctl + "\n")
    (env_dir / "systemctl").chmod(0o755)
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=10,
                         env={"PATH": f"{env_dir}:/usr/bin:/bin", "T": str(env_dir)})
    assert out.stdout == "degraded\n" and out.stderr == ""
    assert (env_dir / "n").read_text().strip() == "3"


def test_the_boot_wait_prints_the_last_answer_when_systemd_never_comes(tmp_path):
    """No systemd in the image: the host's timeout then names what the node said."""
    out = subprocess.run(["/bin/sh", "-c", nb.WAIT_BOOT.replace("100", "3")], capture_output=True,
                         text=True, timeout=10, env={"PATH": str(tmp_path)})
    assert "systemctl" in out.stdout and "not found" in out.stdout


def test_systemd_wait_degraded_lists_failed_units(box):
    backend, node = box
    answers = iter(["Failed to connect to bus: No such file or directory", "starting", "degraded"])
    backend.on("is-system-running", lambda c, cmd: (1, next(answers) + "\n"))
    backend.on("--failed --plain", lambda c, cmd: (0, "foo.service loaded failed failed Foo\n"))
    assert nb.wait_systemd(backend, node, timeout=5) == ("degraded", ["foo.service"])


def test_systemd_wait_timeout_carries_container_logs(box):
    backend, node = box
    backend.on("is-system-running", lambda c, cmd: (1, "starting\n"))
    with pytest.raises(ReadinessTimeout) as info:
        nb.wait_systemd(backend, node, timeout=0.3)
    assert info.value.node == "web-1" and "fake logs of c-web-1" in info.value.log_tail


def test_systemd_wait_does_not_retry_a_dead_container(box):
    backend, node = box
    backend.remove(node.container)
    with pytest.raises(NodeError, match="no such container"):
        nb.wait_systemd(backend, node, timeout=30)


def test_diagnostics_sections(box):
    backend, node = box
    backend.on("^systemctl --failed --no-pager", lambda c, cmd: (0, "  foo.service failed\n"))
    backend.on("--failed --plain", lambda c, cmd: (0, "foo.service loaded failed failed Foo\n"))
    backend.on("^journalctl -u foo.service", lambda c, cmd: (0, "foo: exploded\n"))
    text = nb.diagnostics(backend, node, "line1\nFAILED: service[foo]: start failed\n")
    assert "FAILED: service[foo]" in text and "== web-1: journalctl -u foo.service" in text
    assert "foo: exploded" in text


@pytest.mark.parametrize("args, message", [
    ([], "bootstrap: missing --server URL"),
    (["--server"], "bootstrap: --server needs a value"),
    (["--server", "http://x", "--node", "n", "--environment", ""], "bootstrap: missing --environment ENV"),
])
def test_bootstrap_script_argument_errors(args, message):
    """Argument errors exit before the script touches the machine, so the host can run them."""
    result = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 1 and result.stderr.strip() == message


def test_bootstrap_script_help_exits_2():
    result = subprocess.run(["bash", str(SCRIPT), "--help"], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith("usage: bootstrap.sh --server URL")

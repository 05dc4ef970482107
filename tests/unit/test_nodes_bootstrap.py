"""Node-level helpers: report parsing, failure lines, converge errors, diagnostics."""
from __future__ import annotations

import json
import subprocess
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


def test_start_node_runs_while_booting_before_it_waits_for_systemd():
    """The bootstrap's files are copied while systemd boots, not after (decision 62)."""
    backend = FakeBackend()
    backend.create_network("n", {})
    node = nb.Node("web-1", "web", "c-web-1")
    order = []
    backend.on("is-system-running", lambda c, cmd: (order.append("wait"), (0, "running\n"))[1])
    timings: dict[str, float] = {}
    nb.start_node(backend, "img", node, "n", {}, (), timings, print,
                  while_booting=lambda: order.append("copy"))
    assert order == ["copy", "wait"] and set(timings) == {"container", "systemd"}


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

"""What the harness does to one node: wait for systemd, run the production bootstrap, converge.

Kept apart from Cluster so `harness converge NODE` (another process, no Cluster object) runs the
agent exactly the way the test harness does. All engine access goes through the Backend seam.
"""
from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from harness.errors import BootstrapError, ConvergeError, NodeError, UsageError
from harness.nodes.backend import Backend
from harness.nodes.passes import Report
from harness.nodes.waits import wait_until
from harness.repo.limits import secret_mode_issue

AGENT = "/usr/local/lib/harness/agent.pyz"
AGENT_CONFIG = "/etc/harness/agent.json"
# Where the harness puts what an operator would scp to a fresh host before bootstrapping it.
BOOTSTRAP_PATH = "/root/bootstrap.sh"
VALIDATOR_TOKEN_PATH = "/etc/harness/validator.token"
SECRET_PATH = "/etc/harness/encrypted_data_bag_secret"
REPO_SECRET = Path(".chef/encrypted_data_bag_secret")  # relative to the repo root
TAIL_LINES = 40
SYSTEMD_TIMEOUT = 60.0
BOOTED = ("running", "degraded")
# One exec that polls inside the node: systemd's bus appears ~0.1 s into the boot, and each
# exec from the host costs ~60 ms, so polling from here found the boot ~0.1 s late. Any other
# answer ("Failed to connect to bus", "offline", no systemctl) is asked again for ~2 s, then
# printed: the host's wait goes on, and its timeout names that last answer.
WAIT_LOOP = ("i=0; while :; do s=$(systemctl is-system-running --wait 2>&1); "
             'case "$s" in running|degraded|maintenance|stopping) break ;; esac; '
             'i=$((i + 1)); [ "$i" -ge 100 ] && break; sleep 0.02; done')
WAIT_BOOT = WAIT_LOOP + '; echo "$s"'
# The boot wait and the bootstrap in one exec (an exec costs ~35 ms; decision 63): the node
# prints its boot state (and, when degraded, its failed units), then `exec`s the command, which
# runs unchanged. A boot not over within WAIT_LOOP's ~2 s exits NOT_BOOTED without running it;
# the host then waits as wait_systemd does, and runs the command in an exec of its own.
BOOT_LINE, FAILED_LINE, NOT_BOOTED = "harness-boot: ", "harness-failed-unit: ", 97
BOOT_THEN = (WAIT_LOOP + f'; echo "{BOOT_LINE}$s"; case "$s" in running|degraded) ;; '
             f'*) exit {NOT_BOOTED} ;; esac; if [ "$s" = degraded ]; then '
             'systemctl --failed --plain --no-legend | while read -r unit rest; do '
             f'echo "{FAILED_LINE}$unit"; done; fi; exec "$@"')

Stream = Callable[[str], None]


@dataclass
class Node:
    """One node of a cluster: its name (= hostname and network alias), role and container."""

    name: str
    role: str
    container: str
    ip: str = ""


def tail(output: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(output.rstrip("\n").splitlines()[-lines:])


def wait_systemd(backend: Backend, node: Node,
                 timeout: float = SYSTEMD_TIMEOUT) -> tuple[str, list[str]]:
    """Wait until systemd finished booting; return its state and the failed units."""
    def state() -> str:  # an exec error (container died) is not retried
        _, out = backend.exec(node.container, ["sh", "-c", WAIT_BOOT])
        return out.strip().splitlines()[-1] if out.strip() else ""

    try:
        result = wait_until(state, lambda s: s in BOOTED, timeout=timeout, interval=0.1,
                            what="systemd boot (running or degraded)", node=node.name)
    except NodeError as err:
        err.log_tail = backend.logs(node.container, tail=TAIL_LINES)
        raise
    return result, failed_units(backend, node) if result == "degraded" else []


def start_node(backend: Backend, image: str, node: Node, network: str, labels: dict[str, str],
               ram_dirs: tuple[str, ...], timings: dict[str, float]) -> None:
    """Start the node's container; timing "container". boot_and_bootstrap waits for its boot."""
    started = time.monotonic()
    node.ip = backend.run_node(image, node.container, node.name, network, [node.name], labels,
                               ram_dirs).ip
    timings["container"] = time.monotonic() - started


def boot_and_bootstrap(backend: Backend, node: Node, cmd: list[str], booting_since: float,
                       timings: dict[str, float], progress: Stream) -> str:
    """Once systemd has booted, run the bootstrap `cmd`: one exec (BOOT_THEN), or the boot wait
    and the bootstrap apart when the boot takes longer. Timings "systemd" (from
    `booting_since`, a time.monotonic()) and "bootstrap"; its output as run_bootstrap's."""
    seen: list[float] = []

    def watch(line: str) -> None:
        if not seen and line.startswith(BOOT_LINE):
            seen.append(time.monotonic())

    rc, output = backend.exec(node.container, ["sh", "-c", BOOT_THEN, "sh", *cmd], stream=watch)
    lines = output.splitlines(keepends=True)
    state = lines[0][len(BOOT_LINE):].strip() if lines and lines[0].startswith(BOOT_LINE) else ""
    if state not in BOOTED:  # still booting (or no shell): wait from the host, then bootstrap
        state, failed = wait_systemd(backend, node)
        timings["systemd"] = time.monotonic() - booting_since
        report_failed_units(node, state, failed, progress)
        started = time.monotonic()
        try:
            return run_bootstrap(backend, node, cmd)
        finally:
            timings["bootstrap"] = time.monotonic() - started
    failed = [line[len(FAILED_LINE):].strip() for line in lines[1:] if line.startswith(FAILED_LINE)]
    booted = seen[0] if seen else time.monotonic()  # a backend that streams nothing
    timings["systemd"] = booted - booting_since
    timings["bootstrap"] = time.monotonic() - booted
    report_failed_units(node, state, failed, progress)
    output = "".join(lines[1 + len(failed):])
    return output if rc == 0 else bootstrap_failed(node, rc, output)


def report_failed_units(node: Node, state: str, failed: list[str], progress: Stream) -> None:
    if failed:
        progress(f"{node.name}: systemd is {state}; failed units: {', '.join(failed)}")


def failed_units(backend: Backend, node: Node) -> list[str]:
    _, out = backend.exec(node.container, ["systemctl", "--failed", "--plain", "--no-legend"])
    return unit_names(out)


def unit_names(listing: str) -> list[str]:
    """The first column of `systemctl --failed --plain --no-legend`."""
    return [line.split()[0] for line in listing.splitlines() if line.strip()]


def read_bootstrap_inputs(repo_dir: Path) -> tuple[bytes, bytes | None]:
    """The repo's bootstrap script (required) and data bag secret (optional), as bytes."""
    script = repo_dir / "bootstrap" / "bootstrap.sh"
    if not script.is_file():
        raise UsageError(f"the repo has no bootstrap script ({script})")
    secret = repo_dir / REPO_SECRET
    if not secret.is_file():
        return script.read_bytes(), None
    problem = secret_mode_issue(str(secret))  # nodes get it 0600 whatever its mode here
    if problem:
        warnings.warn(problem, stacklevel=2)
    return script.read_bytes(), secret.read_bytes()


def install_bootstrap(backend: Backend, node: Node, script: bytes, validator_token: str,
                      secret: bytes | None) -> None:
    """Copy the repo's bootstrap script, the validator token (and secret) into the node."""
    files = [(BOOTSTRAP_PATH, script, 0o755),
             (VALIDATOR_TOKEN_PATH, validator_token.encode() + b"\n", 0o600)]
    if secret is not None:
        files.append((SECRET_PATH, secret, 0o600))
    backend.put_files(node.container, files)


def bootstrap_command(server_url: str, node: Node, environment: str, *,
                      secret: bool = False, apt_proxy: str | None = None) -> list[str]:
    """The command line production runs (contracts: "The production bootstrap")."""
    cmd = ["bash", BOOTSTRAP_PATH, "--server", server_url, "--node", node.name,
           "--environment", environment, "--role", node.role,
           "--validator-token-file", VALIDATOR_TOKEN_PATH]
    if secret:
        cmd += ["--secret-file", SECRET_PATH]
    if apt_proxy:
        cmd += ["--apt-proxy", apt_proxy]
    return cmd


def failure_line(output: str) -> str | None:
    """The agent's `FAILED: resource: reason` line, if the output has one."""
    for line in reversed(output.splitlines()):
        if line.startswith("FAILED:"):
            return line[len("FAILED:"):].strip()
    return None


def run_bootstrap(backend: Backend, node: Node, cmd: list[str],
                  stream: Stream | None = None) -> str:
    """Run the bootstrap; BootstrapError (or ConvergeError naming the resource) on failure."""
    rc, output = backend.exec(node.container, cmd, stream=stream)
    return output if rc == 0 else bootstrap_failed(node, rc, output)


def bootstrap_failed(node: Node, rc: int, output: str) -> NoReturn:
    """ConvergeError naming the resource when the agent printed one, else BootstrapError."""
    failed = failure_line(output)
    if failed:
        raise ConvergeError(f"first converge (bootstrap) failed: {failed}", node=node.name,
                            log_tail=tail(output))
    last = output.strip().splitlines()[-1] if output.strip() else f"exit {rc}"
    raise BootstrapError(f"bootstrap failed (exit {rc}): {last}", node=node.name,
                         log_tail=tail(output))


def parse_report(output: str) -> Report | None:
    """The agent's `--json` report: the last output line that is a JSON object."""
    for line in reversed(output.splitlines()):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if isinstance(doc, dict) and "status" in doc:
                return doc
    return None


def run_converge(backend: Backend, node: Node, *, why_run: bool = False,
                 stream: Stream | None = None) -> tuple[Report, str]:
    """One agent run with --json; return (report, output). ConvergeError names the resource."""
    cmd = ["python3", AGENT, "converge", "--json"] + (["--why-run"] if why_run else [])
    rc, output = backend.exec(node.container, cmd, stream=stream)
    report = parse_report(output)
    if rc == 0 and report is not None and report.get("status") == "success":
        return report, output
    failure = (report or {}).get("failure") or {}
    if failure.get("resource"):
        message = (failure.get("message") or "").strip().splitlines()
        reason = f"{failure['resource']}: {message[0] if message else 'failed'}"
    else:
        reason = failure_line(output) or (f"agent exited {rc} without a report"
                                          if report is None else f"agent exited {rc}")
    raise ConvergeError(f"converge failed: {reason}", node=node.name, log_tail=tail(output))


def diagnostics(backend: Backend, node: Node, converge_log: str = "") -> str:
    """Converge log tail, `systemctl --failed` and the failed units' journal, for a report."""
    parts = [f"== {node.name}: last converge output (tail)", tail(converge_log) or "(none)"]
    try:
        _, failed = backend.exec(node.container, ["systemctl", "--failed", "--no-pager"])
        parts += [f"== {node.name}: systemctl --failed", failed.rstrip()]
        for unit in failed_units(backend, node):
            _, journal = backend.exec(node.container, ["journalctl", "-u", unit, "-n", "30",
                                                       "--no-pager", "-o", "short-precise"])
            parts += [f"== {node.name}: journalctl -u {unit}", journal.rstrip()]
    except NodeError as err:
        parts.append(f"== {node.name}: no diagnostics from the container: {err}")
    return "\n".join(parts)

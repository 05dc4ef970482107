"""`harness up | converge | login | down | clean`: a cluster on the command line.

`up` starts the detached keeper (harness/nodes/keeper.py), streams its progress over a pipe
and returns once the keeper reports ready; the other commands read the keeper's state file.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness.cli.common import Subparsers, add_repo, repo_dir
from harness.errors import EngineError, NotFound, ReadinessTimeout, UsageError
from harness.nodes.bootstrap import Node, run_converge
from harness.nodes.engine import ensure_engine
from harness.nodes.keeper import READY, KeeperSpec, load_state, state_dir
from harness.nodes.layermode import HELP as LAYER_HELP
from harness.nodes.layermode import MODES as LAYER_MODES
from harness.nodes.ramdisk import NODE_DISKS
from harness.nodes.reaper import clean, pid_alive, reap
from harness.nodes.spec import ClusterSpec
from harness.nodes.waits import wait_until


def _required_state() -> dict[str, Any]:
    state = load_state()
    assert state is not None  # load_state() raises instead when required
    return state


def _state_node(state: dict[str, Any], name: str) -> dict[str, Any]:
    if name not in state["nodes"]:
        raise NotFound(f"no node {name!r} in the running cluster ({', '.join(state['nodes'])})")
    node: dict[str, Any] = state["nodes"][name]
    return node


def _check_repo(repo: Path, roles: dict[str, int], env: str) -> None:
    def has(kind: str, name: str) -> bool:
        return any((repo / kind / f"{name}{ext}").is_file() for ext in (".json", ".yaml", ".yml"))

    for role in roles:
        if not has("roles", role):
            raise UsageError(f"no role {role!r} in {repo / 'roles'}")
    if env != "_default" and not has("environments", env):
        raise UsageError(f"no environment {env!r} in {repo / 'environments'}")


def cmd_up(args: argparse.Namespace) -> int:
    roles = ClusterSpec.from_args(args.roles, args.env).roles
    repo = repo_dir(args)
    _check_repo(repo, roles, args.env)
    state = load_state(required=False)
    if state and pid_alive(state.get("pid"), state.get("pid_start")):
        raise UsageError(f"cluster {state['cluster']} is already up here; `harness down` first")
    spec: KeeperSpec = {"name": "up-" + "-".join(roles), "repo": str(repo), "roles": roles,
                        "environment": args.env, "image": args.image,
                        "node_disk": args.node_disk, "package_layer": args.package_layer}
    keeper = subprocess.Popen([sys.executable, "-m", "harness.nodes.keeper", json.dumps(spec)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    assert keeper.stdout is not None
    out = sys.stdout
    try:
        for line in keeper.stdout:
            if line.startswith("harness: "):
                out = sys.stderr  # the keeper's error line and the log tail after it
            if line.rstrip("\n") != READY:
                print(line, end="", flush=True, file=out)
    except KeyboardInterrupt:
        keeper.send_signal(signal.SIGTERM)  # the keeper tears down what it started
        keeper.wait()
        raise
    state = load_state(required=False)
    if not state or state.get("pid") != keeper.pid:
        return keeper.wait() or 1  # the keeper printed its one-line error already
    print(f"cluster {state['cluster']} is up: server {state['server_url']} "
          f"(admin token in {state_dir() / 'admin.token'})")
    for name, node in state["nodes"].items():
        print(f"  {name:<20} {node['ip']:<15} harness login {name}")
    print("remove it with: harness down")
    return 0


def cmd_converge(args: argparse.Namespace) -> int:
    info = _state_node(_required_state(), args.node)
    node = Node(args.node, info["role"], info["container"], info["ip"])

    def show(line: str) -> None:  # the --json report line is for machines
        if not (line.startswith("{") and line.rstrip().endswith("}")):
            print(line, flush=True)

    report, _ = run_converge(ensure_engine(print), node, stream=show)
    changed = report.get("changed") or []
    print(f"converged {args.node} in {report.get('seconds', 0):.1f} s: "
          f"{len(changed)} changed" + (f" ({', '.join(changed)})" if changed else ""))
    return 0


def cmd_login(args: argparse.Namespace) -> int:
    info = _state_node(_required_state(), args.node)
    docker = shutil.which("docker")
    if not docker:
        raise EngineError("the docker CLI is not installed; use: harness converge NODE")
    flags = "-it" if sys.stdin.isatty() else "-i"
    os.execv(docker, [docker, "exec", flags, info["container"], "bash", "-l"])


def cmd_down(args: argparse.Namespace) -> int:
    state = _required_state()
    pid = state["pid"]
    if pid_alive(pid, state.get("pid_start")):
        os.kill(pid, signal.SIGTERM)
        try:
            wait_until(lambda: pid_alive(pid, state.get("pid_start")), lambda alive: not alive,
                       timeout=60, interval=0.1, what=f"keeper {pid} to exit")
        except ReadinessTimeout:
            os.kill(pid, signal.SIGKILL)
    containers, networks = reap(ensure_engine(print), state["session"])  # normally nothing left
    for name in ("state.json", "admin.token"):
        (state_dir() / name).unlink(missing_ok=True)
    swept = (f"; swept {containers} containers, {networks} networks"
             if containers or networks else "")
    print(f"cluster {state['cluster']} is down ({', '.join(state['nodes'])}){swept}")
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    containers, networks = clean(ensure_engine(print), print)
    state = load_state(required=False)
    if state and not pid_alive(state.get("pid"), state.get("pid_start")):
        (state_dir() / "state.json").unlink(missing_ok=True)
    print(f"clean: removed {containers} containers and {networks} networks of dead sessions")
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("up", help="start a cluster: server + nodes, bootstrap, converge")
    p.add_argument("roles", nargs="+", metavar="ROLE[=COUNT]")
    p.add_argument("--env", default="_default")
    p.add_argument("--image", help="node image (default: the base image, built if needed)")
    p.add_argument("--node-disk", choices=NODE_DISKS, default="auto",
                   help="where nodes keep what they write to /usr and /var (default: auto, "
                        "ram when the engine's host has 7 GiB or more)")
    p.add_argument("--package-layer", choices=LAYER_MODES, default="auto", help=LAYER_HELP)
    add_repo(p)
    p.set_defaults(handler=cmd_up)
    for name, helptext, handler in (("converge", "re-run the agent on a node", cmd_converge),
                                    ("login", "open a shell on a node", cmd_login)):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("node")
        p.set_defaults(handler=handler)
    for name, helptext, handler in (("down", "remove the running cluster", cmd_down),
                                    ("clean", "remove leftovers of dead sessions", cmd_clean)):
        p = sub.add_parser(name, help=helptext)
        p.set_defaults(handler=handler)

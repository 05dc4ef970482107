"""`harness up | login | down | clean | list`: clusters that outlive the command.

`up` starts the detached keeper (harness/nodes/keeper.py), streams its progress over a pipe
and returns once the keeper reports ready; the other commands find the cluster in the per-user
state directory (harness/nodes/state.py), from any directory. `converge` and `verify` are in
loop.py.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from harness.cli.common import Subparsers, add_repo, repo_dir
from harness.errors import EngineError, NotFound, ReadinessTimeout, UsageError
from harness.nodes import state as st
from harness.nodes.engine import ensure_engine
from harness.nodes.imagedefs import default_images_dir
from harness.nodes.labels import CLUSTER, NODE, SESSION
from harness.nodes.layermode import HELP as LAYER_HELP
from harness.nodes.layermode import MODES as LAYER_MODES
from harness.nodes.platforms import check_platform_name, platform_image_dir
from harness.nodes.ramdisk import NODE_DISKS
from harness.nodes.reaper import clean, pid_alive, reap
from harness.nodes.spec import DEFAULT_PLATFORM, ClusterSpec
from harness.nodes.waits import wait_until


def add_cluster(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cluster", metavar="NAME", help="which running cluster (default: the "
                   "only one, else the one whose repo holds the current directory)")


def _check_repo(repo: Path, roles: dict[str, int], env: str) -> None:
    def has(kind: str, name: str) -> bool:
        return any((repo / kind / f"{name}{ext}").is_file() for ext in (".json", ".yaml", ".yml"))

    for role in roles:
        if not has("roles", role):
            raise UsageError(f"no role {role!r} in {repo / 'roles'}")
    if env != "_default" and not has("environments", env):
        raise UsageError(f"no environment {env!r} in {repo / 'environments'}")


def cmd_up(args: argparse.Namespace) -> int:
    from harness.nodes.keeper import READY, KeeperSpec  # the Cluster (and testinfra) it loads

    roles = ClusterSpec.from_args(args.roles, args.env).roles
    repo = repo_dir(args)
    _check_repo(repo, roles, args.env)
    check_platform_name(args.platform, "--platform")
    platform_image_dir(default_images_dir(repo), args.platform)  # unknown: exit 2 before the keeper
    name = args.name or "up-" + "-".join(roles)
    old = st.read_state(name)
    if old and st.keeper_alive(old):
        raise UsageError(f"cluster {name} is already up; `harness down --cluster {name}` "
                         "first, or choose another --name")
    spec: KeeperSpec = {"name": name, "repo": str(repo), "roles": roles,
                        "environment": args.env, "image": args.image,
                        "node_disk": args.node_disk, "package_layer": args.package_layer,
                        "platform": args.platform}
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
    state = st.read_state(name)
    if not state or state.get("keeper", {}).get("pid") != keeper.pid:
        return keeper.wait() or 1  # the keeper printed its one-line error already
    print(f"cluster {name} is up on {state.get('platform')}: server {state['server_url']} "
          f"(admin token in {st.cluster_dir(name) / 'admin.token'})")
    for node, info in state["nodes"].items():
        print(f"  {node:<20} {info['ip']:<15} harness login {node}")
    print(f"edit the repo, then: harness converge; remove it with: harness down"
          f"{'' if len(st.live_sessions()) == 1 else ' --cluster ' + name}")
    return 0


def cmd_login(args: argparse.Namespace) -> int:
    state = st.select(args.cluster)
    if args.node not in state["nodes"]:
        raise NotFound(f"no node {args.node!r} in cluster {state['name']} "
                       f"({', '.join(state['nodes'])})")
    docker = shutil.which("docker")
    if not docker:
        raise EngineError("the docker CLI is not installed; use: harness converge NODE")
    st.record_action(state, [args.node], "login")
    flags = "-it" if sys.stdin.isatty() else "-i"
    os.execv(docker, [docker, "exec", flags, state["nodes"][args.node]["container"], "bash",
                      "-l"])


def cmd_down(args: argparse.Namespace) -> int:
    if args.cluster is not None and st.read_state(args.cluster) is not None:
        state = st.read_state(args.cluster) or {}  # its keeper may be dead: sweep anyway
    else:
        state = st.select(args.cluster)
    keeper = state.get("keeper") or {}
    pid, start = keeper.get("pid"), keeper.get("start")
    if pid is not None and pid_alive(pid, start):
        os.kill(pid, signal.SIGTERM)
        try:
            wait_until(lambda: pid_alive(pid, start), lambda alive: not alive,
                       timeout=60, interval=0.1, what=f"keeper {pid} to exit")
        except ReadinessTimeout:
            os.kill(pid, signal.SIGKILL)
    containers, networks = reap(ensure_engine(print), state["session"])  # normally nothing left
    st.remove_state(state["name"])
    swept = (f"; swept {containers} containers, {networks} networks"
             if containers or networks else "")
    print(f"cluster {state['name']} is down ({', '.join(state['nodes'])}){swept}")
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    containers, networks = clean(ensure_engine(print), print, kept=st.live_sessions())
    for state in st.all_states():
        if not st.keeper_alive(state):
            st.remove_state(state["name"])
            print(f"clean: forgot cluster {state['name']} (its keeper is gone)")
    print(f"clean: removed {containers} containers and {networks} networks of dead sessions")
    return 0


def _ago(then: float | None) -> str:
    if not then:
        return "-"
    seconds = max(0, int(time.time() - then))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def cmd_list(args: argparse.Namespace) -> int:
    states = st.all_states()
    labelled = ensure_engine(print).labelled()
    for state in states:
        alive = st.keeper_alive(state)
        keeper = f"keeper {state['keeper'].get('pid')}" if alive else "keeper gone"
        print(f"{state['name']}  repo {state['repo']}  env {state['environment']}  platform "
              f"{state.get('platform', 'base')}  up {_ago(state.get('created_at'))}  "
              f"({state.get('origin', 'up')}, {keeper})")
        for node, info in state["nodes"].items():
            print(f"  {node:<20} {info['ip']:<15} {info.get('last_action', '-'):<9} "
                  f"{_ago(info.get('last_action_at'))} ago")
    known = {s["session"] for s in states}
    orphans: dict[str, list[str]] = {}
    for labels in labelled:
        if labels.get(SESSION) not in known and labels.get("kind") == "container":
            orphans.setdefault(f"{labels.get(CLUSTER, '?')} (session {labels[SESSION]})",
                               []).append(labels.get(NODE, "?"))
    for name, nodes in sorted(orphans.items()):
        print(f"{name}  no keeper (a test run's, or left over: `harness clean` removes "
              f"it once its process is gone): {', '.join(sorted(nodes))}")
    if not states and not orphans:
        print("no clusters")
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("up", help="start a cluster: server + nodes, bootstrap, converge")
    p.add_argument("roles", nargs="+", metavar="ROLE[=COUNT]")
    p.add_argument("--env", default="_default")
    p.add_argument("--name", help="the cluster's name (default: up-ROLE-...)")
    p.add_argument("--image", help="node image (default: the base image, built if needed)")
    p.add_argument("--platform", default=DEFAULT_PLATFORM, metavar="NAME",
                   help=f"the platform the nodes run (images/; default: {DEFAULT_PLATFORM})")
    p.add_argument("--node-disk", choices=NODE_DISKS, default="auto",
                   help="where nodes keep what they write to /usr and /var (default: auto, "
                        "ram when the engine's host has 7 GiB or more)")
    p.add_argument("--package-layer", choices=LAYER_MODES, default="auto", help=LAYER_HELP)
    add_repo(p)
    p.set_defaults(handler=cmd_up)
    p = sub.add_parser("login", help="open a shell on a node")
    p.add_argument("node")
    add_cluster(p)
    p.set_defaults(handler=cmd_login)
    p = sub.add_parser("down", help="remove a running cluster")
    add_cluster(p)
    p.set_defaults(handler=cmd_down)
    sub.add_parser("clean", help="remove leftovers of dead sessions").set_defaults(
        handler=cmd_clean)
    sub.add_parser("list", help="the running clusters: repo, environment, nodes, last "
                   "actions").set_defaults(handler=cmd_list)

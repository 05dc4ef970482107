"""`harness up | converge | login | down | clean`: a cluster on the command line.

`up` must return while the cluster keeps running, and the cluster's config server lives in the
process that owns the Cluster. So `up` starts a detached *keeper* process (this module's
`keep` entry point) that brings the cluster up, writes `.harness/state.json` (in the current
directory), then waits for SIGTERM (`harness down`) and tears everything down. The keeper is
the controlling process of the session: if it is killed, the reaper removes the nodes.
`up` streams the keeper's progress over a pipe and returns once the keeper reports ready.
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

from harness.errors import EngineError, HarnessError, NotFound, ReadinessTimeout, UsageError
from harness.nodes.labels import pid_start
from harness.nodes.reaper import pid_alive
from harness.nodes.spec import ClusterSpec

STATE_DIR = Path(".harness")
READY = "harness-keeper: ready"


def state_dir() -> Path:
    return Path.cwd() / STATE_DIR


def load_state(required: bool = True) -> dict | None:
    path = state_dir() / "state.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        if required:
            raise UsageError(f"no cluster is up here ({path} missing); "
                             "run `harness up` first") from None
        return None
    except ValueError:
        raise UsageError(f"{path} is corrupt; run `harness clean` and remove it") from None


def _state_node(state: dict, name: str) -> dict:
    if name not in state["nodes"]:
        raise NotFound(f"no node {name!r} in the running cluster ({', '.join(state['nodes'])})")
    return state["nodes"][name]


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
    repo = Path(args.repo).resolve()
    _check_repo(repo, roles, args.env)
    state = load_state(required=False)
    if state and pid_alive(state.get("pid"), state.get("pid_start")):
        raise UsageError(f"cluster {state['cluster']} is already up here; `harness down` first")
    spec = {"name": "up-" + "-".join(roles), "repo": str(repo), "roles": roles,
            "environment": args.env, "image": args.image,
            "node_disk": args.node_disk}
    keeper = subprocess.Popen([sys.executable, "-m", "harness.nodes.commands", json.dumps(spec)],
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


def keeper_main(spec: dict) -> int:
    """Body of the keeper process: up, write state, wait for SIGTERM, down."""
    from harness.nodes.cluster import Cluster
    from harness.nodes.reaper import install_sigterm_handler

    install_sigterm_handler()
    from harness.repo import repo_backup

    cluster_spec = ClusterSpec(spec["roles"], spec["environment"],
                               repo_backup(Path(spec["repo"])))
    cluster = Cluster(spec["name"], cluster_spec, repo_dir=Path(spec["repo"]),
                      image=spec.get("image"),
                      progress=lambda line: print(line, flush=True),
                      node_disk=spec.get("node_disk", "auto"))
    try:
        cluster.up()
    except HarnessError as err:
        print(f"harness: {err.with_log()}", flush=True)
        return err.exit_code
    except KeyboardInterrupt:
        return 130
    directory = state_dir()
    try:
        _write_state(directory, cluster)
        print(READY, flush=True)
        log = os.open(directory / "keeper.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)  # `up` has returned: nobody reads the pipe any more
        signal.pause()  # until SIGTERM/SIGINT (raised as KeyboardInterrupt)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.down()
        for name in ("state.json", "admin.token"):
            (directory / name).unlink(missing_ok=True)
    return 0


def _write_state(directory: Path, cluster) -> None:
    directory.mkdir(exist_ok=True)
    token = directory / "admin.token"
    token.touch(mode=0o600)
    token.write_text(cluster.server.admin_token + "\n")
    state = {"cluster": cluster.name, "session": cluster.session, "pid": os.getpid(),
             "pid_start": pid_start(os.getpid()), "repo": str(cluster.repo_dir),
             "environment": cluster.environment, "server_url": cluster.server.url,
             "image": cluster.image, "network": cluster.network,
             "nodes": {n: {"role": node.role, "container": node.container, "ip": node.ip}
                       for n, node in cluster.nodes.items()},
             "timings": cluster.timings}
    tmp = directory / "state.json.part"
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(directory / "state.json")


def cmd_converge(args: argparse.Namespace) -> int:
    from harness.nodes.bootstrap import Node, run_converge
    from harness.nodes.engine import ensure_engine

    state = load_state()
    info = _state_node(state, args.node)
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
    info = _state_node(load_state(), args.node)
    docker = shutil.which("docker")
    if not docker:
        raise EngineError("the docker CLI is not installed; use: harness converge NODE")
    flags = "-it" if sys.stdin.isatty() else "-i"
    os.execv(docker, [docker, "exec", flags, info["container"], "bash", "-l"])
    return 0  # not reached


def cmd_down(args: argparse.Namespace) -> int:
    from harness.nodes.engine import ensure_engine
    from harness.nodes.reaper import reap
    from harness.nodes.waits import wait_until

    state = load_state()
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
    from harness.nodes.engine import ensure_engine
    from harness.nodes.reaper import clean

    containers, networks = clean(ensure_engine(print), print)
    state = load_state(required=False)
    if state and not pid_alive(state.get("pid"), state.get("pid_start")):
        (state_dir() / "state.json").unlink(missing_ok=True)
    print(f"clean: removed {containers} containers and {networks} networks of dead sessions")
    return 0


COMMANDS = {"up": cmd_up, "converge": cmd_converge, "login": cmd_login, "down": cmd_down,
            "clean": cmd_clean}


def run(args: argparse.Namespace) -> int:
    """Dispatch on args.command (harness.cli.cmd_nodes calls this)."""
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(keeper_main(json.loads(sys.argv[1])))

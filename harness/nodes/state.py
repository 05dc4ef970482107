"""Per-user state of the clusters left running: what their containers' labels cannot hold.

`${XDG_STATE_HOME:-~/.local/state}/harness/clusters/<name>/` (0700) holds state.json (repo,
environment, platform, server URL, session, keeper pid and start time, nodes with container,
ip, role, last action and its time), admin.token (0600) and keeper.log. Labels on the
containers stay the truth for what exists; a cluster whose keeper is dead is gone (its
containers are `harness clean`'s). Commands find a cluster from any directory: by --cluster,
else the only live one, else the one whose repo holds the current directory.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.nodes.reaper import pid_alive

State = dict[str, Any]


def clusters_root() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "harness" / "clusters"


def cluster_dir(name: str, create: bool = False) -> Path:
    """The cluster's state directory (created 0700 with its parents when asked)."""
    if not name or "/" in name or name.startswith("."):
        raise UsageError(f"bad cluster name {name!r}")
    directory = clusters_root() / name
    if create:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory.chmod(0o700)
    return directory


def write_private(path: Path, text: str) -> None:
    """Write text to path (0600), whole: a reader never sees half of it."""
    tmp = path.with_name(path.name + ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    tmp.replace(path)


def write_state(state: State) -> Path:
    directory = cluster_dir(state["name"], create=True)
    write_private(directory / "state.json", json.dumps(state, indent=2) + "\n")
    return directory


def read_state(name: str) -> State | None:
    """A cluster's state, or None when it has none (or none that can be read)."""
    try:
        state: State = json.loads((cluster_dir(name) / "state.json").read_text())
    except (OSError, ValueError):
        return None
    return state


def all_states() -> list[State]:
    root = clusters_root()
    names = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    return [s for s in map(read_state, names) if s is not None]


def keeper_alive(state: State) -> bool:
    keeper = state.get("keeper") or {}
    return pid_alive(keeper.get("pid"), keeper.get("start"))


def live_sessions() -> set[str]:
    """Sessions held by a live keeper: alive, whatever pid their labels name (kept clusters)."""
    return {s["session"] for s in all_states() if keeper_alive(s)}


def select(name: str | None, cwd: Path | None = None) -> State:
    """The cluster a command is about: --cluster NAME, else the only live one, else the one
    whose repo holds the current directory; UsageError listing the names otherwise."""
    live = [s for s in all_states() if keeper_alive(s)]
    if name is not None:
        state = read_state(name)
        if state is None:
            raise UsageError(f"no cluster {name!r} (have: {_names(live)})")
        if not keeper_alive(state):
            raise UsageError(f"cluster {name}'s keeper is gone; `harness down --cluster {name}` "
                             "removes what is left")
        return state
    if len(live) == 1:
        return live[0]
    if not live:
        raise UsageError("no cluster is up; start one with `harness up ROLE[=COUNT] --repo DIR`")
    here = (cwd or Path.cwd()).resolve()
    mine = [s for s in live if here.is_relative_to(Path(s["repo"]))]
    if len(mine) == 1:
        return mine[0]
    raise UsageError(f"{len(live)} clusters are up ({_names(live)}); choose one with --cluster NAME")


def _names(states: list[State]) -> str:
    return ", ".join(s["name"] for s in states) or "none"


def record_action(state: State, nodes: list[str], action: str) -> None:
    """Note a command's action on nodes (`harness list` shows it); the state is rewritten."""
    fresh = read_state(state["name"]) or state
    now = time.time()
    for node in nodes:
        fresh["nodes"][node].update(last_action=action, last_action_at=now)
    write_state(fresh)


def remove_state(name: str) -> None:
    shutil.rmtree(cluster_dir(name), ignore_errors=True)

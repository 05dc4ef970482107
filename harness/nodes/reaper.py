"""Leave nothing behind: a watchdog process per session, and `harness clean`.

`python -m harness.nodes.reaper --session ID --pid PID --pid-start TICKS` runs detached (own
session, so Ctrl-C and SIGKILL of pytest do not reach it). It polls the controlling process every
0.5 s; once that process is gone it removes the session's labelled containers and networks and
exits. It also exits when told to (SIGTERM, after a normal down()) or when the session's
resources are gone. Ryuk does the same for Testcontainers; its image can't be pulled here.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from tenacity import (
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
    stop_after_delay,
    wait_fixed,
)

from harness.errors import EngineError
from harness.nodes.labels import PID, PID_START, SESSION, pid_start

if TYPE_CHECKING:
    from harness.nodes.backend import Backend

POLL = 0.5
# polls between "are my resources still there?" checks (30 s): a reaper is stopped when its
# cluster goes, so this only ends one whose resources someone else removed
DOCKER_CHECK_EVERY = 60
SWEEP_WAIT = 1.0  # between the sweeps after the controller died


class Sweeper(Protocol):
    """What a reaper needs from the engine (a `Backend` has it)."""

    def labelled(self) -> list[dict[str, str]]: ...
    def remove_by_labels(self, labels: dict[str, str]) -> tuple[int, int]: ...


class LazyEngine:
    """The Docker engine, connected on first use. Most reapers are stopped before they need
    it, and importing the docker SDK is ~0.1 CPU-s that every cluster's boot competed with."""

    def __init__(self) -> None:
        self._engine: Sweeper | None = None

    def _get(self) -> Sweeper:
        if self._engine is None:
            # local: the SDK is imported only by a reaper that talks to the engine
            from harness.nodes.backend import DockerBackend

            self._engine = Retrying(stop=stop_after_delay(30), wait=wait_fixed(0.5),
                                    reraise=True, retry=retry_if_exception_type(EngineError))(
                DockerBackend)
        return self._engine

    def labelled(self) -> list[dict[str, str]]:
        return self._get().labelled()

    def remove_by_labels(self, labels: dict[str, str]) -> tuple[int, int]:
        return self._get().remove_by_labels(labels)


def pid_alive(pid: int | str | None, start: str | None) -> bool:
    """True while the process that labelled a session still runs (pid reuse is ruled out)."""
    if pid is None:
        return False
    try:
        current = pid_start(int(pid))
    except (TypeError, ValueError):
        return False
    return current is not None and (not start or current == start)


def start_reaper(session: str, pid: int | None = None) -> subprocess.Popen[bytes]:
    """Spawn the detached watchdog for session, controlled by pid (default: this process)."""
    pid = pid or os.getpid()
    cmd = [sys.executable, "-m", "harness.nodes.reaper", "--session", session, "--pid", str(pid),
           "--pid-start", pid_start(pid) or ""]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)


def stop_reaper(proc: subprocess.Popen[bytes] | None) -> None:
    """Tell our own watchdog to exit without removing anything (down() did, or keep=True)."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def install_sigterm_handler() -> None:
    """SIGTERM unwinds like Ctrl-C, so context managers and pytest teardown run down()."""
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _interrupt)


def reap(backend: Sweeper, session: str) -> tuple[int, int]:
    """Remove a session's containers and networks, retrying engine hiccups for 20 s."""
    retrying = Retrying(stop=stop_after_delay(20), wait=wait_fixed(0.5), reraise=True,
                        retry=retry_if_exception_type(EngineError))
    removed: tuple[int, int] = retrying(backend.remove_by_labels, {SESSION: session})
    return removed


def _keepers_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"harness-keepers-{os.getuid()}"


def register_keeper(session: str) -> Path:
    """Say host-wide (per user) that this process keeps `session` alive: a kept pytest cluster's
    labels name pytest's dead pid, and the keeper's state dir depends on the XDG_STATE_HOME its
    starter had, which another `harness clean` may not share. Remove the file when done."""
    directory = _keepers_dir()
    directory.mkdir(mode=0o700, exist_ok=True)
    marker = directory / session
    marker.write_text(json.dumps({"pid": os.getpid(), "start": pid_start(os.getpid())}))
    return marker


def kept_sessions() -> set[str]:
    """Sessions a live keeper registered (register_keeper); stale markers are removed."""
    directory = _keepers_dir()
    found: set[str] = set()
    for marker in sorted(directory.iterdir()) if directory.is_dir() else []:
        try:
            info = json.loads(marker.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(info, dict) and pid_alive(info.get("pid"), info.get("start")):
            found.add(marker.name)
        else:
            marker.unlink(missing_ok=True)
    return found


def clean(backend: Backend, progress: Callable[[str], None] = print,
          kept: set[str] | frozenset[str] = frozenset()) -> tuple[int, int]:
    """Remove every harness resource whose controlling process is no longer alive.

    `kept`: sessions a live keeper holds (harness/nodes/state.py live_sessions()): a cluster
    pytest kept names pytest's dead pid in its labels, yet is alive. Sessions a live keeper
    registered host-wide (register_keeper) are spared too, whatever the caller passes."""
    kept = set(kept) | kept_sessions()
    sessions: dict[str, dict[str, str]] = {}
    for labels in backend.labelled():
        sessions.setdefault(labels[SESSION], labels)
    containers = networks = 0
    for session, labels in sorted(sessions.items()):
        if session in kept or pid_alive(labels.get(PID), labels.get(PID_START)):
            continue
        c, n = reap(backend, session)
        progress(f"clean: session {session} (pid {labels.get(PID, '?')} gone): "
                 f"removed {c} containers, {n} networks")
        containers, networks = containers + c, networks + n
    return containers, networks


def _session_present(backend: Sweeper, session: str) -> bool | None:
    """Whether the session still has resources; None when the engine cannot tell now."""
    try:
        return any(labels.get(SESSION) == session for labels in backend.labelled())
    except EngineError:
        return None


def watch(backend: Sweeper, session: str, pid: int, start: str | None) -> str:
    """Block until the controller dies (then reap) or the session's resources are gone."""
    state = {"polls": 0, "seen": False}

    def finished() -> str | None:
        if not pid_alive(pid, start):
            return "controller gone"
        state["polls"] += 1
        if state["polls"] % DOCKER_CHECK_EVERY == 0:
            present = _session_present(backend, session)
            if state["seen"] and present is False:
                return "resources gone"
            state["seen"] = state["seen"] or bool(present)
        return None

    reason = Retrying(wait=wait_fixed(POLL), retry=retry_if_result(lambda r: r is None))(finished)
    if reason == "controller gone":
        reap(backend, session)
        # A create the controller sent just before dying may land after the first sweep.
        Retrying(stop=stop_after_attempt(3), wait=wait_fixed(SWEEP_WAIT),
                 retry=retry_if_result(lambda _: True), retry_error_callback=lambda _: None)(
            reap, backend, session)
    assert reason is not None  # no stop condition: it returns only with a reason
    return reason


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.nodes.reaper")
    parser.add_argument("--session", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--pid-start", default=None)
    args = parser.parse_args(argv)
    # Told to go (stop_reaper, which waits): nothing to flush or undo, so skip the
    # interpreter's ~60 ms teardown, which every cluster's removal would wait for.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch(LazyEngine(), args.session, args.pid, args.pid_start or None)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # the engine went away: the session's resources went with it
        sys.exit(1)

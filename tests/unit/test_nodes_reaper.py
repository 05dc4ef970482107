"""Reaper logic without Docker: pid identity, clean(), watch() on the FakeBackend."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from harness.nodes import reaper
from harness.nodes.fake import FakeBackend
from harness.nodes.labels import pid_start, session_labels
from harness.nodes.reaper import clean, kept_sessions, pid_alive, register_keeper, watch


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_pid_identity():
    me = os.getpid()
    assert pid_alive(me, pid_start(me)) and pid_alive(str(me), None)
    assert not pid_alive(me, "1")  # same pid, other start time: a reused pid
    assert not pid_alive(dead_pid(), None)
    assert not pid_alive(None, None) and not pid_alive("x", None)


def test_zombie_counts_as_dead():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        from harness.waits import wait_until

        wait_until(lambda: pid_start(proc.pid), lambda s: s is None, timeout=10, what="zombie")
    finally:
        proc.wait()


def _net(backend, session, pid, start):
    backend.create_network(f"h-{session}", {"harness.session": session, "harness.pid": str(pid),
                                            "harness.pid_start": start or ""})


def test_clean_removes_dead_sessions_only():
    backend = FakeBackend()
    _net(backend, "dead", dead_pid(), "5")
    _net(backend, "live", os.getpid(), pid_start(os.getpid()))
    backend.networks["other"] = {"unrelated": "1"}
    lines = []
    assert clean(backend, lines.append) == (0, 1)
    assert set(backend.networks) == {"h-live", "other"} and "session dead" in lines[0]


def test_clean_spares_a_session_a_live_keeper_registered(monkeypatch, tmp_path):
    """A kept pytest cluster's labels name pytest's dead pid; its adopting keeper registers the
    session host-wide, so a `harness clean` run with another XDG_STATE_HOME spares it too."""
    monkeypatch.setattr(reaper, "_keepers_dir", lambda: tmp_path / "keepers")
    backend = FakeBackend()
    _net(backend, "kept", dead_pid(), "5")
    marker = register_keeper("kept")  # this live process is the keeper
    assert kept_sessions() == {"kept"}
    assert clean(backend, print) == (0, 0) and "h-kept" in backend.networks
    marker.write_text(json.dumps({"pid": dead_pid(), "start": "5"}))  # the keeper died
    assert kept_sessions() == set() and not marker.exists()
    assert clean(backend, print) == (0, 1) and "h-kept" not in backend.networks


def test_watch_reaps_when_the_controller_is_gone(monkeypatch):
    monkeypatch.setattr("harness.nodes.reaper.SWEEP_WAIT", 0.01)
    backend = FakeBackend()
    pid = dead_pid()
    _net(backend, "s1", pid, "1")
    _net(backend, "s2", pid, "1")
    assert watch(backend, "s1", pid, None) == "controller gone"
    assert set(backend.networks) == {"h-s2"}


def test_watch_exits_when_resources_are_gone(monkeypatch):
    backend = FakeBackend()
    monkeypatch.setattr("harness.nodes.reaper.POLL", 0.001)
    monkeypatch.setattr("harness.nodes.reaper.DOCKER_CHECK_EVERY", 1)
    labels = session_labels("s3")
    backend.create_network("h-s3", labels)
    seen = {"n": 0}
    real = backend.labelled

    def labelled():  # the owner's down() removes the network after the first look
        seen["n"] += 1
        if seen["n"] == 2:
            backend.remove_network("h-s3")
        return real()

    backend.labelled = labelled
    assert watch(backend, "s3", os.getpid(), labels["harness.pid_start"]) == "resources gone"


def test_watch_survives_engine_hiccups(monkeypatch):
    from harness.errors import EngineError

    monkeypatch.setattr("harness.nodes.reaper.POLL", 0.001)
    monkeypatch.setattr("harness.nodes.reaper.DOCKER_CHECK_EVERY", 1)
    backend = FakeBackend()
    labels = session_labels("s4")
    backend.create_network("h-s4", labels)
    calls = {"n": 0}
    real = backend.labelled

    def flaky():
        calls["n"] += 1
        if calls["n"] in (2, 3):
            raise EngineError("engine restarting")
        if calls["n"] == 4:
            backend.remove_network("h-s4")
        return real()

    backend.labelled = flaky
    assert watch(backend, "s4", os.getpid(), labels["harness.pid_start"]) == "resources gone"
    assert calls["n"] == 4


def test_a_reaper_imports_the_docker_sdk_only_when_it_talks_to_the_engine():
    """Reapers are usually stopped before their first engine check (decision 62): starting
    one must not pay the SDK's import while its cluster boots."""
    code = ("import sys; from harness.nodes import reaper; reaper.LazyEngine(); "
            "print('docker' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_the_lazy_engine_connects_once_on_first_use(monkeypatch):
    import harness.nodes.backend as backend_mod

    made = []

    def connect():
        made.append(FakeBackend())
        return made[-1]

    monkeypatch.setattr(backend_mod, "DockerBackend", connect)
    engine = reaper.LazyEngine()
    assert made == []
    assert engine.labelled() == [] and len(made) == 1
    assert engine.remove_by_labels({"harness.session": "x"}) == (0, 0) and len(made) == 1

"""Per-user cluster state (harness/nodes/state.py): where it lives, its modes, which cluster a
command picks, kept sessions that `harness clean` must spare, and attaching to a cluster."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from harness.errors import UsageError
from harness.nodes import state as st
from harness.nodes.attach import attach
from harness.nodes.fake import FakeBackend
from harness.nodes.labels import node_labels, pid_start
from harness.nodes.reaper import clean
from harness.server.serve import ConfigServer


@pytest.fixture(autouse=True)
def state_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state"


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _state(name: str, repo, alive: bool = True, url: str = "http://127.0.0.1:1") -> dict:
    pid = os.getpid() if alive else dead_pid()
    return {"name": name, "repo": str(repo), "environment": "_default", "platform": "base",
            "roles": {"web": 1}, "server_url": url, "session": f"s-{name}",
            "keeper": {"pid": pid, "start": pid_start(pid) if alive else "1"},
            "nodes": {"web-1": {"role": "web", "container": f"h-{name}-web-1", "ip": "10.0.0.2"}}}


def test_state_lives_per_user_with_private_modes(state_home, tmp_path):
    directory = st.write_state(_state("a", tmp_path))
    assert directory == state_home / "harness" / "clusters" / "a"
    assert oct(directory.stat().st_mode & 0o777) == "0o700"
    assert oct((directory / "state.json").stat().st_mode & 0o777) == "0o600"
    assert st.read_state("a")["session"] == "s-a" and st.read_state("b") is None
    st.record_action(st.read_state("a"), ["web-1"], "converge")
    assert st.read_state("a")["nodes"]["web-1"]["last_action"] == "converge"
    st.remove_state("a")
    assert st.all_states() == []


def test_default_state_home_is_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert st.clusters_root() == tmp_path / ".local" / "state" / "harness" / "clusters"


def test_select_by_name_only_live_then_repo_of_cwd(tmp_path):
    with pytest.raises(UsageError, match="no cluster is up; start one"):
        st.select(None)
    (tmp_path / "r1" / "roles").mkdir(parents=True)
    (tmp_path / "r2").mkdir()
    st.write_state(_state("one", tmp_path / "r1"))
    st.write_state(_state("dead", tmp_path / "r2", alive=False))
    assert st.select(None, cwd=tmp_path)["name"] == "one"  # the only live one
    with pytest.raises(UsageError, match="cluster dead's keeper is gone"):
        st.select("dead")
    with pytest.raises(UsageError, match=r"no cluster 'nope' \(have: one\)"):
        st.select("nope")
    st.write_state(_state("two", tmp_path / "r2"))
    assert st.select(None, cwd=tmp_path / "r1" / "roles")["name"] == "one"
    assert st.select(None, cwd=tmp_path / "r2")["name"] == "two"
    with pytest.raises(UsageError, match=r"2 clusters are up \(one, two\); choose one with "
                                         "--cluster NAME"):
        st.select(None, cwd=tmp_path)
    assert st.select("two")["name"] == "two"
    assert st.live_sessions() == {"s-one", "s-two"}


@pytest.mark.parametrize("name", ["", ".hidden", "a/b"])
def test_bad_cluster_names(name):
    with pytest.raises(UsageError, match="bad cluster name"):
        st.cluster_dir(name)


def test_clean_spares_a_session_a_live_keeper_holds(tmp_path):
    """A kept pytest cluster's labels name pytest's (dead) pid; its keeper keeps it alive."""
    backend = FakeBackend()
    dead = dead_pid()
    for session in ("kept", "gone"):
        backend.create_network(f"h-{session}", {"harness.session": session,
                                                "harness.pid": str(dead), "harness.pid_start": "1"})
    assert clean(backend, lambda line: None, kept={"kept"}) == (0, 1)
    assert set(backend.networks) == {"h-kept"}


def test_attach_checks_labels_and_reads_reports(tmp_path):
    backend = FakeBackend()
    with ConfigServer() as server:
        state = _state("live", tmp_path, url=server.url)
        st.write_private(st.write_state(state) / "admin.token", server.admin_token + "\n")
        with pytest.raises(UsageError, match=r"node\(s\) web-1 are gone; `harness down "
                                             "--cluster live`"):
            attach(state, backend)
        backend.create_network("net", {})
        backend.run_node("img", "h-live-web-1", "web-1", "net", [],
                         node_labels("s-live", "live", "web", "web-1"))
        server.store.add_report("web-1", {"status": "success", "changed": ["file[/x]"]})
        live = attach(state, backend)
        assert live.reports["web-1"][-1]["changed"] == ["file[/x]"]
        assert live.nodes["web-1"].container == "h-live-web-1" and live.roles == {"web": 1}
        assert backend.containers.keys() == {"h-live-web-1"}  # attaching created nothing

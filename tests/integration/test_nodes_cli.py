"""`harness up / converge / login / down` against real Docker, run as a user would."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from harness.nodes.reaper import pid_alive
from tests.integration.nodes_support import NODE_REPO, leftovers

pytestmark = pytest.mark.docker


def harness(cwd, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, XDG_STATE_HOME=str(cwd / "state"))
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=300, env=env)


def test_up_converge_login_down(engine, base_image, tmp_path):
    up = harness(tmp_path, "up", "web", "--repo", str(NODE_REPO), "--image", base_image)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "harness login web-1" in up.stdout and "remove it with: harness down" in up.stdout
    directory = tmp_path / "state" / "harness" / "clusters" / "up-web"
    state = json.loads((directory / "state.json").read_text())
    keeper = state["keeper"]
    try:
        assert pid_alive(keeper["pid"], keeper["start"])  # the keeper holds the server
        assert oct((directory / "admin.token").stat().st_mode & 0o777) == "0o600"
        assert oct(directory.stat().st_mode & 0o777) == "0o700"

        again = harness(tmp_path, "up", "web", "--repo", str(NODE_REPO))
        assert again.returncode == 2 and "already up" in again.stderr

        conv = harness(tmp_path, "converge", "web-1")
        assert conv.returncode == 0, conv.stdout + conv.stderr
        assert "web-1: converged in " in conv.stdout and ", 0 changed" in conv.stdout
        assert '"resources"' not in conv.stdout  # the JSON report line is not shown

        login = harness(tmp_path, "login", "web-1", stdin="hostname; systemctl is-active webapp\n")
        assert login.returncode == 0 and login.stdout.split() == ["web-1", "active"]

        missing = harness(tmp_path, "converge", "web-9")
        assert missing.returncode == 2
        assert missing.stderr.strip() == "harness: no node 'web-9' in cluster up-web (web-1)"
    finally:
        down = harness(tmp_path, "down")
    assert down.returncode == 0, down.stderr
    assert "cluster up-web is down" in down.stdout
    assert not pid_alive(keeper["pid"], keeper["start"])
    assert leftovers(engine, state["session"]) == []
    assert not directory.exists()


def test_up_failure_is_one_line_plus_log_and_leaves_nothing(engine, base_image, tmp_path):
    up = harness(tmp_path, "up", "broken", "--repo", str(NODE_REPO), "--image", base_image)
    assert up.returncode == 1
    error = up.stderr.splitlines()[0]
    assert error.startswith("harness: node broken-1: first converge (bootstrap) failed: "
                            "execute[fail-on-purpose]")
    assert "--- log tail ---" in up.stderr and "about to fail" in up.stderr
    assert "bootstrapping" in up.stdout
    assert not (tmp_path / "state" / "harness" / "clusters" / "up-broken" / "state.json").exists()
    assert not [lab for lab in engine.labelled() if lab.get("harness.cluster") == "up-broken"
                and not pid_alive(lab.get("harness.pid"), lab.get("harness.pid_start"))]

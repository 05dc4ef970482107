"""The nodes' command line without Docker: argument checks, state, engine errors (one line, exit 2/1)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

NODE_REPO = Path(__file__).resolve().parents[1] / "fixtures" / "node_repo"


def harness(cwd, *args: str, env=None) -> subprocess.CompletedProcess:
    env = dict(env or os.environ, XDG_STATE_HOME=str(cwd / "state"))  # no cluster is up there
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args, message", [
    (("up", "web=abc"), "harness: bad ROLE[=COUNT] 'web=abc': COUNT must be a positive integer"),
    (("up", "web=0"), "harness: bad ROLE[=COUNT] 'web=0': COUNT must be a positive integer"),
    (("up", "nope"), f"harness: no role 'nope' in {NODE_REPO}/roles"),
    (("up", "web", "--env", "nope"), f"harness: no environment 'nope' in {NODE_REPO}/environments"),
    (("up", "web", "--node-disk", "tmpfs"), "argument --node-disk: invalid choice: 'tmpfs'"),
    (("up", "web", "--platform", "sid"), "harness: unknown platform 'sid': "),
    (("up", "web", "--platform", "a/b"), "harness: --platform: bad platform name 'a/b'"),
    (("converge", "web-1"), "harness: no cluster is up; start one with `harness up"),
    (("login", "web-1"), "harness: no cluster is up; start one with `harness up"),
    (("down",), "harness: no cluster is up; start one with `harness up"),
    (("verify",), "harness: no cluster is up; start one with `harness up"),
    (("converge", "--cluster", "nope"), "harness: no cluster 'nope' (have: none)"),
    (("up", "web", "--name", "a/b"), "harness: bad cluster name 'a/b'"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, args, message):
    if args[0] == "up":
        args = (*args, "--repo", str(NODE_REPO))
    result = harness(tmp_path, *args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr


def test_unreachable_engine_is_one_line(tmp_path):
    env = dict(os.environ, DOCKER_HOST="unix:///nonexistent")
    result = subprocess.run([sys.executable, "-m", "harness.cli", "clean"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("harness: no Docker engine answers at "
                                    "DOCKER_HOST=unix:///nonexistent")
    assert len(result.stderr.strip().splitlines()) == 1


def test_nothing_below_the_cli_imports_it():
    """harness.cli is the top of the import graph: the keeper, ci, rollout and server never load it."""
    code = ("import sys, harness.nodes.keeper, harness.ci, harness.rollout, harness.server.serve, "
            "harness.restore; sys.exit('harness.cli' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0

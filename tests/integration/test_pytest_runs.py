"""A real `pytest` run of a role spec, as a user runs it: it passes and leaves nothing; killed,
interrupted or failed with --keep-failed, its containers go (or stay, under a keeper) as
promised."""
from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from harness.nodes.reaper import pid_alive
from harness.waits import eventually
from tests.integration.nodes_support import NODE_REPO

pytestmark = pytest.mark.docker

SPEC = '''
import time, urllib.request
import pytest

pytestmark = pytest.mark.cluster(web=1)

def test_serves_the_greeting(node):
    body = urllib.request.urlopen(f"http://{node.ip}:8080/", timeout=10).read().decode()
    assert "hello from the web role" in body
'''
HANG = SPEC + '''
def test_hangs(node):
    print("SPEC-READY", node.ip, flush=True)
    time.sleep(600)
'''
FAIL = SPEC + '''
def test_fails(host):
    assert host.file("/etc/hostname").content_string.strip() == "not-this-node"
'''


def spec_file(tmp_path: Path, body: str) -> tuple[Path, str]:
    """A spec module with a unique name; its cluster is labelled harness.cluster=<name>."""
    token = secrets.token_hex(4)
    path = tmp_path / f"test_it_{token}.py"
    path.write_text(body)
    return path, f"it-{token}"


def pytest_run(spec: Path, *args: str, **kw) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "pytest", str(spec), "-p", "no:cacheprovider", "-s",
           "--repo", str(NODE_REPO), "--rootdir", str(spec.parent), *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=spec.parent, **kw)


def labelled(engine, cluster: str) -> list[dict]:
    """Containers and networks of that cluster (networks carry harness.cluster; containers
    carry its session, which is the network's)."""
    found = engine.labelled()
    sessions = {lab["harness.session"] for lab in found if lab.get("harness.cluster") == cluster}
    return [lab for lab in found if lab.get("harness.session") in sessions]


def wait_for_line(proc: subprocess.Popen, marker: str) -> str:
    for line in proc.stdout:
        if marker in line:
            return line
    raise AssertionError(f"pytest ended before printing {marker!r} (exit {proc.wait()})")


def test_a_passing_spec_leaves_nothing(engine, base_image, tmp_path):
    spec, cluster = spec_file(tmp_path, SPEC)
    proc = pytest_run(spec, "--image", base_image)
    out = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, out
    assert "1 passed" in out and "web-1: bootstrapping" in out
    assert labelled(engine, cluster) == []


def test_sigkill_of_pytest_is_reaped_within_30s(engine, base_image, tmp_path):
    spec, cluster = spec_file(tmp_path, HANG)
    proc = pytest_run(spec, "--image", base_image)
    ip = wait_for_line(proc, "SPEC-READY").split()[-1]
    assert urllib.request.urlopen(f"http://{ip}:8080/", timeout=10).status == 200
    assert {lab["kind"] for lab in labelled(engine, cluster)} == {"container", "network"}
    proc.kill()
    proc.wait()
    eventually(lambda: _assert_none(labelled(engine, cluster)), timeout=30, interval=0.5)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_pytest_tears_down_before_exiting(engine, base_image, tmp_path, sig):
    spec, cluster = spec_file(tmp_path, HANG)
    proc = pytest_run(spec, "--image", base_image)
    wait_for_line(proc, "SPEC-READY")
    proc.send_signal(sig)
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode != 0
    assert "KeyboardInterrupt" in out, out       # pytest itself stopped and ran teardown
    assert labelled(engine, cluster) == [], out


@pytest.mark.parametrize("option", ["--keep-failed", "--destroy=passing"])
def test_a_kept_cluster_is_handed_to_a_keeper_and_usable_like_an_up_one(engine, base_image,
                                                                        tmp_path, option):
    """--keep-failed (= --destroy passing): the failed module's cluster outlives pytest under
    a keeper; `harness list`, `converge`, `verify` and `down` use it like an `up` cluster."""
    spec, cluster = spec_file(tmp_path, FAIL)
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"))
    proc = pytest_run(spec, "--image", base_image, option, env=env)
    out = proc.communicate(timeout=600)[0]
    assert proc.returncode == 1, out
    assert "1 failed, 1 passed" in out and "harness diagnostics: web-1" in out
    assert "kept cluster it-" in out and "harness down --cluster it-" in out
    try:
        time.sleep(2)   # pytest's reaper would have acted by now if it were going to
        kept = labelled(engine, cluster)
        assert {lab["kind"] for lab in kept} == {"container", "network"}

        def harness(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True,
                                  text=True, env=env, timeout=300, cwd=tmp_path)

        assert harness("clean").returncode == 0
        assert labelled(engine, cluster) == kept  # its keeper is alive: not a dead session
        listed = harness("list").stdout
        assert f"repo {NODE_REPO}" in listed and "(pytest, keeper " in listed, listed
        name = listed.split()[0]
        converged = harness("converge")
        assert converged.returncode == 0, converged.stdout + converged.stderr
        assert "web-1: converged in " in converged.stdout and ", 0 changed" in converged.stdout
        verified = harness("verify", str(spec))
        assert verified.returncode == 1 and "1 failed, 1 passed" in verified.stdout  # same verdict
        down = harness("down", "--cluster", name)
        assert down.returncode == 0 and f"cluster {name} is down" in down.stdout, down.stderr
        assert labelled(engine, cluster) == []
        assert not (tmp_path / "state" / "harness" / "clusters" / name).exists()
    finally:
        _stop_keepers(tmp_path / "state")


def _stop_keepers(state_home: Path) -> None:
    """A failed assertion above must not leave the kept cluster's keeper (and its nodes)
    behind: SIGTERM makes a keeper tear its cluster down. After `harness down` there is none."""
    for state_file in state_home.glob("harness/clusters/*/state.json"):
        keeper = json.loads(state_file.read_text()).get("keeper") or {}
        if pid_alive(keeper.get("pid"), keeper.get("start")):
            os.kill(keeper["pid"], signal.SIGTERM)


def _assert_none(found: list) -> None:
    assert found == []

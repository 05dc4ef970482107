"""Nothing is left behind: SIGKILL (reaper), SIGTERM and Ctrl-C (down()), `harness clean`."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from harness.nodes.labels import PID, PID_START, SESSION, pid_start
from harness.nodes.reaper import clean
from harness.waits import eventually
from tests.integration.nodes_support import NODE_REPO, leftovers

pytestmark = pytest.mark.docker

# A controlling process that owns a session with one container, then blocks.
SESSION_OWNER = textwrap.dedent("""
    import signal, sys
    from harness.nodes.backend import DockerBackend
    from harness.nodes.labels import node_labels
    from harness.nodes.reaper import start_reaper
    session, image = sys.argv[1:3]
    backend = DockerBackend()
    labels = node_labels(session, "it-reaper")
    start_reaper(session)
    net = backend.create_network("h-" + session, labels)
    backend.run_node(image, f"h-{session}-victim-1", "victim-1", net.name, ["victim-1"],
                     dict(labels, **{"harness.role": "victim", "harness.node": "victim-1"}))
    print("ready", flush=True)
    signal.pause()
""")

# A Cluster whose bootstrap blocks inside the node until the container goes away.
CLUSTER_OWNER = textwrap.dedent("""
    import sys
    from harness.nodes import bootstrap as nb
    from harness.nodes.cluster import Cluster
    from harness.nodes.spec import ClusterSpec

    def blocking_bootstrap(backend, node, cmd, booting_since, timings, progress):
        print("session", cluster.session, flush=True)
        return backend.exec(node.container, ["sleep", "600"])[1]

    nb.boot_and_bootstrap = blocking_bootstrap
    cluster = Cluster("it-signal", ClusterSpec({"web": 2}), repo_dir=sys.argv[1], image=sys.argv[2],
                      progress=lambda line: None)
    try:
        cluster.up()
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
""")


def spawn(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE,
                            text=True, cwd=os.getcwd())


def test_sigkill_of_the_controller_is_reaped_within_30s(engine, base_image):
    session = "k" + secrets.token_hex(5)
    owner = spawn(SESSION_OWNER, session, base_image)
    assert owner.stdout.readline().strip() == "ready"
    assert {lab["kind"] for lab in leftovers(engine, session)} == {"container", "network"}
    owner.kill()
    killed = time.monotonic()
    owner.wait()
    eventually(lambda: _assert_empty(leftovers(engine, session)), timeout=30, interval=0.5)
    print(f"reaped {time.monotonic() - killed:.1f} s after SIGKILL")


def _assert_empty(found: list) -> None:
    assert found == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_tear_the_cluster_down(engine, base_image, sig):
    owner = spawn(CLUSTER_OWNER, str(NODE_REPO), base_image)
    session = owner.stdout.readline().split()[1]
    owner.stdout.readline()  # the second node is bootstrapping too
    assert len([lab for lab in leftovers(engine, session) if lab["kind"] == "container"]) == 2
    owner.send_signal(sig)
    assert owner.wait(timeout=30) == 130
    assert owner.stdout.read().strip() == "interrupted"
    assert leftovers(engine, session) == []  # down() ran before exit, not the reaper


def test_clean_removes_only_dead_sessions(engine):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    dead_session, live_session = "d" + secrets.token_hex(5), "l" + secrets.token_hex(5)
    engine.create_network(f"h-{dead_session}", {SESSION: dead_session, PID: dead,
                                                 PID_START: "1"})
    engine.create_network(f"h-{live_session}", {SESSION: live_session, PID: str(os.getpid()),
                                                PID_START: pid_start(os.getpid())})
    try:
        lines: list[str] = []
        clean(engine, lines.append)
        assert leftovers(engine, dead_session) == []
        assert len(leftovers(engine, live_session)) == 1
        assert any(dead_session in line for line in lines)
    finally:
        engine.remove_by_labels({SESSION: live_session})
        engine.remove_by_labels({SESSION: dead_session})


def test_removal_of_running_nodes_takes_their_network_along(engine, base_image):
    """remove_by_labels with the nodes still running: the network is detached and removed
    while the containers die (decision 62), and nothing labelled remains, a stopped node
    included."""
    session = "r" + secrets.token_hex(5)
    labels = {SESSION: session, PID: str(os.getpid()), PID_START: pid_start(os.getpid()) or ""}
    net = engine.create_network(f"h-{session}", labels)
    try:
        for name in ("a-1", "a-2"):
            engine.run_node(base_image, f"h-{session}-{name}", name, net.name, [name], labels)
        engine.api.kill(f"h-{session}-a-2")  # one stopped, one running
        assert engine.remove_by_labels({SESSION: session}) == (2, 1)
        assert leftovers(engine, session) == []
    finally:
        engine.remove_by_labels({SESSION: session})

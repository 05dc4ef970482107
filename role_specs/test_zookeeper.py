"""Role zookeeper: a 3-node ensemble that finds its members by search.

Over the network from the test process: four-letter words on the client port (exactly one
leader and two followers, `ruok` -> `imok`, non-allowlisted words refused) and a znode
written through one member with kazoo and read back through another.
"""
from __future__ import annotations

import uuid

import pytest
from kazoo.client import KazooClient

from harness.waits import eventually
from role_specs.base_checks import *  # noqa: F401,F403  (base checks on every node)
from role_specs.support import tcp_command

pytestmark = pytest.mark.cluster(zookeeper=3, env="production")

CLIENT_PORT = 2181
ELECTION = 90  # seconds: members restart with the full ensemble at the end of a converge


def mode(ip: str) -> str:
    """Mode line of `srvr`/`stat`: leader, follower or standalone."""
    out = tcp_command(ip, CLIENT_PORT, b"stat")
    for line in out.splitlines():
        if line.startswith("Mode:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no Mode in stat answer of {ip}: {out[:200]!r}")


def test_ruok_answers_imok(node):
    def ruok() -> str:
        answer = tcp_command(node.ip, CLIENT_PORT, b"ruok")
        assert answer == "imok", answer
        return answer

    eventually(ruok, timeout=ELECTION, what=f"ruok on {node.name}")


def test_one_leader_two_followers(cluster):
    ips = {name: n.ip for name, n in sorted(cluster.nodes.items())}

    def ensemble() -> dict[str, str]:
        modes = {name: mode(ip) for name, ip in ips.items()}
        assert sorted(modes.values()) == ["follower", "follower", "leader"], modes
        return modes

    eventually(ensemble, timeout=ELECTION, interval=1, what="ensemble election")


def test_only_allowlisted_four_letter_words(node):
    eventually(lambda: mode(node.ip), timeout=ELECTION, what=f"stat on {node.name}")
    assert "zk_server_state" in tcp_command(node.ip, CLIENT_PORT, b"mntr")
    assert "Mode:" in tcp_command(node.ip, CLIENT_PORT, b"srvr")
    refused = tcp_command(node.ip, CLIENT_PORT, b"conf")
    assert "is not executed because it is not in the whitelist" in refused


def test_members_and_myid_from_search(host, node, cluster):
    """zoo.cfg lists every member as server.N=ip:2888:3888, N = position in sorted names."""
    names = sorted(cluster.nodes)
    expected = {f"server.{i}={cluster.nodes[n].ip}:2888:3888" for i, n in enumerate(names, 1)}
    zoo_cfg = host.file("/etc/zookeeper/conf/zoo.cfg").content_string.splitlines()
    assert {line for line in zoo_cfg if line.startswith("server.")} == expected
    assert "4lw.commands.whitelist=stat,ruok,mntr,srvr" in zoo_cfg
    assert "dataDir=/var/lib/zookeeper" in zoo_cfg
    # Debian's layout: /etc/zookeeper/conf is the zookeeper-conf alternative; dataDir/myid
    # links to the configuration directory's myid.
    assert host.file("/etc/zookeeper/conf").linked_to == "/etc/zookeeper/conf_managed"
    assert host.file("/var/lib/zookeeper/myid").content_string.strip() == \
        str(names.index(node.name) + 1)


def test_service_runs_from_the_native_unit(host):
    """The cookbook's unit, not the one systemd generates from Debian's init script."""
    service = host.service("zookeeper")
    assert service.is_running and service.is_enabled
    show = dict(line.split("=", 1) for line in host.check_output(
        "systemctl show -p FragmentPath -p User -p MainPID zookeeper").splitlines())
    assert show["FragmentPath"] == "/etc/systemd/system/zookeeper.service"
    assert show["User"] == "zookeeper"
    assert host.check_output("ps -o user= -p %s", show["MainPID"]) == "zookeeper"
    # Started at boot too: the unit's own [Install] link, not only the init script's rc links.
    assert host.file("/etc/systemd/system/multi-user.target.wants/zookeeper.service").is_symlink


# Debian's default JDK per release: what the unit must run (cookbook attribute
# zookeeper.java.jdk_by_platform_version); the spec states it independently of the cookbook.
JDK = {"12": "java-17-openjdk", "13": "java-21-openjdk"}


def test_jvm_is_the_platforms_jdk(host):
    """The unit names the platform's JDK, and that is the binary the service runs."""
    release = host.file("/etc/debian_version").content_string.split(".")[0]
    pid = host.check_output("systemctl show -p MainPID --value zookeeper")
    exe = host.check_output("readlink -f /proc/%s/exe", pid)
    assert exe.startswith(f"/usr/lib/jvm/{JDK[release]}-") and exe.endswith("/bin/java")
    assert f"ExecStart=/usr/lib/jvm/{JDK[release]}-" in \
        host.file("/etc/systemd/system/zookeeper.service").content_string


def test_znode_written_on_one_member_is_read_on_another(cluster):
    first, *_, last = sorted(cluster.nodes)
    eventually(lambda: mode(cluster.nodes[first].ip), timeout=ELECTION, what="ensemble")
    path = f"/harness-spec/{uuid.uuid4().hex}"
    writer = KazooClient(hosts=f"{cluster.nodes[first].ip}:{CLIENT_PORT}", timeout=10)
    reader = KazooClient(hosts=f"{cluster.nodes[last].ip}:{CLIENT_PORT}", timeout=10)
    writer.start(timeout=30)
    reader.start(timeout=30)
    try:
        writer.create(path, b"written on " + first.encode(), makepath=True)
        reader.sync(path)
        data, stat = reader.get(path)
        assert data == b"written on " + first.encode()
        assert stat.version == 0
    finally:
        try:
            writer.delete("/harness-spec", recursive=True)
        finally:
            for client in (writer, reader):
                client.stop()
                client.close()

"""Molecule verify (testinfra): what role_specs/test_zookeeper.py and its base checks assert.

Run by Molecule's testinfra verifier once per instance (`host`); the ensemble-wide checks
take no `host` and run once, over the network from this process like our spec does.
Members restart with the full ensemble at the end of the converge, so ZooKeeper answers are
awaited (tenacity) for up to ELECTION seconds, as the spec's `eventually` does.
"""
from __future__ import annotations

import json
import os
import socket
import uuid
from pathlib import Path

import testinfra
from kazoo.client import KazooClient
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed
from testinfra.utils.ansible_runner import AnsibleRunner

CLIENT_PORT = 2181
ELECTION = 90
REPO = Path(__file__).resolve().parents[5]
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
NAMES = sorted(AnsibleRunner(INVENTORY).get_hosts("zookeeper"))
JDK = {"12": "java-17-openjdk", "13": "java-21-openjdk"}
ALLOWED_PORTS = {22, 2181, 2888, 3888}
eventually = retry(stop=stop_after_delay(ELECTION), wait=wait_fixed(1), reraise=True,
                   retry=retry_if_exception_type((AssertionError, OSError)))


def ip_of(host) -> str:
    return host.interface("eth0", "inet").addresses[0]


def members() -> dict[str, str]:
    """{instance name: address} of the ensemble."""
    return {name: ip_of(testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}"))
            for name in NAMES}


def tcp_command(ip: str, command: bytes) -> str:
    with socket.create_connection((ip, CLIENT_PORT), timeout=5) as sock:
        sock.sendall(command)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    return b"".join(chunks).decode("utf-8", "replace")


def mode(ip: str) -> str:
    for line in tcp_command(ip, b"stat").splitlines():
        if line.startswith("Mode:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no Mode in the stat answer of {ip}")


# --- the zookeeper spec -------------------------------------------------------------------
def test_ruok_answers_imok(host):
    @eventually
    def ruok() -> None:
        assert tcp_command(ip_of(host), b"ruok") == "imok"
    ruok()


def test_one_leader_two_followers():
    ips = members()

    @eventually
    def ensemble() -> None:
        modes = sorted(mode(ip) for ip in ips.values())
        assert modes == ["follower", "follower", "leader"], modes
    ensemble()


def test_only_allowlisted_four_letter_words(host):
    ip = ip_of(host)
    eventually(mode)(ip)
    assert "zk_server_state" in tcp_command(ip, b"mntr")
    assert "Mode:" in tcp_command(ip, b"srvr")
    assert "is not executed because it is not in the whitelist" in tcp_command(ip, b"conf")


def test_members_and_myid(host):
    ips = members()
    expected = {f"server.{i}={ips[n]}:2888:3888" for i, n in enumerate(NAMES, 1)}
    zoo_cfg = host.file("/etc/zookeeper/conf/zoo.cfg").content_string.splitlines()
    assert {line for line in zoo_cfg if line.startswith("server.")} == expected
    assert "4lw.commands.whitelist=stat,ruok,mntr,srvr" in zoo_cfg
    assert "dataDir=/var/lib/zookeeper" in zoo_cfg
    assert host.file("/etc/zookeeper/conf").linked_to == "/etc/zookeeper/conf_managed"
    name = host.check_output("hostname")
    assert host.file("/var/lib/zookeeper/myid").content_string.strip() == \
        str(NAMES.index(name) + 1)


def test_service_runs_from_the_native_unit(host):
    service = host.service("zookeeper")
    assert service.is_running and service.is_enabled
    show = dict(line.split("=", 1) for line in host.check_output(
        "systemctl show -p FragmentPath -p User -p MainPID zookeeper").splitlines())
    assert show["FragmentPath"] == "/etc/systemd/system/zookeeper.service"
    assert show["User"] == "zookeeper"
    assert host.check_output("ps -o user= -p %s", show["MainPID"]) == "zookeeper"
    assert host.file("/etc/systemd/system/multi-user.target.wants/zookeeper.service").is_symlink


def test_jvm_is_the_platforms_jdk(host):
    release = host.file("/etc/debian_version").content_string.split(".")[0]
    pid = host.check_output("systemctl show -p MainPID --value zookeeper")
    exe = host.check_output("readlink -f /proc/%s/exe", pid)
    assert exe.startswith(f"/usr/lib/jvm/{JDK[release]}-") and exe.endswith("/bin/java")


def test_znode_written_on_one_member_is_read_on_another():
    ips = members()
    first, last = NAMES[0], NAMES[-1]
    eventually(mode)(ips[first])
    path = f"/molecule-spec/{uuid.uuid4().hex}"
    writer = KazooClient(hosts=f"{ips[first]}:{CLIENT_PORT}", timeout=10)
    reader = KazooClient(hosts=f"{ips[last]}:{CLIENT_PORT}", timeout=10)
    writer.start(timeout=30)
    reader.start(timeout=30)
    try:
        writer.create(path, first.encode(), makepath=True)
        reader.sync(path)
        data, stat = reader.get(path)
        assert data == first.encode() and stat.version == 0
    finally:
        writer.delete("/molecule-spec", recursive=True)
        for client in (writer, reader):
            client.stop()
            client.close()


# --- the base checks ----------------------------------------------------------------------
def test_base_no_failed_units(host):
    assert host.check_output("systemctl list-units --state=failed --plain --no-legend") == ""


def test_base_ops_user(host):
    ops = json.loads((REPO / "data_bags" / "users" / "ops.json").read_text())
    user = host.user("ops")
    assert user.exists and user.uid == ops["uid"] and user.gid == ops["gid"]
    assert user.shell == ops["shell"] and "sudo" in user.groups
    keys = host.file("/home/ops/.ssh/authorized_keys")
    assert keys.user == "ops" and keys.mode == 0o600
    assert keys.content_string.split("\n")[:-1] == [k.strip() for k in ops["ssh_keys"]]
    assert host.file("/home/ops/.ssh").mode == 0o700
    assert host.check_output("runuser -u ops -- sudo -n id -u") == "0"


def test_base_sshd_hardened(host):
    effective = dict(line.split(" ", 1) for line in
                     host.check_output("/usr/sbin/sshd -T").splitlines() if " " in line)
    assert effective["permitrootlogin"] == "no"
    assert effective["passwordauthentication"] == "no"
    assert effective["kbdinteractiveauthentication"] == "no"
    assert effective["pubkeyauthentication"] == "yes"
    assert host.service("ssh").is_running and host.service("ssh").is_enabled


def test_base_sysctl_dropin(host):
    conf = host.file("/etc/sysctl.d/60-base.conf")
    assert conf.mode == 0o644
    assert "net.ipv4.tcp_syncookies = 1" in conf.content_string.splitlines()
    assert host.run("/usr/lib/systemd/systemd-sysctl /etc/sysctl.d/60-base.conf").rc == 0


def test_base_motd_names_roles_and_environment(host):
    motd = host.file("/etc/motd").content_string
    assert host.check_output("hostname") in motd
    assert "zookeeper" in motd and "base" in motd
    assert "environment: production" in motd


def test_base_only_expected_ports_listen(host):
    """Non-loopback TCP/UDP listeners (Docker's DNS listens on 127.0.0.11)."""
    ports = set()
    for line in host.check_output("ss -H -l -n -t -u").splitlines():
        addr, _, port = line.split()[4].rpartition(":")
        if not addr.strip("[]").startswith(("127.", "::1")):
            ports.add(int(port))
    assert ports <= ALLOWED_PORTS, sorted(ports - ALLOWED_PORTS)
    assert {22, 2181} <= ports

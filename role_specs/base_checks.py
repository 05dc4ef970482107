"""Checks of the `base` role, run on every node of every cluster.

Every role's run list starts with role[base], so every spec module imports these:

    from role_specs.base_checks import *  # noqa: F401,F403  (base checks on every node)

pytest collects the imported test functions as the module's own, so they run under the
module's cluster marker, once per node (they ask for `host`/`node`). `__all__` exports only
the tests, so the import never shadows a spec's own names.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from harness.waits import eventually
from role_specs.support import FIXTURES, data_bag_item, expected_ports, listening_ports, read_banner

__all__ = [
    "test_base_last_converge_changed_nothing",
    "test_base_no_failed_units",
    "test_base_ops_user",
    "test_base_ops_sudo_without_password",
    "test_base_sshd_hardened",
    "test_base_ssh_answers",
    "test_base_ssh_key_login_and_no_root",
    "test_base_sysctl_dropin",
    "test_base_motd_names_roles_and_environment",
    "test_base_only_expected_ports_listen",
]


def test_base_last_converge_changed_nothing(report):
    """The harness's idempotence pass: the node's last converge succeeded and changed nothing."""
    assert report["status"] == "success", report.get("failure")
    assert report["changed"] == []


def test_base_no_failed_units(host):
    failed = host.check_output("systemctl list-units --state=failed --plain --no-legend")
    assert failed.strip() == ""


def test_base_ops_user(host):
    ops = data_bag_item("users", "ops")
    user = host.user("ops")
    assert user.exists
    assert user.uid == ops["uid"] and user.gid == ops["gid"]
    assert user.shell == ops["shell"]
    assert "sudo" in user.groups
    keys = host.file("/home/ops/.ssh/authorized_keys")
    assert keys.user == "ops" and keys.mode == 0o600
    assert keys.content_string.split("\n")[:-1] == [k.strip() for k in ops["ssh_keys"]]
    assert host.file("/home/ops/.ssh").mode == 0o700


def test_base_ops_sudo_without_password(host):
    # -n: fail rather than prompt; ops has no password (key-only logins).
    assert host.check_output("runuser -u ops -- sudo -n id -u") == "0"


def test_base_sshd_hardened(host):
    effective = dict(line.split(" ", 1) for line in
                     host.check_output("/usr/sbin/sshd -T").splitlines() if " " in line)
    assert effective["permitrootlogin"] == "no"
    assert effective["passwordauthentication"] == "no"
    assert effective["kbdinteractiveauthentication"] == "no"
    assert effective["pubkeyauthentication"] == "yes"
    assert host.file("/etc/ssh/sshd_config.d/50-base.conf").mode == 0o644
    assert host.service("ssh").is_running
    assert host.service("ssh").is_enabled


def test_base_ssh_answers(node):
    banner = eventually(lambda: read_banner(node.ip, 22), timeout=30, what="ssh banner")
    assert banner.startswith("SSH-2.0-OpenSSH_"), banner


def _ssh(node, user: str, *args: str, key: Path | None = None) -> subprocess.CompletedProcess:
    cmd = ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
           "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"]
    if key is not None:
        cmd += ["-o", "IdentitiesOnly=yes", "-i", str(key)]
    return subprocess.run([*cmd, *args, f"{user}@{node.ip}", "id -un"], capture_output=True,
                          text=True, timeout=30)


def test_base_ssh_key_login_and_no_root(node, tmp_path):
    """With a real ssh client: the ops key logs in; root and passwords are refused."""
    if shutil.which("ssh") is None:
        pytest.skip("no ssh client on this machine (apt-get install openssh-client); "
                    "sshd settings are still checked by test_base_sshd_hardened")
    key = tmp_path / "ops_ed25519"
    key.write_bytes((FIXTURES / "ops_ed25519").read_bytes())
    key.chmod(0o600)
    ok = _ssh(node, "ops", key=key)
    assert ok.returncode == 0 and ok.stdout.strip() == "ops", ok.stderr
    root = _ssh(node, "root", key=key)
    assert root.returncode == 255 and "Permission denied" in root.stderr
    # Ask for password authentication only: the server must not offer it.
    pw = _ssh(node, "ops", "-o", "PreferredAuthentications=password,keyboard-interactive",
              "-o", "PubkeyAuthentication=no")
    assert pw.returncode == 255 and "Permission denied (publickey)" in pw.stderr, pw.stderr


def test_base_sysctl_dropin(host):
    """The settings are in /etc/sysctl.d for real hosts; in a container /proc/sys is
    read-only and systemd-sysctl skips them without failing (no failed units, above)."""
    conf = host.file("/etc/sysctl.d/60-base.conf")
    assert conf.mode == 0o644
    lines = set(conf.content_string.splitlines())
    assert "net.ipv4.tcp_syncookies = 1" in lines
    assert "kernel.kptr_restrict = 2" in lines
    assert host.run("/usr/lib/systemd/systemd-sysctl /etc/sysctl.d/60-base.conf").rc == 0


def test_base_motd_names_roles_and_environment(host, node, policy):
    motd = host.file("/etc/motd").content_string
    assert node.name in motd
    for role in policy["roles"]:
        assert role in motd
    assert f"environment: {policy['chef_environment']}" in motd


def test_base_only_expected_ports_listen(host, policy):
    ports = listening_ports(host)
    allowed = expected_ports(policy["roles"])
    unexpected = {port: socks for port, socks in ports.items() if port not in allowed}
    assert not unexpected, f"unexpected listeners (allowed: {sorted(allowed)}): {unexpected}"
    assert 22 in ports

"""Nodes that keep /usr and /var in RAM, in a real container: overlays, systemd, nothing on disk."""
from __future__ import annotations

import pytest

from harness.errors import NodeError
from harness.nodes import bootstrap as nb
from harness.nodes.bootstrap import Node
from harness.nodes.ramdisk import RAM_DIRS, RAM_MOUNT
from tests.integration.nodes_support import bare_session

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def nodes(engine, base_image):
    """Two booted nodes on one labelled network: one with RAM dirs, one on its disk layer."""
    with bare_session(engine, "it-ramdisk") as session:
        ram, disk = session.node(base_image, "ram-1", RAM_DIRS), session.node(base_image, "disk-1")
        for node in (ram, disk):
            assert nb.wait_systemd(engine, node) == ("running", [])
        yield engine, ram, disk


def sh(engine, node: Node, cmd: str) -> str:
    rc, out = engine.exec(node.container, ["sh", "-c", cmd])
    assert rc == 0, out
    return out.strip()


def test_usr_and_var_are_overlays_in_ram_below_the_image_init(nodes):
    engine, ram, _ = nodes
    for path in RAM_DIRS:
        assert sh(engine, ram, f"findmnt -n -o FSTYPE,OPTIONS {path}").startswith(
            f"overlay rw,relatime,lowerdir={path},upperdir={RAM_MOUNT}{path}/upper,")
    assert sh(engine, ram, f"findmnt -n -o FSTYPE {RAM_MOUNT}") == "tmpfs"
    assert sh(engine, ram, "readlink /proc/1/exe") == "/usr/lib/systemd/systemd"
    assert "overlay failed" not in engine.logs(ram.container)


def test_what_a_node_writes_there_is_in_ram_not_in_its_disk_layer(nodes):
    engine, ram, disk = nodes
    for node in (ram, disk):
        sh(engine, node, "mkdir -p /var/lib/probe && echo hello > /var/lib/probe/file "
                         "&& echo hi > /root/probe")
    assert sh(engine, ram, f"cat {RAM_MOUNT}/var/upper/lib/probe/file") == "hello"
    changed = {c["Path"] for c in engine.api.diff(ram.container)}
    assert "/root/probe" in changed and "/var/lib/probe/file" not in changed
    assert "/var/lib/probe/file" in {c["Path"] for c in engine.api.diff(disk.container)}
    rc, _ = engine.exec(disk.container, ["findmnt", "-n", "/usr"])
    assert rc == 1  # not a mount point: --node-disk disk is the container's layer as before


def test_setuid_binaries_installed_there_keep_working(nodes):
    """The tmpfs below is nosuid (the engine's default); the overlay on top decides."""
    engine, ram, _ = nodes
    assert "nosuid" in sh(engine, ram, f"findmnt -n -o OPTIONS {RAM_MOUNT}")
    sh(engine, ram, "cp /usr/bin/id /usr/local/bin/suid-id && chmod 4755 /usr/local/bin/suid-id")
    assert sh(engine, ram, "su -s /bin/sh nobody -c '/usr/local/bin/suid-id -u'") == "0"


def test_archive_copies_below_a_ram_dir_are_refused_elsewhere_kept(nodes):
    engine, ram, _ = nodes
    with pytest.raises(NodeError, match=f"cannot copy /var/lib/x into {ram.container}: /var is "
                                        "kept in RAM there"):
        engine.put_file(ram.container, "/var/lib/x", b"x")
    engine.put_file(ram.container, "/etc/harness/probe", b"copied\n", 0o600)
    assert sh(engine, ram, "cat /etc/harness/probe; stat -c %a /etc/harness/probe") == "copied\n600"

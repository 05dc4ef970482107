"""The package list of the example roles' policies, and the images a cluster's nodes get.

The real agent's why-run runs in-process against an in-process config server restored from
this repo (as in tests/unit/test_roles_compile.py); only the container engine is the fake.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.client import Client
from harness.errors import ServerError
from harness.nodes.bootstrap import Node
from harness.nodes.configserver import ServerUp
from harness.nodes.fake import FakeBackend
from harness.nodes.layerplan import OS_RELEASE, node_images, platform_facts, policy_plan
from harness.nodes.layers import package_list
from harness.repo import repo_backup
from harness.restore import restore
from harness.server.serve import ConfigServer

REPO = Path(__file__).resolve().parents[2]
SECRET = (REPO / ".chef" / "encrypted_data_bag_secret").read_bytes()
BASE = "harness/base:test"
BASE_PACKAGES = ["less", "openssh-server", "procps", "sudo"]
TRIXIE = b'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nID=debian\nVERSION_ID="13"\n'


@pytest.fixture(scope="module")
def up() -> Iterator[ServerUp]:
    with ConfigServer(host="127.0.0.1", port=0, agent_pyz=b"not used by why-run") as srv:
        client = Client(srv.url, srv.admin_token)
        restore(client, REPO, from_backup=repo_backup(REPO))
        yield ServerUp(srv, client, "validator-token")


def packages(up: ServerUp, role: str) -> list[str]:
    plan = policy_plan(up, Node(f"{role}-1", role, "c"), "production", {}, SECRET)
    return package_list(plan)


@pytest.mark.parametrize("role, own", [("zookeeper", ["zookeeperd"]),
                                       ("memcached", ["memcached"]),
                                       ("loadbalancer", ["haproxy"]), ("app", ["python3"])])
def test_a_roles_packages_are_the_bases_and_its_own(up, role, own):
    assert packages(up, role) == sorted(BASE_PACKAGES + own)


def test_postfix_is_preseeded_so_it_installs_during_the_converge(up):
    """cookbooks/postfix preseeds debconf before `package("postfix")`: a layer built without
    the answers would install a differently configured postfix, so it stays out."""
    assert packages(up, "mail") == BASE_PACKAGES


def test_the_why_run_node_is_gone_afterwards_so_the_bootstrap_registers_it(up):
    packages(up, "zookeeper")
    with pytest.raises(ServerError) as err:
        up.client.get("/nodes/zookeeper-1")
    assert err.value.status == 404


def test_platform_facts_come_from_the_images_os_release():
    assert platform_facts(TRIXIE) == {"platform": "debian", "platform_version": "13",
                                      "platform_family": "debian"}
    assert platform_facts(b"") == {}


def test_node_images_one_layer_per_role_shared_by_its_nodes(up, tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # file locks of this test only
    backend = FakeBackend()
    backend.images.add(BASE)
    backend.files_in_images[BASE] = {OS_RELEASE: TRIXIE}
    nodes = {n: Node(n, n.rsplit("-", 1)[0], f"h-{n}")
             for n in ("zookeeper-1", "zookeeper-2", "mail-1")}
    lines: list[str] = []
    images = node_images(backend, BASE, up, nodes, "production", SECRET, lines.append)
    assert images["zookeeper-1"] == images["zookeeper-2"] != images["mail-1"] != BASE
    assert len(backend.builds) == 2
    assert backend.image_labels[images["zookeeper-1"]]["harness.layer.packages"] == \
        " ".join(sorted(BASE_PACKAGES + ["zookeeperd"]))
    assert any(line.startswith("package layer: role zookeeper: harness/layer:") for line in lines)


def test_a_failing_why_run_leaves_the_role_on_the_base_image(up, tmp_path, monkeypatch):
    backend = FakeBackend()
    backend.images.add(BASE)
    lines: list[str] = []
    images = node_images(backend, BASE, up, {"ghost-1": Node("ghost-1", "ghost", "h")},
                         "production", SECRET, lines.append)
    assert images == {"ghost-1": BASE} and backend.builds == []
    assert lines[0].startswith("package layer: role ghost: why-run failed (")

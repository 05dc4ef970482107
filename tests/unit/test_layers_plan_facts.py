"""The package layer's why-run sees the facts a node of the image reports, not this machine's.

The why-run runs on the host, in-process (layerplan.py). Where a node's facts differ from the
host's, a recipe that picks packages by them would put the host's choice into the layer, and
the node would boot with packages its own converge never installs. Ohai reports `lsb` only
when lsb_release exists (chef/ohai lib/ohai/plugins/linux/lsb.rb: `if file_exist?
("/usr/bin/lsb_release")`) and `virtualization` from the container it runs in
(lib/ohai/plugins/linux/virtualization.rb: `/.dockerenv` -> docker guest).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.agent import ohai
from harness.client import Client
from harness.nodes.bootstrap import Node
from harness.nodes.configserver import ServerUp
from harness.nodes.fake import FakeBackend
from harness.nodes.layerplan import LSB_RELEASE, OS_RELEASE, node_facts, policy_plan
from harness.nodes.layers import package_list
from harness.restore import restore
from harness.server.serve import ConfigServer

BASE = "harness/base:test"
TRIXIE = b'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nID=debian\nVERSION_ID="13"\n'
LSB_OUT = ("Distributor ID:\tDebian\nDescription:\tDebian GNU/Linux 13 (trixie)\n"
           "Release:\t13\nCodename:\ttrixie\n")
RECIPE = '''
virt = node["virtualization"]
package("in-docker" if virt.get("systems", {}).get("docker") == "guest" else "not-in-docker")
package("lsb-" + (node["lsb"].get("codename") or "none"))
package("host-docker" if virt.get("systems", {}).get("docker") == "host" else "no-host-docker")
package("on-" + node["platform_version"])
'''


def probe_repo(root: Path) -> Path:
    (root / "roles").mkdir(parents=True)
    (root / "roles/probe.json").write_text(json.dumps({"name": "probe",
                                                       "run_list": ["recipe[probe]"]}))
    book = root / "site-cookbooks/probe"
    (book / "recipes").mkdir(parents=True)
    (book / "metadata.yaml").write_text("name: probe\nversion: 1.0.0\n")
    (book / "recipes/default.py").write_text(RECIPE)
    return root


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerUp]:
    repo = probe_repo(tmp_path_factory.mktemp("repo"))
    with ConfigServer(host="127.0.0.1", port=0, agent_pyz=b"not used by why-run") as srv:
        client = Client(srv.url, srv.admin_token)
        restore(client, repo)
        yield ServerUp(srv, client, "validator-token")


def backend_with(files: dict[str, bytes], lsb_out: str | None = None) -> FakeBackend:
    backend = FakeBackend()
    backend.images.add(BASE)
    backend.files_in_images[BASE] = files
    if lsb_out is not None:
        backend.output_in_images[(BASE, "lsb_release -a")] = lsb_out
    return backend


def test_an_image_without_lsb_release_gives_no_lsb_and_runs_nothing():
    backend = backend_with({OS_RELEASE: TRIXIE})
    facts = node_facts(backend, BASE)
    assert facts["lsb"] == {} and backend.image_runs == []
    assert facts["virtualization"] == {"system": "docker", "role": "guest",
                                       "systems": {"docker": "guest"}}
    assert facts["platform_version"] == "13"


def test_an_image_with_lsb_release_gets_its_own_output_read_as_ohai_reads_it():
    backend = backend_with({OS_RELEASE: TRIXIE, LSB_RELEASE: b"#!/bin/sh\n"}, LSB_OUT)
    facts = node_facts(backend, BASE)
    assert backend.image_runs == [(BASE, ["lsb_release", "-a"])]
    assert facts["lsb"] == ohai.parse_lsb(LSB_OUT) == {
        "id": "Debian", "description": "Debian GNU/Linux 13 (trixie)", "release": "13",
        "codename": "trixie"}


def test_the_layer_gets_the_nodes_packages_not_this_machines(up):
    """This machine may have lsb_release and a docker command (an Ohai docker host); a node of
    the image has neither and runs under Docker: the why-run must choose as the node will."""
    facts = node_facts(backend_with({OS_RELEASE: TRIXIE}), BASE)
    plan = policy_plan(up, Node("probe-1", "probe", "c"), "_default", facts, None)
    assert package_list(plan) == ["in-docker", "lsb-none", "no-host-docker", "on-13"]

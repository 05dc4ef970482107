"""Etsy's allowlist pattern: a new code path in the app cookbook reaches only the hosts an
allowlist names.

`data_bags/allowlist/new_greeting.json` (written by `harness allowlist add new_greeting
app-2`) has the pattern `app-2`. Inside a node the agent's fqdn is its hostname, the node
name (no domain). The app recipe renders a greeting into the service's config only when
`node.in_allowlist("new_greeting")`, so of two production app nodes only app-2 answers with
a "greeting" over HTTP. Then the ramp-up widens: `harness allowlist add new_greeting app-1`
(on a copy of the item), the edited item uploaded, app-1 converged: now it greets too; the
original item is put back and app-1 converged again, and it stops.

The tests run in file order; the last one puts the cluster back as it found it.
"""
from __future__ import annotations

import json
import shutil

import pytest

from harness.rollout.allowlist import add_pattern, in_allowlist
from harness.waits import eventually
from role_specs.base_checks import *  # noqa: F401,F403  (base checks on every node)
from role_specs.support import REPO, http_json

pytestmark = pytest.mark.cluster(app=2, env="production")

PORT = 8080
BAG, ITEM = "allowlist", "new_greeting"
ITEM_PATH = f"/data/{BAG}/{ITEM}"
CONFIG = "/etc/app/app.conf"


def repo_item() -> dict:
    return json.loads((REPO / "data_bags" / BAG / f"{ITEM}.json").read_text())


def answers(cluster) -> dict[str, dict]:
    """{node name: JSON answer of GET /} for every app node, over the network."""
    return {name: eventually(lambda ip=node.ip: http_json(ip, PORT), timeout=30,
                             what=f"app on {node.ip}:{PORT}")
            for name, node in sorted(cluster.nodes.items())}


def old_answer(name: str) -> dict:
    return {"node": name, "environment": "production", "release": "1.0.0"}


def greeting(cluster, name: str) -> str:
    """The greeting the node's compiled policy carries (the app cookbook's attribute)."""
    text = cluster.client.get(f"/nodes/{name}/policy")["attributes"]["app"]["greeting"]
    assert text
    return text


def test_the_item_on_the_server_is_the_repo_file(cluster):
    stored = cluster.client.get(ITEM_PATH)
    assert stored["patterns"] == repo_item()["patterns"] == ["app-2"]


def test_the_pattern_matches_the_fqdn_each_agent_saw(cluster):
    """The pattern is written against what the agent reports (automatic fqdn), not a guess."""
    fqdns = {name: cluster.client.get(f"/nodes/{name}")["automatic"]["fqdn"]
             for name in sorted(cluster.nodes)}
    assert fqdns == {"app-1": "app-1", "app-2": "app-2"}
    item = cluster.client.get(ITEM_PATH)
    assert {name: in_allowlist(item, fqdn) for name, fqdn in fqdns.items()} == \
        {"app-1": False, "app-2": True}


def test_only_the_allowlisted_node_answers_with_the_greeting(cluster):
    assert answers(cluster) == {
        "app-1": old_answer("app-1"),
        "app-2": {**old_answer("app-2"), "greeting": greeting(cluster, "app-2")},
    }


def test_only_the_allowlisted_node_has_the_greeting_configured(hosts):
    has_line = {name: any(line.startswith("greeting = ")
                          for line in host.file(CONFIG).content_string.splitlines())
                for name, host in hosts.items()}
    assert has_line == {"app-1": False, "app-2": True}


def test_widening_the_allowlist_reaches_the_next_node(cluster, tmp_path):
    # The ramp-up's next step, as an operator does it: the command edits the item in the
    # repo (here a copy), the edited item is uploaded, the node's next converge picks it up.
    (tmp_path / "data_bags").mkdir()
    shutil.copytree(REPO / "data_bags" / BAG, tmp_path / "data_bags" / BAG)
    assert "added app-1" in add_pattern(tmp_path, ITEM, "app-1")
    widened = json.loads((tmp_path / "data_bags" / BAG / f"{ITEM}.json").read_text())
    assert widened["patterns"] == ["app-2", "app-1"]
    original = cluster.client.get(ITEM_PATH)

    cluster.client.put(ITEM_PATH, widened)
    try:
        report = cluster.converge("app-1")
        assert report["status"] == "success", report["failure"]
        # Only the config changed (the code is the same version): config + restart.
        assert set(report["changed"]) == {f"template[{CONFIG}]", "service[app]"}, \
            report["changed"]
        assert answers(cluster) == {
            "app-1": {**old_answer("app-1"), "greeting": greeting(cluster, "app-1")},
            "app-2": {**old_answer("app-2"), "greeting": greeting(cluster, "app-2")},
        }
    finally:
        cluster.client.put(ITEM_PATH, original)
        report = cluster.converge("app-1")
    assert set(report["changed"]) == {f"template[{CONFIG}]", "service[app]"}
    assert answers(cluster)["app-1"] == old_answer("app-1")

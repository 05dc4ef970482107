"""End to end on real Docker: boot, production bootstrap, converge passes, idempotence, down."""
from __future__ import annotations

import time
import urllib.request

import pytest

from harness.errors import ConvergeError
from harness.nodes.cluster import Cluster
from harness.nodes.passes import settle
from harness.nodes.spec import ClusterSpec
from harness.waits import eventually, wait_for_port
from tests.integration.nodes_support import NODE_REPO, leftovers

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def web(engine, base_image):
    lines: list[str] = []
    cluster = Cluster("it-web", ClusterSpec({"web": 2}), repo_dir=NODE_REPO, backend=engine,
                      image=base_image, progress=lambda line: (lines.append(line), print(line)))
    started = time.monotonic()
    cluster.up()
    cluster.up_seconds = time.monotonic() - started
    cluster.lines = lines
    yield cluster
    cluster.down()
    assert leftovers(engine, cluster.session) == []
    assert cluster._reaper.poll() is not None  # the watchdog exits with a normal down()


def test_nodes_boot_systemd_with_their_names(web):
    for name, node in web.nodes.items():
        rc, out = web.exec(name, ["systemctl", "is-system-running"])
        assert out.strip() in ("running", "degraded"), out
        assert web.exec(name, "hostname")[1].strip() == name
        assert node.container == f"h-{web.id}-{name}" and node.ip


def test_bootstrap_registered_and_removed_the_validator_token(web):
    for name in web.nodes:
        rc, _ = web.exec(name, "test ! -e /etc/harness/validator.token && test -s /etc/harness/client.token")
        assert rc == 0
        assert web.client.get(f"/nodes/{name}")["run_list"] == ["role[web]"]


def test_service_answers_on_its_port_from_the_host(web):
    for node in web.nodes.values():
        wait_for_port(node.ip, 8080, timeout=10)
        body = urllib.request.urlopen(f"http://{node.ip}:8080/", timeout=5).read().decode()
        assert "hello from the web role" in body and node.name in body


def test_search_settled_every_node_sees_every_peer(web):
    def peers() -> dict[str, list[str]]:
        return {name: web.exec(name, "cat /srv/webapp/peers.txt")[1].split()
                for name in web.nodes}

    def settle_now() -> int:
        return settle(list(web.nodes), lambda n: web.reports[n][-1], web.client.search,
                      web.converge_all, web.progress)

    # A node is saved at the end of a successful converge (as chef-client), so the
    # bootstrap's compile-time search sees a peer only if the peer's first run already
    # ended; after the settle passes every node sees every peer.
    assert peers() == {"web-1": ["web-1", "web-2"], "web-2": ["web-1", "web-2"]}
    # A peer that appears later makes every node's search stale: one more pass, real agents.
    web.client.put("/nodes/web-9", {"name": "web-9", "chef_environment": "_default",
                                    "run_list": ["role[web]"], "automatic": {"roles": ["web"]},
                                    "normal": {}, "default": {}, "override": {}})
    try:
        assert settle_now() == 1
        assert peers() == {"web-1": ["web-1", "web-2", "web-9"],
                           "web-2": ["web-1", "web-2", "web-9"]}
        assert any("converge pass 2 (search results changed on web-1, web-2)" in line
                   for line in web.lines)
    finally:
        web.client.delete("/nodes/web-9")
        assert settle_now() == 1 and peers()["web-1"] == ["web-1", "web-2"]


def test_second_converge_changes_nothing(web):
    report = web.converge("web-1")
    assert report["status"] == "success" and report["changed"] == []


def test_template_change_notifies_a_service_restart(web):
    def main_pid() -> str:
        return web.exec("web-2", "systemctl show -p MainPID --value webapp")[1].strip()

    before = main_pid()
    web.exec("web-2", "echo drift >> /etc/default/webapp")
    report = web.converge("web-2")
    assert "template[/etc/default/webapp]" in report["changed"]
    assert "service[webapp]" in report["changed"]
    def restarted() -> str:
        pid = main_pid()
        assert pid not in ("0", "", before), f"webapp MainPID still {pid}"
        return pid

    eventually(restarted, timeout=10)
    wait_for_port(web.nodes["web-2"].ip, 8080, timeout=10)


def test_testinfra_host_sees_the_node(web):
    host = web.host("web-1")
    assert host.package("netcat-openbsd").is_installed
    assert host.service("webapp").is_running and host.service("webapp").is_enabled
    assert host.file("/etc/default/webapp").contains("PORT=8080")


def test_timings_and_overhead(web):
    for name, phases in web.timings.items():
        assert {"container", "systemd", "bootstrap", "idempotence"} <= set(phases), phases
        print(name, {k: round(v, 2) for k, v in phases.items()})
    print("cluster", {k: round(v, 2) for k, v in web.cluster_timings.items()})
    assert web.timings["web-1"]["systemd"] < 10


def test_diagnostics_show_failed_units_and_converge_log(web):
    web.exec("web-1", "systemd-run --unit=doomed --property=Type=oneshot /bin/false")
    text = web.diagnostics("web-1")
    assert "systemctl --failed" in text and "doomed.service" in text
    assert "journalctl -u doomed.service" in text
    web.exec("web-1", "systemctl reset-failed doomed.service")


def test_broken_role_fails_naming_the_resource_and_leaves_nothing(engine, base_image):
    cluster = Cluster("it-broken", ClusterSpec({"broken": 1}), repo_dir=NODE_REPO, backend=engine,
                      image=base_image, progress=print)
    with pytest.raises(ConvergeError) as info:
        cluster.up()
    err = info.value
    assert err.node == "broken-1"
    assert "execute[fail-on-purpose]" in str(err) and "\n" not in str(err)
    assert "about to fail" in err.log_tail
    assert leftovers(engine, cluster.session) == []


def test_bootstrap_again_on_a_registered_node_is_harmless(web):
    from harness.nodes import bootstrap as nb

    node = web.nodes["web-1"]
    cmd = nb.bootstrap_command(web.server.url, node, web.environment)
    output = nb.run_bootstrap(web.backend, node, cmd)
    assert "web-1 is already registered" in output and "web-1 is bootstrapped" in output
    assert web.client.get("/reports/nodes/web-1/runs")[-1]["changed"] == []

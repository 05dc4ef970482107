"""Role loadbalancer: haproxy in front of the app nodes it found by search.

Requests through the load balancer reach both app nodes; with one app node's service
stopped, every request still succeeds (answered by the other node).
"""
from __future__ import annotations

import pytest

from harness.waits import eventually
from role_specs.base_checks import *  # noqa: F401,F403  (base checks on every node)
from role_specs.support import http_get, http_json

pytestmark = pytest.mark.cluster(loadbalancer=1, app=2, env="staging")

LB_PORT = 80


@pytest.fixture(scope="module")
def lb_ip(cluster) -> str:
    return cluster.nodes["loadbalancer-1"].ip


def answered_by(lb_ip: str, requests: int) -> list[str]:
    return [http_json(lb_ip, LB_PORT)["node"] for _ in range(requests)]


def assert_both_answer(lb_ip: str) -> None:
    assert set(answered_by(lb_ip, 10)) == {"app-1", "app-2"}


def test_requests_reach_both_app_nodes(lb_ip):
    eventually(lambda: assert_both_answer(lb_ip), timeout=30, what="both app nodes behind haproxy")


def test_backends_are_the_app_nodes_found_by_search(cluster):
    config = cluster.host("loadbalancer-1").file("/etc/haproxy/haproxy.cfg").content_string
    servers = sorted(line.split()[1:3] for line in config.splitlines()
                     if line.strip().startswith("server "))
    assert servers == [[name, f"{cluster.nodes[name].ip}:8080"] for name in ("app-1", "app-2")]


def test_one_app_node_down_requests_still_succeed(cluster, lb_ip):
    eventually(lambda: answered_by(lb_ip, 2), timeout=30, what="load balancer")
    rc, out = cluster.exec("app-1", "systemctl stop app")
    assert rc == 0, out
    try:
        # No wait for the health check: a refused connection is redispatched (option redispatch).
        answers = [http_get(lb_ip, LB_PORT) for _ in range(20)]
        assert [status for status, _, _ in answers] == [200] * 20
        assert all('"node": "app-2"' in body for _, body, _ in answers)
    finally:
        rc, out = cluster.exec("app-1", "systemctl start app")
        assert rc == 0, out
    # Leave the cluster as we found it: app-1 back in rotation once its check passes.
    eventually(lambda: assert_both_answer(lb_ip), timeout=30, what="app-1 back behind haproxy")


def test_haproxy_running_with_a_valid_config(cluster):
    host = cluster.host("loadbalancer-1")
    assert host.service("haproxy").is_running and host.service("haproxy").is_enabled
    assert host.run("haproxy -c -q -f /etc/haproxy/haproxy.cfg").rc == 0

"""Role memcached: the pd-memcached wrapper's limits are what memcached reports.

`stats` over a plain socket from the test process shows the configured memory and
connection limits; pymemcache sets and gets a value on the node's address.
"""
from __future__ import annotations

import socket
import uuid

import pytest
from pymemcache.client.base import Client

from harness.waits import eventually
from role_specs.base_checks import *  # noqa: F401,F403  (base checks on every node)

pytestmark = pytest.mark.cluster(memcached=1, env="production")

PORT = 11211


def stats(ip: str) -> dict[str, str]:
    """memcached's text protocol `stats`, read until END."""
    with socket.create_connection((ip, PORT), timeout=5) as sock:
        sock.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {data!r}"
            data += chunk
    out = {}
    for line in data.decode().splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[0] == "STAT":
            out[parts[1]] = parts[2]
    return out


def test_stats_show_the_wrappers_limits(node, policy):
    settings = policy["attributes"]["memcached"]
    # pd-memcached's values, not the community cookbook's defaults (64 MiB, 1024).
    assert (settings["memory"], settings["max_connections"]) == (128, 2048)
    current = eventually(lambda: stats(node.ip), timeout=30, what="memcached stats")
    assert int(current["limit_maxbytes"]) == settings["memory"] * 1024 * 1024
    assert int(current["max_connections"]) == settings["max_connections"]
    assert int(current["threads"]) == settings["threads"]


def test_listens_on_the_node_address_only(host, node):
    listeners = host.check_output("ss -H -l -n -t -u sport = :%s", str(PORT)).splitlines()
    assert [line.split()[4] for line in listeners] == [f"{node.ip}:{PORT}"]  # TCP only, no UDP
    config = host.file("/etc/memcached.conf").content_string.splitlines()
    assert f"-l {node.ip}" in config


def test_set_and_get_with_pymemcache(node):
    client = Client((node.ip, PORT), connect_timeout=5, timeout=5)
    key, value = f"spec-{uuid.uuid4().hex}", uuid.uuid4().hex.encode()
    try:
        assert client.set(key, value, expire=60, noreply=False)
        assert client.get(key) == value
        assert client.delete(key, noreply=False)
        assert client.get(key) is None
    finally:
        client.close()


def test_service_enabled_and_running(host):
    service = host.service("memcached")
    assert service.is_running and service.is_enabled

"""Helpers the role specs share: plain clients over real sockets (no node-side tools).

Everything here talks to a node's address from the test process, the way a client of the
service would. Node-side inspection goes through testinfra (`host`) in the specs themselves.
"""
from __future__ import annotations

import http.client
import ipaddress
import json
import socket
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SECRET_FILE = REPO / ".chef" / "encrypted_data_bag_secret"

# Ports each role may listen on (beyond loopback); a node may listen on the union of its
# roles' ports and nothing else. Keep in sync with the cookbooks' attributes.
EXPECTED_PORTS: dict[str, set[int]] = {
    "base": {22},                    # sshd
    "zookeeper": {2181, 2888, 3888},  # client, followers->leader (leader only), election
    "memcached": {11211},
    "app": {8080},
    "loadbalancer": {80},
    "mail": {25},
}


def tcp_command(ip: str, port: int, command: bytes, timeout: float = 5.0) -> str:
    """Send one line-less command (ZooKeeper four-letter words) and read until the server
    closes the connection."""
    with socket.create_connection((ip, port), timeout=timeout) as sock:
        sock.sendall(command)
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks).decode("utf-8", "replace")


def read_banner(ip: str, port: int, timeout: float = 5.0) -> str:
    """The first line a server sends after connecting (SSH, SMTP)."""
    with socket.create_connection((ip, port), timeout=timeout) as sock:
        data = b""
        while b"\n" not in data:
            chunk = sock.recv(1024)
            if not chunk:
                break
            data += chunk
    return data.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")


def http_get(ip: str, port: int, path: str = "/", timeout: float = 5.0) -> tuple[int, str, dict]:
    """(status, body, headers) of one GET over a fresh connection."""
    conn = http.client.HTTPConnection(ip, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        resp = conn.getresponse()
        body = resp.read().decode("utf-8", "replace")
        return resp.status, body, {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def http_json(ip: str, port: int, path: str = "/", timeout: float = 5.0) -> dict:
    """GET that must answer 200 with a JSON body."""
    status, body, _ = http_get(ip, port, path, timeout)
    assert status == 200, f"GET http://{ip}:{port}{path} answered {status}: {body[:200]}"
    return json.loads(body)


def listening_ports(host) -> dict[int, set[str]]:
    """{port: {"tcp 0.0.0.0", ...}} of sockets listening on non-loopback addresses.

    Loopback is left out on purpose: Docker's embedded DNS listens on 127.0.0.11 inside every
    container, and loopback listeners are not reachable from other hosts anyway.
    """
    out = host.check_output("ss -H -l -n -t -u")
    ports: dict[int, set[str]] = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        proto, local = fields[0], fields[4]
        addr, _, port = local.rpartition(":")
        addr = addr.strip("[]").split("%", 1)[0]
        if addr not in ("*", ""):
            try:
                if ipaddress.ip_address(addr).is_loopback:
                    continue
            except ValueError:
                pass
        ports.setdefault(int(port), set()).add(f"{proto} {addr}")
    return ports


def expected_ports(roles: list[str]) -> set[int]:
    allowed: set[int] = set()
    for role in roles:
        allowed |= EXPECTED_PORTS.get(role, set())
    return allowed


def repo_secret() -> bytes:
    """The example repo's data bag secret (an example: see docs/example-infrastructure.md)."""
    return SECRET_FILE.read_bytes()


def data_bag_item(bag: str, item: str) -> dict:
    """A data bag item as the repo has it, decrypted when encrypted."""
    from harness.repo.encrypted import decrypt_item, is_encrypted

    doc = json.loads((REPO / "data_bags" / bag / f"{item}.json").read_text())
    return decrypt_item(doc, repo_secret()) if is_encrypted(doc) else doc

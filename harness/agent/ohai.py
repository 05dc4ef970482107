"""Ohai-lite: the automatic attributes (facts) a node reports about itself.

Nodes may lack iproute2, so the address falls back from `ip -j` to /proc/net/route + an
ioctl, then to the source address the kernel picks to reach the config server.
"""
from __future__ import annotations

import fcntl
import json
import os
import platform
import re
import shutil
import socket
import struct
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

SIOCGIFADDR = 0x8915


def collect(server_url: str | None = None, *, root: Path = Path("/")) -> dict[str, Any]:
    """Facts of this machine; `server_url` helps find the address when routes are odd."""
    fqdn = socket.getfqdn()
    hostname = socket.gethostname().split(".")[0]
    if "." not in fqdn or fqdn.startswith("localhost"):
        fqdn = socket.gethostname()
    os_release = read_os_release(root / "etc/os-release")
    uname = platform.uname()
    facts = {
        "hostname": hostname,
        "fqdn": fqdn,
        "domain": fqdn.split(".", 1)[1] if "." in fqdn else "",
        "ipaddress": ipaddress(server_url),
        "platform": os_release.get("ID", uname.system.lower()),
        "platform_version": platform_version(os_release, root),
        "platform_family": (os_release.get("ID_LIKE") or os_release.get("ID", "")).split()[0]
        if os_release else "",
        "os": uname.system.lower(),
        "kernel": {"name": uname.system, "release": uname.release, "machine": uname.machine},
        "cpu": {"total": os.cpu_count() or 1},
        "memory": memory(root / "proc/meminfo"),
        "virtualization": virtualization(root),
    }
    return facts


CGROUP_CONTAINER = (re.compile(r"^\d+:[^:]*:/(lxc|docker)/.+$", re.M),
                    re.compile(r"^\d+:[^:]*:/[^/]+/(lxc|docker)-?.+$", re.M))
CGROUP_CONTAINERD = re.compile(r"^\d+:[^:]*:/[^/]+/(containerd)-?.+$", re.M)


def virtualization(root: Path = Path("/")) -> dict[str, Any]:
    """The container part of Ohai's linux virtualization plugin (chef/ohai
    lib/ohai/plugins/linux/virtualization.rb), in its order: docker/podman hosts by their
    command, containers from /proc/self/cgroup or PID 1's environment, and /.dockerenv or
    /.dockerinit last ("regardless of what we found above"). Chef reads it: `docker?` is
    `virtualization.systems.docker == "guest"` (the file resource's atomic_update). The
    hypervisor part (DMI, cpuinfo, Xen, LXD...) is not done: nothing here reads it."""
    virt: dict[str, Any] = {"systems": {}}

    def found(system: str, role: str) -> None:
        virt.update(system=system, role=role)
        virt["systems"][system] = role

    for command in ("docker", "podman"):
        if root == Path("/") and shutil.which(command):
            found(command, "host")
    cgroup = _read(root / "proc/self/cgroup")
    if cgroup is not None:
        match = CGROUP_CONTAINER[0].search(cgroup) or CGROUP_CONTAINER[1].search(cgroup)
        environ = _read(root / "proc/1/environ") or ""
        if match:
            found(match.group(1), "guest")
        elif "container=lxc" in environ:
            found("lxc", "guest")
        elif "container=systemd-nspawn" in environ:
            found("nspawn", "guest")
        elif "container=podman" in environ:
            found("podman", "guest")
        elif CGROUP_CONTAINERD.search(cgroup):
            found("docker", "guest")
    if (root / ".dockerenv").exists() or (root / ".dockerinit").exists():
        found("docker", "guest")
    return virt


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def platform_version(os_release: dict[str, str], root: Path = Path("/")) -> str:
    """Debian's point release as Ohai reports it ("12.8", "13.2"), else VERSION_ID.

    Ohai's linux platform plugin reads /etc/debian_version for debian (`platform_version
    File.read("/etc/debian_version").chomp`): cookbooks key on the major, e.g.
    `node["platform_version"].to_i >= 13`, so both forms must agree on it.
    """
    if os_release.get("ID") == "debian":
        try:
            return (root / "etc/debian_version").read_text().strip()
        except OSError:
            pass
    return os_release.get("VERSION_ID", "")


def read_os_release(path: Path) -> dict[str, str]:
    """KEY=value pairs of /etc/os-release, unquoted."""
    try:
        text = path.read_text()
    except OSError:
        return {}
    pairs = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith("#"):
            pairs[key.strip()] = value.strip().strip("\"'")
    return pairs


def memory(path: Path) -> dict[str, Any]:
    """Total memory in Chef's shape ("NkB") plus a number that is easy to compute with."""
    try:
        for line in path.read_text().splitlines():
            if line.startswith("MemTotal:"):
                kb = int(line.split()[1])
                return {"total": f"{kb}kB", "total_kb": kb}
    except (OSError, ValueError, IndexError):
        pass
    return {}


def ipaddress(server_url: str | None = None) -> str:
    """IPv4 address of the interface holding the default route."""
    for finder in (_from_iproute, _from_proc_route):
        try:
            addr = finder()
        except (OSError, ValueError, KeyError, IndexError, subprocess.SubprocessError):
            addr = None
        if addr:
            return addr
    return _source_address(server_url) or "127.0.0.1"


def _from_iproute() -> str | None:
    if not shutil.which("ip"):
        return None
    routes = json.loads(_ip("route", "show", "default") or "[]")
    if not routes:
        return None
    addrs = json.loads(_ip("-4", "addr", "show", "dev", routes[0]["dev"]) or "[]")
    for link in addrs:
        for info in link.get("addr_info", []):
            if info.get("family") == "inet":
                local: str = info["local"]
                return local
    return None


def _ip(*args: str) -> str:
    return subprocess.run(["ip", "-j", *args], capture_output=True, text=True,
                          timeout=10, check=True).stdout


def _from_proc_route(path: str = "/proc/net/route") -> str | None:
    with open(path) as fh:
        next(fh)
        for line in fh:
            fields = line.split()
            if len(fields) > 2 and fields[1] == "00000000" and int(fields[3], 16) & 2:
                return interface_address(fields[0])
    return None


def interface_address(ifname: str) -> str | None:
    """IPv4 address of an interface via SIOCGIFADDR (works without iproute2)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        packed = struct.pack("256s", ifname.encode()[:15])
        try:
            answer = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, packed)
        except OSError:
            return None
    return socket.inet_ntoa(answer[20:24])


def _source_address(server_url: str | None) -> str | None:
    """The local address the kernel would use to reach the server (no packet is sent)."""
    host = urllib.parse.urlsplit(server_url).hostname if server_url else None
    for target in filter(None, (host, "192.0.2.1")):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.connect((target, 9))
                address: str = sock.getsockname()[0]
                return address
        except OSError:
            continue
    return None

"""Ohai-lite: the automatic attributes (facts) a node reports about itself.

Nodes may lack iproute2, so the address falls back from `ip -j` to /proc/net/route + an
ioctl, then to the source address the kernel picks to reach the config server.
"""
from __future__ import annotations

import fcntl
import ipaddress as ipaddr
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
    machinename = socket.gethostname()
    fqdn = resolve_fqdn(machinename)
    os_release = read_os_release(root / "etc/os-release")
    uname = platform.uname()
    facts = {
        "hostname": machinename.split(".")[0],          # `hostname -s`
        "fqdn": fqdn,
        "domain": domain(fqdn),
        "ipaddress": ipaddress(server_url),
        "platform": os_release.get("ID", uname.system.lower()),
        "platform_version": platform_version(os_release, root),
        "platform_family": (os_release.get("ID_LIKE") or os_release.get("ID", "")).split()[0]
        if os_release else "",
        "os": uname.system.lower(),
        "kernel": {"name": uname.system, "release": uname.release, "machine": uname.machine},
        "cpu": {"total": os.cpu_count() or 1},
        "memory": memory(root / "proc/meminfo"),
        "lsb": lsb(root),
        "virtualization": virtualization(root),
    }
    return facts


def canonicalize_hostname(hostname: str) -> str:
    """Ohai's NetworkHelper#canonicalize_hostname (chef/ohai lib/ohai/mixin/network_helper.rb):
    the canonical name of the first getaddrinfo answer when it has a dot, else the reverse
    lookup of its address unless that is an IP, else the name given. Raises when the name
    does not resolve."""
    first = socket.getaddrinfo(hostname, None, 0, 0, 0, socket.AI_CANONNAME)[0]
    canonname = first[3]
    if "." in canonname:
        return canonname
    reverse = socket.getnameinfo(first[4], 0)[0]
    return hostname if _is_ip(reverse) else reverse


def resolve_fqdn(hostname: str, attempts: int = 3) -> str | None:
    """hostname.rb resolve_fqdn: canonicalize_hostname_with_retries (3 tries, then nil), so
    the fqdn is None (JSON null) when the hostname does not resolve."""
    for _ in range(attempts):
        try:
            return canonicalize_hostname(hostname)
        except (OSError, UnicodeError, IndexError):
            continue
    return None


def domain(fqdn: str | None) -> str | None:
    """hostname.rb collect_domain: `fqdn =~ /.+?\\.(.*)/; domain $1`, so nil (None) for a
    dotless fqdn or no fqdn, and "" for "host." (what follows the first dot)."""
    match = re.search(r".+?\.(.*)", fqdn) if fqdn is not None else None
    return match.group(1) if match else None


def _is_ip(name: str) -> bool:
    try:
        ipaddr.ip_address(name)
    except ValueError:
        return False
    return True


def lsb(root: Path = Path("/")) -> dict[str, str]:
    """Ohai's linux/lsb.rb: {} unless /usr/bin/lsb_release exists; then `lsb_release -a`'s
    stdout, line by line: Distributor ID, Description, Release and Codename (the rest of
    the line after the label's blanks), and any other line, newline and all, as `id`."""
    if not (root / "usr/bin/lsb_release").exists():
        return {}
    try:
        text = subprocess.run(["lsb_release", "-a"], capture_output=True, text=True,
                              timeout=60, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        text = ""
    return parse_lsb(text)


def parse_lsb(text: str) -> dict[str, str]:
    """lsb.rb's reading of `lsb_release -a`'s stdout (lsb() above)."""
    out: dict[str, str] = {}
    labels = {"Distributor ID": "id", "Description": "description", "Release": "release",
              "Codename": "codename"}
    for line in text.splitlines(keepends=True):
        match = LSB_LINE.match(line)
        if match and match.group(1) in labels:
            out[labels[match.group(1)]] = match.group(2)
        else:
            out["id"] = line
    return out


LSB_LINE = re.compile(r"^(Distributor ID|Description|Release|Codename):\s+([^\n]+)")


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
    """What Ohai 19 reports (chef/ohai lib/ohai/plugins/linux/platform.rb): with
    /etc/os-release, determine_os_version: for debian `os_release_info["VERSION_ID"] ||
    file_read("/etc/debian_version").chomp` ("12", "13"; the point release only on testing
    and sid, which have no VERSION_ID), for others VERSION_ID or the kernel release
    (`uname -r`). Without os-release (legacy_platform_detection) /etc/debian_version."""
    if not os_release:
        return _read_first_line(root / "etc/debian_version") or ""
    if os_release.get("VERSION_ID"):
        return os_release["VERSION_ID"]
    if os_release.get("ID") == "debian":
        return _read_first_line(root / "etc/debian_version") or ""
    return platform.uname().release


def _read_first_line(path: Path) -> str | None:
    """File.read(path).chomp (one trailing newline dropped), None when it cannot be read."""
    text = _read(path)
    return None if text is None else text.removesuffix("\n").removesuffix("\r")


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
    """Total memory as Ohai's linux/memory.rb writes it ("NkB": number and unit, no blank)."""
    try:
        for line in path.read_text().splitlines():
            match = re.match(r"^MemTotal:\s+(\d+) (.+)", line)
            if match:
                return {"total": f"{match.group(1)}{match.group(2)}"}
    except OSError:
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

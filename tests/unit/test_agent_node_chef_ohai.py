"""Facts as Ohai 19.1.45 collects them (chef/ohai lib/ohai/plugins/...), where ours differed."""
from __future__ import annotations

import os
import socket
import subprocess

import pytest

from harness.agent import ohai


def resolver(monkeypatch, answers: dict[str, tuple[str, str]], reverse: dict[str, str]):
    """getaddrinfo(name) -> (canonname, address) from `answers`, getnameinfo(address) ->
    `reverse` (else the address, as getnameinfo without NI_NAMEREQD); unknown names fail."""
    calls: list[str] = []

    def getaddrinfo(host, port, family=0, type_=0, proto=0, flags=0):
        calls.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        canon, addr = answers[host]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6,
                 canon if flags & socket.AI_CANONNAME else "", (addr, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "getnameinfo",
                        lambda sockaddr, flags: (reverse.get(sockaddr[0], sockaddr[0]), "0"))
    return calls


@pytest.mark.parametrize("canon, reverse, fqdn, domain", [
    ("app-1.example.com", {}, "app-1.example.com", "example.com"),   # canonname with a dot
    ("app-1", {"10.0.0.9": "app-1.prod.example.com"}, "app-1.prod.example.com",
     "prod.example.com"),                                            # reverse lookup
    ("app-1", {"10.0.0.9": "app-1"}, "app-1", None),                 # a node: no domain
    ("app-1", {}, "app-1", None),                                    # reverse gives the IP
])
def test_fqdn_and_domain_as_ohai_hostname_plugin(monkeypatch, canon, reverse, fqdn, domain):
    """hostname.rb (linux): `fqdn resolve_fqdn` = network_helper.rb canonicalize_hostname of
    `hostname`: the canonname when it has a dot, else the reverse lookup unless it is an IP,
    else the name itself; `domain collect_domain` = `fqdn =~ /.+?\\.(.*)/; domain $1`, which
    is nil (JSON null) for a dotless fqdn, where ours gave ""."""
    monkeypatch.setattr(socket, "gethostname", lambda: "app-1")
    resolver(monkeypatch, {"app-1": (canon, "10.0.0.9")}, reverse)
    facts = ohai.collect("http://127.0.0.1:1")
    assert (facts["hostname"], facts["fqdn"], facts["domain"]) == ("app-1", fqdn, domain)


def test_fqdn_is_none_when_the_hostname_does_not_resolve(monkeypatch):
    """canonicalize_hostname_with_retries: three tries, then nil (ours fell back to the
    hostname); collect_domain is then nil too. hostname stays `hostname -s`."""
    monkeypatch.setattr(socket, "gethostname", lambda: "web-3.corp")
    calls = resolver(monkeypatch, {}, {})
    facts = ohai.collect("http://127.0.0.1:1")
    assert (facts["hostname"], facts["fqdn"], facts["domain"]) == ("web-3", None, None)
    assert calls == ["web-3.corp"] * 3


def test_domain_is_what_follows_the_first_dot():
    assert ohai.domain("a.b.c") == "b.c" and ohai.domain("a.") == ""
    assert ohai.domain("a") is None and ohai.domain(None) is None


def test_lsb_is_empty_without_lsb_release(tmp_path, monkeypatch):
    """lsb.rb: `lsb Mash.new`, filled only `if file_exist?("/usr/bin/lsb_release")`; our
    images have no lsb-release package, so node["lsb"] is {} (it was missing)."""
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("ran lsb_release"))
    assert ohai.lsb(tmp_path) == {}


def test_lsb_parses_lsb_release_a(tmp_path, monkeypatch):
    """lsb.rb: each stdout line of `lsb_release -a` by its label; any other line is `id`,
    as Ohai's `else lsb[:id] = line` (newline included)."""
    (tmp_path / "usr/bin").mkdir(parents=True)
    (tmp_path / "usr/bin/lsb_release").write_text("")
    out = ("Distributor ID:\tDebian\nDescription:\tDebian GNU/Linux 12 (bookworm)\n"
           "Release:\t12\nCodename:\tbookworm\n")
    ran = []

    def run(cmd, **kwargs):
        ran.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, out, "No LSB modules are available.\n")

    monkeypatch.setattr(subprocess, "run", run)
    assert ohai.lsb(tmp_path) == {"id": "Debian", "release": "12", "codename": "bookworm",
                                  "description": "Debian GNU/Linux 12 (bookworm)"}
    assert ran == [["lsb_release", "-a"]]
    out = "Codename:\tn/a\nsomething odd\n"
    assert ohai.lsb(tmp_path) == {"codename": "n/a", "id": "something odd\n"}


def test_collected_facts_have_ohai_keys_only(tmp_path):
    """memory.rb: `memory[:total] = "#{$1}#{$2}"`, no total_kb (ours invented it, so
    `node["memory"]["total_kb"]` worked here and is nil in Chef); platform.rb: VERSION_ID
    for debian even when /etc/debian_version has the point release."""
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text('ID=debian\nVERSION_ID="12"\n'
                                              "VERSION_CODENAME=bookworm\n")
    (tmp_path / "etc/debian_version").write_text("12.11\n")
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/meminfo").write_text("MemTotal:        2048000 kB\nMemFree: 1 kB\n")
    facts = ohai.collect(root=tmp_path)
    assert facts["memory"] == {"total": "2048000kB"}
    assert facts["platform_version"] == "12"
    assert facts["lsb"] == {}
    assert facts["kernel"]["release"] == os.uname().release

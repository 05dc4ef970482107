"""Facts (ohai-lite) and the real command runner."""
from __future__ import annotations

import ipaddress
import os

import pytest

from harness.agent import ohai, shell


def test_collect_has_the_contract_facts():
    facts = ohai.collect("http://127.0.0.1:1")
    for key in ("hostname", "fqdn", "domain", "ipaddress", "platform", "platform_version",
                "os", "kernel", "cpu", "memory"):
        assert key in facts, key
    ipaddress.IPv4Address(facts["ipaddress"])
    assert facts["os"] == "linux" and facts["cpu"]["total"] >= 1
    assert facts["kernel"]["release"] == os.uname().release


def test_os_release_and_meminfo_parsing(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'
                                              'ID=debian\nVERSION_ID="12"\n# c=1\n')
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/meminfo").write_text("MemTotal:        2048000 kB\nMemFree: 1 kB\n")
    assert ohai.read_os_release(tmp_path / "etc/os-release") == {
        "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)", "ID": "debian", "VERSION_ID": "12"}
    assert ohai.memory(tmp_path / "proc/meminfo") == {"total": "2048000kB"}  # Ohai's only
    facts = ohai.collect(root=tmp_path)
    assert (facts["platform"], facts["platform_version"]) == ("debian", "12")


def test_debian_platform_version_is_os_release_version_id_like_ohai(tmp_path):
    """Ohai 19 (chef/ohai lib/ohai/plugins/linux/platform.rb determine_os_version): for
    debian `os_release_info["VERSION_ID"] || file_read("/etc/debian_version").chomp`, so
    "13", not the point release; /etc/debian_version only when VERSION_ID is missing
    (testing, sid), or without os-release at all (legacy_platform_detection). Other IDs:
    VERSION_ID, else the kernel release (`uname -r`)."""
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/debian_version").write_text("13.8\n")
    debian = {"ID": "debian", "VERSION_ID": "13"}
    assert ohai.platform_version(debian, tmp_path) == "13"
    assert ohai.platform_version({"ID": "ubuntu", "VERSION_ID": "24.04"}, tmp_path) == "24.04"
    (tmp_path / "etc/debian_version").write_text("trixie/sid\n")
    assert ohai.platform_version({"ID": "debian"}, tmp_path) == "trixie/sid"
    assert ohai.platform_version({}, tmp_path) == "trixie/sid"
    assert ohai.platform_version({"ID": "arch"}, tmp_path) == os.uname().release


def test_default_route_from_proc_net_route(tmp_path, monkeypatch):
    route = tmp_path / "route"
    route.write_text("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n"
                     "lo\t0000007F\t00000000\t0001\t0\t0\t0\t000000FF\n"
                     "lo\t00000000\t0100007F\t0003\t0\t0\t0\t00000000\n")
    assert ohai._from_proc_route(str(route)) == "127.0.0.1"
    route.write_text("Iface\tDestination\tGateway\tFlags\nlo\t0000007F\t00000000\t0001\n")
    assert ohai._from_proc_route(str(route)) is None


def test_source_address_fallback():
    assert ohai._source_address("http://127.0.0.1:8080") == "127.0.0.1"


def test_shell_run_captures_and_never_raises(tmp_path):
    done = shell.run("echo out; echo err >&2; exit 3", cwd=str(tmp_path), env={"X": "1"})
    assert (done.rc, done.out, done.err) == (3, "out\n", "err\n")
    assert shell.run(["sh", "-c", 'echo "$X" "$PWD"'], cwd=str(tmp_path),
                     env={"X": "y"}).out == f"y {tmp_path}\n"
    assert shell.run(["no-such-command-xyz"]).rc == 127
    assert shell.run("sleep 5", timeout=0.2).rc == 124
    assert shell.run("true", user="no-such-user-xyz").err == "user no-such-user-xyz does not exist"


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_shell_run_as_another_user():
    """mixlib-shellout without login (lib/mixlib/shellout/unix.rb set_user): only the uid
    changes; the group, supplementary groups and HOME stay the agent's."""
    done = shell.run("id -un; id -g; echo $HOME", user="nobody")
    assert done.out.split() == ["nobody", str(os.getgid()), os.environ["HOME"]]

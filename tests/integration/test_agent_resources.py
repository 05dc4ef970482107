"""The agent's Chef resources on a real systemd node (tests/fixtures/resources_repo).

What each resource writes and runs is pinned against Chef's source in the unit tests
(tests/unit/test_agent_cron_sysctl.py, test_agent_systemd_apt.py, test_agent_remote_script.py,
test_agent_retry_before.py, test_agent_custom.py); this checks that the same code works
where it runs: cron reads the cron.d file, the kernel has the sysctl value, systemd runs the
unit, remote_file downloads from it, and the second converge changes nothing.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.nodes.cluster import Cluster
from harness.nodes.spec import ClusterSpec
from tests.integration.nodes_support import leftovers

pytestmark = pytest.mark.docker
REPO = Path(__file__).resolve().parents[1] / "fixtures" / "resources_repo"


@pytest.fixture(scope="module")
def box(engine, base_image):
    cluster = Cluster("it-box", ClusterSpec({"box": 1}), repo_dir=REPO, backend=engine,
                      image=base_image, progress=print)
    cluster.up()                  # includes the idempotence pass: the last converge changed nothing
    yield cluster
    cluster.down()
    assert leftovers(engine, cluster.session) == []


def sh(box, cmd: str) -> str:
    rc, out = box.exec("box-1", cmd)
    assert rc == 0, out
    return out


def test_first_converge_changed_every_resource_and_the_last_nothing(box):
    first, last = box.reports["box-1"][0], box.reports["box-1"][-1]
    assert first["status"] == "success", first.get("failure")
    for key in ("cron_d[box-report]", "systemd_unit[box-http.service]",
                "remote_file[/usr/local/share/payload.txt]", "bash[stamp-before]",
                "boxes_motd[box]"):
        assert key in first["changed"], key
    assert last["changed"] == []


def test_several_packages_in_one_resource_install_with_one_apt_get(box):
    """chef/chef lib/chef/provider/package/apt.rb install_package: `run_noninteractive(
    "apt-get", "-q", "-y", ..., "install", package_name.zip(version).map { |n, v| "#{n}=#{v}"
    })`: one command for every package that needs it; the idempotence pass (the last report,
    empty) found both installed."""
    first = box.reports["box-1"][0]
    assert "package[procps, less]" in first["changed"]
    sh(box, "dpkg-query -W -f='${Status}\n' procps less | grep -c 'install ok installed' "
            "| grep -qx 2")
    installs = [line for line in sh(box, "cat /var/log/apt/history.log").splitlines()
                if line.startswith("Commandline:") and " install " in line]
    assert len(installs) == 1, installs
    assert " procps=" in installs[0] and " less=" in installs[0], installs[0]


def test_cron_d_file(box):
    text = sh(box, "cat /etc/cron.d/box-report; stat -c %a /etc/cron.d/box-report")
    assert "MAILTO=root\nGREETING=hello\\ box\n\n*/10 * * * * root /bin/true\n" in text
    assert text.endswith("600\n")


def test_sysctl_on_a_read_only_proc_sys_fails_by_name(box):
    """Nodes are containers: /proc/sys is read-only, so `sysctl -w` is refused; the agent says
    why instead of passing silently (docs/decisions.md), and writes no half state."""
    log = box.logs["box-1"]
    assert "sysctl[net.core.somaxconn] apply (FAILED, ignored: sysctl -w failed" in log
    assert "/proc/sys is mounted read-only here" in log
    rc, _ = box.exec("box-1", "test -e /etc/sysctl.d/99-chef-net.core.somaxconn.conf")
    assert rc != 0


def test_systemd_unit_serves_and_remote_file_downloaded_it(box):
    assert sh(box, "systemctl is-active box-http.service").strip() == "active"
    assert sh(box, "systemctl is-enabled box-http.service").strip() == "enabled"
    assert sh(box, "cat /usr/local/share/payload.txt") == "served by the box\n"
    assert sh(box, "stat -c %a /usr/local/share/payload.txt").strip() == "640"


def test_before_notification_ran_before_the_file_and_custom_resource(box):
    stopped = float(sh(box, "cat /srv/box/stopped-at"))
    written = float(sh(box, "stat -c %.9Y /srv/box/config"))
    assert stopped <= written
    assert sh(box, "cat /etc/motd.d/box") == "box node box-1\n"


PROBE_RESTART = """
import sys
sys.path.insert(0, "/usr/local/lib/harness/agent.pyz")
from harness.agent.packages import Service
from harness.agent.resource import Context
print("changed" if Service(Context(), "probe").apply(sys.argv[1]) else "unchanged")
"""


def test_service_keeps_the_loaded_unit_until_systemd_reloads_as_chef(box):
    """Chef's systemd service provider (lib/chef/provider/service/systemd.rb) never runs
    daemon-reload: a unit file changed on disk is restarted with the definition systemd has
    loaded, as on a production host, and systemctl's warning reaches the converge output.
    A reload of a stopped service does nothing (lib/chef/provider/service.rb `action :reload`)."""
    unit = "/etc/systemd/system/probe.service"
    sh(box, f"printf '[Service]\\nExecStart=/bin/sleep 600\\nEnvironment=PROBE=old\\n' > {unit}"
            " && systemctl daemon-reload && systemctl start probe")
    try:
        sh(box, f"sed -i s/PROBE=old/PROBE=new/ {unit}")
        out = sh(box, f"python3 -c '{PROBE_RESTART}' restart")
        assert out.splitlines()[-1] == "changed"
        assert "changed on disk" in out
        assert sh(box, "systemctl show -p Environment --value probe").strip() == "PROBE=old"
        assert sh(box, "systemctl is-active probe").strip() == "active"
        sh(box, "systemctl stop probe")
        assert sh(box, f"python3 -c '{PROBE_RESTART}' reload").splitlines()[-1] == "unchanged"
        rc, _ = box.exec("box-1", "systemctl is-active --quiet probe")
        assert rc != 0, "a reload does not start a stopped service"
    finally:
        box.exec("box-1", f"systemctl stop probe; rm -f {unit}; systemctl daemon-reload")


def test_the_node_loopback_has_ipv6_as_a_debian_host(box):
    """Debian hosts have ::1 on lo; Docker turns IPv6 off in containers on an IPv4 network,
    so a packaged daemon listening on ::1 (trixie's memcached) would fail only here."""
    inet6 = sh(box, "cat /proc/net/if_inet6")
    assert any(line.split()[0] == "0" * 31 + "1" and line.split()[-1] == "lo"
               for line in inet6.splitlines()), inet6

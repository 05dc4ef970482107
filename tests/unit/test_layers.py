"""The package layer's pure parts and its build on the FakeBackend: which packages a policy
installs, the layer key, the build script, one build for concurrent callers, a failed build.

The package list of the example roles comes from the real agent's why-run against an
in-process config server restored from this repo (as tests/unit/test_roles_compile.py does).
"""
from __future__ import annotations

import threading
import time

import pytest

from harness.agent.packages import APT_OPTS
from harness.errors import ImageBuildError, UsageError
from harness.nodes import layers
from harness.nodes.fake import FakeBackend
from harness.nodes.layermode import layer_enabled
from harness.nodes.layers import (
    ensure_layer,
    failed_package,
    image_changes,
    install_script,
    layer_key,
    package_list,
)

BASE = "harness/base:test"


def pkg(name: str, action: str = "install", **props) -> dict:
    return {"resource": f"package[{name}]", "action": action,
            "properties": {"version": None, "package_name": None, "options": [], **props}}


def test_package_list_takes_install_and_upgrade_sorted_with_versions_and_names():
    plan = [pkg("zookeeperd"), pkg("sudo", "upgrade"), pkg("less", version="590-2"),
            pkg("java", package_name="openjdk-17-jre-headless"),
            pkg("telnet", "remove"), pkg("ftp", "purge"),
            {"resource": "service[ssh]", "action": "start", "properties": {}},
            pkg("sudo")]
    assert package_list(plan) == ["less=590-2", "openjdk-17-jre-headless", "sudo", "zookeeperd"]


def test_guarded_optioned_and_notifying_packages_install_during_the_converge():
    plan = [pkg("a", only_if="test -e /x"), pkg("b", not_if="true"),
            pkg("c", options=["-t", "bookworm-backports"]),
            pkg("e", notifies=[["restart", "service[e]", "delayed"]]), pkg("f"),
            {"resource": "service[f]", "action": "nothing",
             "properties": {"subscribes": [["restart", "package[f]", "delayed"]]}}, pkg("d")]
    assert package_list(plan) == ["d"]


@pytest.mark.parametrize("barrier", [
    {"resource": "execute[preseed]", "action": "nothing",
     "properties": {"command": "debconf-set-selections /var/cache/local/postfix.seed"}},
    {"resource": "file[/etc/apt/sources.list.d/pgdg.list]", "action": "create", "properties": {}},
    {"resource": "template[pin]", "action": "create",
     "properties": {"path": "/etc/apt/preferences.d/pin"}},
    {"resource": "remote_file[/usr/share/keyrings/pgdg.gpg]", "action": "create",
     "properties": {}},
    {"resource": "execute[arch]", "action": "run",
     "properties": {"command": ["dpkg", "--add-architecture", "i386"]}},
    {"resource": "file[/etc/apt/apt.conf.d/00norecommends]", "action": "create",
     "properties": {"content": 'APT::Install-Recommends "false";\n'}},
    {"resource": "template[/etc/apt/apt.conf.d/99release]", "action": "create",
     "properties": {"content": 'apt::default-release "bookworm-backports";\n'}},
    {"resource": "cookbook_file[/etc/apt/apt.conf.d/10suggests]", "action": "create",
     "properties": {"content": 'APT::Install-Suggests "1";\n'}},
    {"resource": "remote_file[/etc/apt/apt.conf.d/10unknown]", "action": "create",
     "properties": {}},
    {"resource": "execute[no recommends]", "action": "run",
     "properties": {"command": "echo 'APT::Install-Recommends 0;' > /etc/apt/apt.conf.d/01n"}},
])
def test_packages_after_an_apt_or_debconf_change_stay_out(barrier):
    assert package_list([pkg("before"), barrier, pkg("after")]) == ["before"]


def test_apt_conf_d_and_apt_get_update_are_not_barriers():
    """An apt.conf.d file whose text sets nothing about what apt installs (the why-run gives
    the text) is no barrier."""
    stamp = 'APT::Update::Post-Invoke-Success {"touch /var/lib/apt/periodic/x";};\n'
    plan = [{"resource": "cookbook_file[/etc/apt/apt.conf.d/15update-stamp]", "action": "create",
             "properties": {"content": stamp}},
            {"resource": "execute[apt-get update]", "action": "run",
             "properties": {"command": "apt-get update -q"}}, pkg("sudo")]
    assert package_list(plan) == ["sudo"]


def test_layer_key_depends_on_base_packages_and_sources_not_on_order():
    sources = {"/etc/apt/sources.list": b"deb http://deb.debian.org/debian bookworm main\n"}
    key = layer_key("sha256:1", ["sudo", "less"], sources)
    assert key == layer_key("sha256:1", ["less", "sudo", "less"], sources)
    assert len(key) == 16 and int(key, 16) >= 0
    assert key != layer_key("sha256:2", ["sudo", "less"], sources)
    assert key != layer_key("sha256:1", ["sudo", "less", "haproxy"], sources)
    assert key != layer_key("sha256:1", ["sudo", "less=590-2"], sources)
    assert key != layer_key("sha256:1", ["sudo", "less"],
                            {"/etc/apt/sources.list": b"deb http://mirror/debian bookworm main\n"})


@pytest.mark.parametrize("environ, mode, on", [
    ({}, "auto", True), ({"CI": "true"}, "auto", False), ({"CI": "1"}, "auto", False),
    ({"CI": "false"}, "auto", True), ({"CI": "true"}, "on", True), ({}, "off", False)])
def test_auto_is_off_under_ci_and_explicit_modes_win(environ, mode, on):
    assert layer_enabled(mode, environ) is on


def test_a_bad_mode_is_a_usage_error():
    with pytest.raises(UsageError, match="--package-layer must be one of auto, on, off"):
        layer_enabled("warm", {})


def test_install_script_uses_the_agents_apt_flags_and_keeps_only_apts_lists():
    script = install_script(["less=590-2", "sudo"], apt_proxy="http://proxy:3142")
    install = next(line for line in script.splitlines() if line.startswith("apt-get install"))
    for flag in APT_OPTS:  # harness/agent/packages.py: what a converge's install passes
        assert flag in install.split()
    # recommends install, as with Chef's apt provider and the agent (decision 65)
    assert "--no-install-recommends" not in install and "--allow-downgrades" in install
    assert install.endswith(" less=590-2 sudo")
    assert "Acquire::http::Proxy=http://proxy:3142" in install
    assert "DEBIAN_FRONTEND=noninteractive" in script and "exit 101" in script  # no daemons
    # archives go; lists stay, so the converge's apt-get update refreshes (decision 59)
    assert script.splitlines()[-1] == "apt-get clean" and "/var/lib/apt/lists" not in script
    assert "--allow-downgrades" not in install_script(["sudo"])


def test_image_changes_keep_the_base_command_and_label_the_layer():
    labels = {"harness.layer": "k", "harness.layer.packages": "less sudo"}
    assert image_changes({"Entrypoint": None, "Cmd": ["/sbin/init"]}, labels) == [
        'CMD ["/sbin/init"]', 'LABEL harness.layer="k"',
        'LABEL harness.layer.packages="less sudo"']
    assert image_changes({"Entrypoint": ["/init"], "Cmd": None}, {})[:2] == \
        ['ENTRYPOINT ["/init"]', "CMD []"]


def test_failed_package_names_what_apt_blames():
    out = "Reading package lists...\nE: Unable to locate package zookeeperdd\n"
    assert failed_package(out, ["sudo", "zookeeperdd"]) == "zookeeperdd"
    dpkg = "dpkg: error processing package haproxy (--configure):\nE: Sub-process failed\n"
    assert failed_package(dpkg, ["haproxy=2.6", "sudo"]) == "haproxy=2.6"
    assert failed_package("E: network down\n", ["a", "b"]) == "a b"


@pytest.fixture
def backend(tmp_path, monkeypatch) -> FakeBackend:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # file locks of this test only
    fake = FakeBackend()
    fake.images.add(BASE)
    fake.files_in_images[BASE] = {"/etc/apt/sources.list": b"deb http://deb.debian.org/debian "
                                  b"bookworm main\n", "/etc/hostname": b"x\n"}
    return fake


def test_ensure_layer_builds_once_then_reuses(backend):
    lines: list[str] = []
    tag = ensure_layer(backend, BASE, ["sudo", "zookeeperd"], lines.append)
    assert tag.startswith("harness/layer:") and tag in backend.images
    assert tag == ensure_layer(backend, BASE, ["sudo", "zookeeperd"], lines.append)
    assert len(backend.builds) == 1
    base, script, built, changes = backend.builds[0]
    assert (base, built) == (BASE, tag) and "apt-get install" in script
    assert 'CMD ["/sbin/init"]' in changes
    assert backend.image_labels[tag] == {"harness.layer": tag.split(":")[1],
                                         "harness.layer.packages": "sudo zookeeperd",
                                         "harness.layer.base": BASE}
    assert lines[0].startswith(f"package layer: building {tag} on {BASE}: apt-get install "
                               "sudo zookeeperd")
    assert lines[1].startswith(f"package layer: built {tag} (2 packages) in ")


def test_two_racing_callers_build_one_layer(backend):
    def slow_build(container, cmd):
        time.sleep(0.3)
        return 0, ""

    backend.on(r"apt-get install", slow_build)
    tags: list[str] = []
    threads = [threading.Thread(target=lambda: tags.append(
        ensure_layer(backend, BASE, ["memcached"], lambda line: None))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(tags) == 2 and tags[0] == tags[1]
    assert len(backend.builds) == 1


def test_a_failed_build_is_one_error_naming_the_package_with_apts_last_lines(backend):
    backend.on(r"apt-get install", lambda c, cmd: (100, "Reading package lists...\n"
                                                   "E: Unable to locate package nosuchpkg\n"))
    with pytest.raises(ImageBuildError) as err:
        ensure_layer(backend, BASE, ["nosuchpkg", "sudo"], lambda line: None)
    assert "apt-get install nosuchpkg failed (exit 100)" in err.value.message
    assert "\n" not in err.value.message
    assert err.value.log_tail.endswith("E: Unable to locate package nosuchpkg")
    assert not any(tag.startswith(layers.REPOSITORY) for tag in backend.images)


"""One unit test per example role, written as a spec author would (README "Unit tests").

`unit_converge` is the harness's pytest fixture: harness.unit.converge bound to the repo under
test. Each test takes ~50 ms and needs no container; the role specs in role_specs/ prove the
same roles on real nodes.
"""
from __future__ import annotations

import pytest

from harness.unit import UnitError


def test_zookeeper_ensemble_from_search(unit_converge):
    run = unit_converge("role[zookeeper]", environment="production",
                        peers={"zookeeper-2": {"ipaddress": "10.0.0.2"}})
    zoo_cfg = run.resource("template", "/etc/zookeeper/conf_managed/zoo.cfg")
    assert "server.2=10.0.0.2:2888:3888" in zoo_cfg.content.splitlines()
    assert "server.1=10.0.0.1:2888:3888" in zoo_cfg.content.splitlines()  # FACTS' address
    assert ("restart", "service[zookeeper]", "delayed") in zoo_cfg.notifies
    assert run.resource("package", "zookeeperd").action == ["install"]
    assert run.node["zookeeper"]["data_dir"] == "/var/lib/zookeeper"
    assert "-Xmx256m" in run.resource("template",
                                      "/etc/systemd/system/zookeeper.service").content


def test_memcached_wrapper_listens_on_the_node_address(unit_converge):
    run = unit_converge("role[memcached]", environment="production",
                        node={"automatic": {"ipaddress": "10.0.0.7"}})
    conf = run.resource("template", "/etc/memcached.conf").content.splitlines()
    assert {"-l 10.0.0.7", "-m 128", "-c 2048", "-t 2", "-U 0"} <= set(conf)
    assert run.resource("service", "memcached").action == ["enable", "start"]


def test_loadbalancer_backends_are_the_app_nodes(unit_converge):
    app = {"run_list": "role[app]"}
    run = unit_converge("role[loadbalancer]", environment="staging",
                        peers={"app-1": {**app, "ipaddress": "10.0.1.1"},
                               "app-2": {**app, "ipaddress": "10.0.1.2"},
                               "app-9": {**app, "ipaddress": "10.0.9.9",
                                         "chef_environment": "production"}})
    cfg = run.resource("template", "/etc/haproxy/haproxy.cfg").content
    servers = [line.strip() for line in cfg.splitlines() if line.strip().startswith("server ")]
    assert servers == ["server app-1 10.0.1.1:8080 check", "server app-2 10.0.1.2:8080 check"]


def test_app_config_carries_the_decrypted_password_and_release(unit_converge):
    run = unit_converge("role[app]", environment="production")
    conf = run.resource("template", "/etc/app/app.conf")
    assert conf.sensitive is True and conf.mode == "0600"
    lines = conf.content.splitlines()
    assert "release = 1.0.0" in lines  # production pins app 1.0.0 (from backup/)
    assert any(line.startswith("password = ") and len(line) > len("password = ")
               for line in lines)


def test_app_without_the_secret_fails_naming_the_item(unit_converge, tmp_path):
    (tmp_path / "empty").write_bytes(b"not the secret\n")
    with pytest.raises(UnitError, match="app/secrets"):
        unit_converge("role[app]", environment="production", secret=tmp_path / "empty")


def test_mail_preseeds_postfix_before_installing_it(unit_converge):
    run = unit_converge("role[mail]", environment="testing")
    names = [r.key for r in run.resources]
    seed = "template[/var/cache/local/preseeding/postfix.seed]"
    assert names.index(seed) < names.index("package[postfix]")
    assert "myhostname = mail-1.example.com" in \
        run.resource("template", "/etc/postfix/main.cf").content.splitlines()


def test_base_hardens_sshd_and_names_the_environment(unit_converge):
    run = unit_converge("role[base]", environment="staging")
    sshd = run.resource("template", "/etc/ssh/sshd_config.d/50-base.conf").content
    assert {"PermitRootLogin no", "PasswordAuthentication no"} <= set(sshd.splitlines())
    assert "Staging host." in run.resource("template", "/etc/motd").content
    assert run.resource("user", "ops").uid == 2000

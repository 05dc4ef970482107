"""harness.unit.converge: the behaviour spec authors rely on (ChefSpec's place).

ChefSpec parity (chefspec/chefspec README): a run is compiled and converged in why-run with
no side effects; `resource(...)` finds a declared resource or fails; node attributes set
before the run (`node.normal`) are seen by recipes; search is stubbed (here: by registering
peer nodes on the in-process server, so the real search code answers).
"""
from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from harness.errors import HarnessError, UsageError
from harness.unit import UnitError, converge

REPO = Path(__file__).resolve().parents[2]


def tiny_repo(root: Path, recipe: str, template: str = "port={{ node['web']['port'] }}\n",
              ) -> Path:
    """roles/web -> recipe[web]; the web cookbook's default port is 80, the role's 8080."""
    (root / "roles").mkdir(parents=True)
    (root / "roles/web.json").write_text(json.dumps({
        "name": "web", "run_list": ["recipe[web]"],
        "default_attributes": {"web": {"port": 8080}}}))
    book = root / "site-cookbooks/web"
    for sub in ("recipes", "templates", "attributes"):
        (book / sub).mkdir(parents=True)
    (book / "metadata.yaml").write_text("name: web\nversion: 1.0.0\n")
    (book / "attributes/default.yaml").write_text("web:\n  port: 80\n  name: web\n")
    (book / "recipes/default.py").write_text(recipe)
    (book / "templates/web.conf.j2").write_text(template)
    return root


def test_unknown_resource_lists_what_the_run_has():
    run = converge("role[memcached]", environment="production", repo=REPO)
    with pytest.raises(UnitError) as failure:
        run.resource("template", "/etc/memcached.cfg")
    message = str(failure.value)
    assert "template[/etc/memcached.cfg] is not in the run of memcached-1" in message
    assert "/etc/memcached.conf" in message and "\n" not in message
    with pytest.raises(UnitError, match="it has no cron resource; it has: .*package"):
        run.resource("cron", "x")
    with pytest.raises(AttributeError, match="has no property 'colour'"):
        getattr(run.resource("package", "memcached"), "colour")  # noqa: B009


def test_node_normal_beats_role_defaults_and_automatic_sets_the_address():
    """Chef precedence (lib/chef/node/attribute_constants.rb): role_default < normal <
    automatic; memcached listens on the automatic ipaddress through pd-memcached's
    node.default write."""
    run = converge("role[memcached]", environment="production", repo=REPO,
                   node={"normal": {"memcached": {"memory": 512}},
                         "automatic": {"ipaddress": "192.0.2.7"}})
    conf = run.resource("template", "/etc/memcached.conf").content.splitlines()
    assert "-m 512" in conf and "-l 192.0.2.7" in conf
    assert run.node["memcached"]["listen"] == "192.0.2.7"
    assert run.saved["normal"] == {"memcached": {"memory": 512}}


def test_bad_input_is_one_line(tmp_path):
    with pytest.raises(UsageError, match="node= takes normal and automatic attributes, not "
                                         "override"):
        converge("role[memcached]", repo=REPO, node={"override": {}})
    with pytest.raises(UsageError, match="not a config repo"):
        converge("role[memcached]", repo=tmp_path)
    with pytest.raises(UsageError, match="no environment 'nowhere' in the repo .it has: .*production"):
        converge("role[memcached]", environment="nowhere", repo=REPO)
    with pytest.raises(UsageError, match="peer 'memcached-1' has the converged node's own"):
        converge("role[memcached]", repo=REPO, peers={"memcached-1": {}})
    with pytest.raises(HarnessError, match="no role 'nope'"):
        converge("role[nope]", repo=REPO)


def test_write_to_merged_attributes_fails_naming_recipe_and_line(tmp_path):
    repo = tiny_repo(tmp_path, "x = 1\nnode['web']['port'] = 9\n")
    with pytest.raises(UnitError) as failure:
        converge("role[web]", repo=repo)
    assert "recipe web::default (web/recipes/default.py:2): node['web']['port'] is " \
           "read-only" in str(failure.value)


def test_recipe_writes_lazy_values_and_notifications_behave_as_in_a_converge(tmp_path):
    """node.default from a recipe sits below the role's default (8080 stays); node.override
    wins; a lazy value is resolved; a notification to a missing resource fails the run."""
    repo = tiny_repo(tmp_path, (
        "node.default['web']['port'] = 1\n"
        "node.override['web']['name'] = 'front'\n"
        "node.normal['web']['seen'] = True\n"
        "template('/etc/web.conf', source='web.conf.j2', notifies=[('restart', 'service[web]')])\n"
        "file('/etc/web.name', content=lazy(lambda: node['web']['name'] + '\\n'))\n"
        "service('web', action=['enable', 'start'])\n"))
    run = converge("role[web]", repo=repo)
    assert run.resource("template", "/etc/web.conf").content == "port=8080\n"
    assert run.resource("template", "/etc/web.conf").notifies == [
        ("restart", "service[web]", "delayed")]
    assert run.resource("file", "/etc/web.name").content == "front\n"
    assert run.resource("service", "web").action == ["enable", "start"]
    assert run.saved["normal"] == {"web": {"seen": True}}
    broken = tiny_repo(tmp_path / "b", "file('/x', content='', notifies=[('restart', "
                                       "'service[gone]')])\n")
    with pytest.raises(UnitError, match=r"notifies restart on service\[gone\], which is not "
                                        "declared"):
        converge("role[web]", repo=broken)


def test_peers_answer_search_in_their_environment():
    """Peers are registered with the run's run list and environment unless they name their
    own; search('node', 'role:zookeeper AND chef_environment:staging') finds the staging
    members only, as in a cluster (chef_environment is a search field in Chef)."""
    run = converge("role[zookeeper]", environment="staging", repo=REPO, name="zookeeper-2",
                   node={"automatic": {"ipaddress": "10.1.0.2"}},
                   peers={"zookeeper-3": {"ipaddress": "10.1.0.3"},
                          "zookeeper-1": {"ipaddress": "10.1.0.1"},
                          "zookeeper-9": {"ipaddress": "10.9.0.9",
                                          "chef_environment": "production"}})
    cfg = run.resource("template", "/etc/zookeeper/conf_managed/zoo.cfg").content.splitlines()
    assert [line for line in cfg if line.startswith("server.")] == [
        "server.1=10.1.0.1:2888:3888", "server.2=10.1.0.2:2888:3888",
        "server.3=10.1.0.3:2888:3888"]
    assert run.resource("file", "/etc/zookeeper/conf_managed/myid").content == "2\n"


def test_no_socket_is_opened(monkeypatch):
    """"No network": the Store answers through the agent's Api seam, in this thread."""
    converge("role[zookeeper]", repo=REPO)  # warm the repo cache

    def refuse(*args, **kwargs):
        raise AssertionError("a unit converge opened a socket")
    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    run = converge("role[zookeeper]", environment="production", repo=REPO,
                   peers={"zookeeper-2": {"ipaddress": "10.0.0.2"}})
    assert run.resource("package", "zookeeperd").action == ["install"]


def test_a_zookeeper_unit_converge_takes_well_under_a_second():
    converge("role[zookeeper]", environment="production", repo=REPO)  # repo read once
    best = min(_timed(lambda: converge("role[zookeeper]", environment="production", repo=REPO,
                                       peers={"zookeeper-2": {"ipaddress": "10.0.0.2"}}))
               for _ in range(3))
    assert best < 0.5, f"{best:.2f}s"


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def test_the_fixture_uses_the_sessions_repo(unit_converge):
    run = unit_converge("role[base]", environment="testing")
    assert "Testing host" in run.resource("template", "/etc/motd").content

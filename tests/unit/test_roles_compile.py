"""The example infrastructure's unit layer (what ChefSpec is to a Chef repo): no containers.

1. Every role compiles in every environment (harness.repo: run-list expansion, depsolver
   against the environment's pins, attribute precedence), with the cookbook versions of the
   repo's production backup (`backup/`, docs/decisions.md item 11) available as on the server.
2. Each role's why-run (harness.agent.runner.why_run, in-process against an in-process config
   server restored from this repo) lists the resources the role is about, with the content
   its templates would get. Search results are stubbed the way ChefSpec users do it: by
   registering peer nodes with the automatic attributes a first agent run would have saved.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.agent.errors import AgentError
from harness.agent.runner import why_run
from harness.client import Client
from harness.errors import ServerError
from harness.repo import RepoSource, compile_policy, load_repo, repo_backup
from harness.repo.encrypted import decrypt_item, is_encrypted, load_secret
from harness.restore import restore
from harness.rollout.allowlist import in_allowlist
from harness.rollout.inventory import backup_manifests, policy_source
from harness.server.serve import ConfigServer

REPO = Path(__file__).resolve().parents[2]
SECRET = REPO / ".chef" / "encrypted_data_bag_secret"
ROLES = sorted(p.stem for p in (REPO / "roles").glob("*.json"))
ENVIRONMENTS = ["production", "staging", "testing", "_default"]
PINNED = ["production", "staging"]
ADDRESS = "10.9.0.1"
BACKUP = repo_backup(REPO)


@pytest.fixture(scope="module")
def repo():
    return load_repo(REPO)


@pytest.fixture(scope="module")
def source(repo):
    """The repo plus the backup's cookbook versions: what a cluster's server holds."""
    return policy_source(repo, BACKUP)


# -- 1. policies ----------------------------------------------------------------------------

def test_the_example_roles_exist():
    assert ROLES == ["app", "base", "loadbalancer", "mail", "memcached", "zookeeper"]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("role", ROLES)
def test_every_role_compiles_in_every_environment(repo, source, role, environment):
    policy = compile_policy(source, name=f"{role}-1", environment=environment,
                            run_list=[f"role[{role}]"])
    assert policy["roles"][0] == role and "base" in policy["roles"]
    assert policy["recipes"][0] == "base::default"
    pins = repo.environments[environment]["cookbook_versions"]
    for cookbook, version in policy["cookbook_versions"].items():
        if pins:
            assert pins[cookbook] == f"= {version}"
        else:  # unpinned: the newest version, which is the repo's
            assert version == repo.cookbooks[cookbook].version


@pytest.mark.parametrize("environment", PINNED)
def test_pinned_environments_pin_every_cookbook_exactly(repo, source, environment):
    pins = repo.environments[environment]["cookbook_versions"]
    assert set(pins) == set(repo.cookbooks)
    available = source.cookbook_manifests()
    for cookbook, pin in pins.items():
        assert pin.startswith("= ") and pin[2:] in available[cookbook], (cookbook, pin)


def test_the_backup_holds_app_1_0_0_only():
    """backup/ is the production server's knife-backup: the app version production runs."""
    assert BACKUP == REPO / "backup"
    assert {cb: sorted(versions) for cb, versions in backup_manifests(BACKUP).items()} == \
        {"app": ["1.0.0"]}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_app_version_per_environment(source, environment):
    """Production and staging run app 1.0.0 (from the backup); unpinned ones the repo's 1.1.0;
    the release the service reports follows the cookbook version."""
    policy = compile_policy(source, name="app-1", environment=environment,
                            run_list=["role[app]"])
    expected = "1.0.0" if environment in PINNED else "1.1.0"
    assert policy["cookbook_versions"]["app"] == expected
    assert policy["attributes"]["app"]["release"] == expected


def test_without_the_backup_production_does_not_solve(repo):
    from harness.errors import SolveError

    with pytest.raises(SolveError, match="app = 1.0.0"):
        compile_policy(RepoSource(repo), name="app-1", environment="production",
                       run_list=["role[app]"])


def test_testing_environment_has_no_pins(repo):
    assert repo.environments["testing"]["cookbook_versions"] == {}


def test_every_role_starts_with_base(repo):
    for name, role in repo.roles.items():
        if name != "base":
            assert role["run_list"][0] == "role[base]", name


def test_app_cookbook_is_version_1_1_0(repo):
    assert repo.cookbooks["app"].version == "1.1.0"


def test_wrappers_override_community_defaults(repo):
    """pd-memcached's attribute file wins over memcached's (dependency order)."""
    attrs = compile_policy(RepoSource(repo), name="memcached-1", environment="production",
                           run_list=["role[memcached]"])["attributes"]["memcached"]
    assert (attrs["memory"], attrs["max_connections"], attrs["listen"]) == \
        (128, 2048, "127.0.0.1")  # the address is set by pd-memcached's recipe (node.default)
    zk = compile_policy(RepoSource(repo), name="zookeeper-1", environment="production",
                        run_list=["role[zookeeper]"])["attributes"]["zookeeper"]
    assert zk["java"]["heap_mb"] == 256
    assert zk["four_letter_words"] == ["stat", "ruok", "mntr", "srvr"]


def test_environment_attributes_reach_the_motd_notice(source):
    for environment in ("production", "staging", "testing"):
        attrs = compile_policy(source, name="app-1", environment=environment,
                               run_list=["role[app]"])["attributes"]
        assert attrs["base"]["motd"]["notice"]


def test_app_secrets_are_encrypted_with_the_example_secret(repo):
    item = repo.data_bags["app"]["secrets"]
    assert is_encrypted(item)
    plain = decrypt_item(item, load_secret(SECRET))
    assert plain["db_password"] and plain["id"] == "secrets"


# -- 2. why-run -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server() -> Iterator[tuple[ConfigServer, Client]]:
    with ConfigServer(host="127.0.0.1", port=0, agent_pyz=b"not used by why-run") as srv:
        client = Client(srv.url, srv.admin_token)
        restore(client, REPO, from_backup=BACKUP)
        yield srv, client


def register(client: Client, name: str, environment: str, role: str,
             automatic: dict | None = None) -> None:
    """A node as the server would hold it; `automatic` stands in for a first agent run."""
    doc = {"name": name, "chef_environment": environment, "run_list": [f"role[{role}]"],
           "normal": {}, "default": {}, "override": {}, "automatic": automatic or {}}
    try:
        client.post("/nodes", doc)
    except Exception:  # noqa: BLE001 - already there from an earlier test: replace it
        client.put(f"/nodes/{name}", doc)


def peer(address: str, role: str) -> dict:
    return {"ipaddress": address, "hostname": "", "roles": ["base", role],
            "recipes": ["base::default"], "platform": "debian"}


class Plan:
    """why-run's answer: [{"resource", "action", "properties"}] in run order."""

    def __init__(self, entries: list[dict]) -> None:
        self.entries = entries

    def actions(self) -> list[tuple[str, str]]:
        return [(e["resource"], e["action"]) for e in self.entries]

    def __contains__(self, pair: tuple[str, str]) -> bool:
        return pair in self.actions()

    def props(self, resource: str) -> dict:
        for entry in self.entries:
            if entry["resource"] == resource:
                return entry["properties"]
        raise AssertionError(f"{resource} is not in the plan: {sorted(set(self.resources()))}")

    def content(self, resource: str) -> str:
        return self.props(resource)["content"]

    def resources(self) -> list[str]:
        return [e["resource"] for e in self.entries]

    def index(self, resource: str) -> int:
        return self.resources().index(resource)


def plan(server, name: str, role: str, environment: str = "production",
         address: str = ADDRESS, secret: bool = True) -> Plan:
    srv, client = server
    register(client, name, environment, role)
    try:
        return Plan(why_run(srv.url, srv.admin_token, name, {"ipaddress": address},
                            secret=load_secret(SECRET) if secret else None))
    finally:
        client.delete(f"/nodes/{name}")


@pytest.mark.parametrize("role", ROLES)
def test_why_run_every_role_gets_the_base(server, role):
    steps = plan(server, f"{role}-1", role)
    for expected in [("execute[apt-get update]", "run"),
                     ("package[sudo]", "install"),
                     ("user[ops]", "create"),
                     ("file[/home/ops/.ssh/authorized_keys]", "create"),
                     ("package[openssh-server]", "install"),
                     ("template[/etc/ssh/sshd_config.d/50-base.conf]", "create"),
                     ("service[ssh]", "enable"), ("service[ssh]", "start"),
                     ("template[/etc/sysctl.d/60-base.conf]", "create"),
                     ("template[/etc/motd]", "create")]:
        assert expected in steps, expected
    sshd = steps.content("template[/etc/ssh/sshd_config.d/50-base.conf]").splitlines()
    assert {"PermitRootLogin no", "PasswordAuthentication no"} <= set(sshd)
    assert steps.props("file[/home/ops/.ssh/authorized_keys]")["mode"] == "0600"
    assert steps.content("template[/etc/motd]").count(role) >= 1


def test_why_run_base_user_from_data_bag(server):
    steps = plan(server, "base-1", "base")
    ops = steps.props("user[ops]")
    assert (ops["uid"], ops["gid"], ops["shell"]) == (2000, "ops", "/bin/bash")
    sudo = steps.props("group[sudo]")  # the item's groups: appended to, as Chef users do
    assert (sudo["members"], sudo["append"]) == (["ops"], True)
    sudoers = steps.props("file[/etc/sudoers.d/ops]")
    assert sudoers["mode"] == "0440" and "NOPASSWD: ALL" in sudoers["content"]
    assert ["run", "execute[sshd -t]", "immediately"] in \
        steps.props("template[/etc/ssh/sshd_config.d/50-base.conf]")["notifies"]


def test_why_run_zookeeper_alone_counts_itself(server):
    steps = plan(server, "zookeeper-1", "zookeeper")
    assert ("package[zookeeperd]", "install") in steps
    zoo_cfg = steps.content("template[/etc/zookeeper/conf_managed/zoo.cfg]").splitlines()
    assert "4lw.commands.whitelist=stat,ruok,mntr,srvr" in zoo_cfg
    assert "dataDir=/var/lib/zookeeper" in zoo_cfg
    assert [line for line in zoo_cfg if line.startswith("server.")] == \
        [f"server.1={ADDRESS}:2888:3888"]
    assert steps.props("file[/etc/zookeeper/conf_managed/myid]")["content"] == "1\n"
    assert ["restart", "service[zookeeper]", "delayed"] in \
        steps.props("template[/etc/zookeeper/conf_managed/zoo.cfg]")["notifies"]
    assert ("service[zookeeper]", "enable") in steps and ("service[zookeeper]", "start") in steps
    unit = steps.content("template[/etc/systemd/system/zookeeper.service]")
    assert "-Xmx256m" in unit and "User=zookeeper" in unit


def test_why_run_zookeeper_members_come_from_search(server):
    _, client = server
    peers = {"zookeeper-1": "10.9.1.1", "zookeeper-3": "10.9.1.3"}
    for name, address in peers.items():
        register(client, name, "staging", "zookeeper", peer(address, "zookeeper"))
    register(client, "zookeeper-9", "production", "zookeeper", peer("10.9.9.9", "zookeeper"))
    try:
        steps = plan(server, "zookeeper-2", "zookeeper", environment="staging",
                     address="10.9.1.2")
    finally:
        for name in [*peers, "zookeeper-9"]:
            client.delete(f"/nodes/{name}")
    zoo_cfg = steps.content("template[/etc/zookeeper/conf_managed/zoo.cfg]").splitlines()
    assert [line for line in zoo_cfg if line.startswith("server.")] == [
        "server.1=10.9.1.1:2888:3888", "server.2=10.9.1.2:2888:3888",
        "server.3=10.9.1.3:2888:3888"]  # the production node is not a member
    assert steps.props("file[/etc/zookeeper/conf_managed/myid]")["content"] == "2\n"


def test_why_run_zookeeper_searches_once_when_zoo_cfg_converges(server):
    """The member search is lazy (docs/decisions.md item 13): a peer that saves itself after
    the recipes compiled (here: when why-run prints "Converging") is a member already, and a
    peer appearing after zoo.cfg converged changes neither zoo.cfg nor myid (one answer)."""
    srv, client = server
    zoo_cfg = "template[/etc/zookeeper/conf_managed/zoo.cfg]"
    joins = {"Converging": ("zookeeper-1", "10.9.3.1"), zoo_cfg: ("zookeeper-0", "10.9.3.9")}

    def out(line: str) -> None:
        for marker, (name, address) in joins.items():
            if marker in line:
                register(client, name, "staging", "zookeeper", peer(address, "zookeeper"))

    register(client, "zookeeper-2", "staging", "zookeeper")
    try:
        steps = Plan(why_run(srv.url, srv.admin_token, "zookeeper-2",
                             {"ipaddress": "10.9.3.2"}, secret=load_secret(SECRET), out=out))
        assert client.get("/nodes/zookeeper-0")["name"] == "zookeeper-0", "both joined"
    finally:
        for name in ("zookeeper-0", "zookeeper-1", "zookeeper-2"):
            try:
                client.delete(f"/nodes/{name}")
            except ServerError as exc:  # 404: a peer never joined because the run failed
                if exc.status != 404:
                    raise
    servers = [line for line in steps.content(zoo_cfg).splitlines()
               if line.startswith("server.")]
    assert servers == ["server.1=10.9.3.1:2888:3888", "server.2=10.9.3.2:2888:3888"]
    assert steps.props("file[/etc/zookeeper/conf_managed/myid]")["content"] == "2\n"


def test_why_run_memcached_wrapper_settings(server):
    steps = plan(server, "memcached-1", "memcached")
    assert ("package[memcached]", "install") in steps
    conf = steps.content("template[/etc/memcached.conf]").splitlines()
    assert {"-m 128", "-c 2048", f"-l {ADDRESS}", "-p 11211", "-U 0"} <= set(conf)
    assert ["restart", "service[memcached]", "delayed"] in \
        steps.props("template[/etc/memcached.conf]")["notifies"]


@pytest.mark.parametrize("environment, release", [("production", "1.0.0"),
                                                  ("testing", "1.1.0")])
def test_why_run_app_config_with_decrypted_password(server, environment, release):
    """Both app versions: production's 1.0.0 (the backup) and the repo's 1.1.0."""
    steps = plan(server, "app-1", "app", environment=environment)
    password = decrypt_item(json.loads((REPO / "data_bags/app/secrets.json").read_text()),
                            load_secret(SECRET))["db_password"]
    conf = steps.props("template[/etc/app/app.conf]")
    assert (conf["owner"], conf["group"], conf["mode"]) == ("app", "app", "0600")
    # sensitive: converge logs no diff of it. In-process why-run still renders the content
    # (as ChefSpec does for sensitive resources), so the unit layer can check it.
    assert conf["sensitive"] is True
    assert f"password = {password}" in conf["content"].splitlines()
    assert "node = app-1" in conf["content"].splitlines()
    assert f"release = {release}" in conf["content"].splitlines()
    assert steps.props("user[app]")["system"] is True
    assert ("cookbook_file[/usr/local/lib/app/app.py]", "create") in steps
    assert ("service[app]", "enable") in steps and ("service[app]", "start") in steps


@pytest.mark.parametrize("environment", ["production", "testing"])
def test_why_run_app_greeting_only_on_allowlisted_nodes(server, repo, environment):
    """allowlist/new_greeting gates the greeting line (both app versions have the branch).
    why-run's fqdn is the node name, as in the cluster's containers."""
    item = repo.data_bags["allowlist"]["new_greeting"]
    greeting = repo.cookbooks["app"].attributes["default"]["app"]["greeting"]
    lines = {}
    for name in ("app-1", "app-2"):
        content = plan(server, name, "app", environment=environment)\
            .content("template[/etc/app/app.conf]")
        lines[name] = [line for line in content.splitlines() if line.startswith("greeting")]
    assert lines == {name: [f"greeting = {greeting}"] if in_allowlist(item, name) else []
                     for name in ("app-1", "app-2")}
    assert sorted(name for name, found in lines.items() if found) == ["app-2"]


def test_why_run_app_without_the_secret_fails_naming_the_item(server):
    with pytest.raises(AgentError) as failure:
        plan(server, "app-1", "app", secret=False)
    assert "app/secrets" in str(failure.value)


def test_why_run_loadbalancer_backends_come_from_search(server):
    _, client = server
    apps = {"app-1": "10.9.2.1", "app-2": "10.9.2.2"}
    for name, address in apps.items():
        register(client, name, "staging", "app", peer(address, "app"))
    try:
        steps = plan(server, "loadbalancer-1", "loadbalancer", environment="staging")
    finally:
        for name in apps:
            client.delete(f"/nodes/{name}")
    assert ("package[haproxy]", "install") in steps
    cfg = steps.props("template[/etc/haproxy/haproxy.cfg]")
    servers = [line.strip() for line in cfg["content"].splitlines()
               if line.strip().startswith("server ")]
    assert servers == ["server app-1 10.9.2.1:8080 check", "server app-2 10.9.2.2:8080 check"]
    assert ["run", "execute[haproxy -c]", "immediately"] in cfg["notifies"]


def test_why_run_loadbalancer_without_app_nodes_has_an_empty_backend(server):
    steps = plan(server, "loadbalancer-1", "loadbalancer", environment="testing")
    content = steps.content("template[/etc/haproxy/haproxy.cfg]")
    assert "backend app" in content and "    server " not in content


def test_why_run_mail_preseeds_before_installing(server):
    steps = plan(server, "mail-1", "mail", environment="testing")
    seed = "template[/var/cache/local/preseeding/postfix.seed]"
    assert steps.index(seed) < steps.index("package[postfix]")
    assert ["run", "execute[preseed postfix]", "immediately"] in steps.props(seed)["notifies"]
    assert "postfix/main_mailer_type select Internet Site" in steps.content(seed)
    main_cf = steps.content("template[/etc/postfix/main.cf]").splitlines()
    assert "mydomain = example.com" in main_cf
    assert "myhostname = mail-1.example.com" in main_cf
    assert ("smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, "
            "reject_unauth_destination") in main_cf
    assert "root: ops" in steps.content("template[/etc/aliases]").splitlines()

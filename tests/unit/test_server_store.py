"""Store (no HTTP): documents, node search fields, clients, cookbooks, files, policy, wipe."""
from __future__ import annotations

import hashlib
import threading

import pytest

from harness.errors import AlreadyExists, Frozen, NotFound, SolveError, UsageError
from harness.repo.limits import MAX_REPORTS
from harness.server.status import status_of
from harness.server.store import Store


def _file(store: Store, content: bytes) -> dict:
    checksum = hashlib.sha256(content).hexdigest()
    store.put_file(checksum, content)
    return {"checksum": checksum, "size": len(content)}


def _cookbook(store: Store, name: str, version: str, depends=None, recipes=("default",),
              attributes=None, freeze=False) -> dict:
    files = [{"path": f"recipes/{r}.py", **_file(store, f"# {name} {version} {r}".encode())}
             for r in recipes]
    doc = {"metadata": {"depends": depends or {}}, "files": files,
           "attributes": attributes or {"default": {}, "override": {}}}
    store.put_manifest(name, version, doc, freeze=freeze)
    return store.manifest(name, version)


def test_documents_are_normalised_with_chef_keys():
    store = Store()
    assert store.put("role", "web", {"run_list": ["recipe[nginx]"], "json_class": "Chef::Role"})
    role = store.get("role", "web")
    assert role == {"name": "web", "json_class": "Chef::Role", "chef_type": "role",
                    "description": "", "run_list": ["recipe[nginx]"], "env_run_lists": {},
                    "default_attributes": {}, "override_attributes": {}}
    assert store.put("role", "web", {"description": "again"}) is False  # replaced
    assert store.get_json("role", "web").startswith(b'{"name":"web"')
    assert store.names("environment") == ["_default"]


@pytest.mark.parametrize("kind, doc, message", [
    ("role", [], "must be an object"),
    ("role", {"run_list": "recipe[x]"}, "must be an array"),
    ("role", {"run_list": ["recipe[x"]}, "bad run-list item"),
    ("role", {"name": "other"}, "does not match"),
    ("role", {"default_attributes": []}, "must be an object"),
    ("environment", {"cookbook_versions": {"x": "~> banana"}}, "bad version"),
    ("node", {"chef_environment": "../etc"}, "bad environment name"),
    ("node", {"automatic": "x"}, "must be an object"),
    ("client", {"validator": "yes"}, "true or false"),
])
def test_bad_documents_are_usage_errors(kind, doc, message):
    with pytest.raises(UsageError, match=message):
        Store().put(kind, "web", doc)


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a\\b", "a b", "é"])
def test_bad_names_are_refused(name):
    with pytest.raises(UsageError, match="bad role name"):
        Store().put("role", name, {})


def test_create_refuses_existing_and_delete_reports_missing():
    store = Store()
    store.put("node", "n1", {}, create=True)
    with pytest.raises(AlreadyExists) as err:
        store.put("node", "n1", {}, create=True)
    assert status_of(err.value) == 409
    store.delete("node", "n1")
    with pytest.raises(NotFound):
        store.delete("node", "n1")
    with pytest.raises(UsageError, match="_default"):
        store.delete("environment", "_default")


def test_node_search_fields_merge_precedence_roles_recipes_and_flattening():
    store = Store()
    store.put("node", "zk1", {
        "chef_environment": "prod", "run_list": ["role[zookeeper]"],
        "default": {"port": 1, "zk": {"tick": 1}}, "normal": {"port": 2},
        "override": {"port": 3}, "automatic": {"hostname": "zk1",
                                               "roles": ["base", "zookeeper"],
                                               "recipes": ["zookeeper::default", "base::users",
                                                           "java"]}})
    store.put("node", "web1", {"chef_environment": "prod", "normal": {"port": 2}})
    found = lambda q: [d["name"] for d in store.search_docs("node", q)]  # noqa: E731
    assert found("port:3") == ["zk1"]            # override beats normal beats default
    assert found("port:2") == ["web1"]
    assert found("zk_tick:1") == found("tick:1") == ["zk1"]
    assert found("role:zookeeper AND chef_environment:prod") == ["zk1"]
    assert found("role:base") == [] and found("roles:base") == ["zk1"]  # see test_server_fields
    assert found("recipes:zookeeper") == found("recipes:zookeeper\\:\\:default") == ["zk1"]
    assert found("recipes:base\\:\\:users") == ["zk1"] and found("recipes:base") == []
    assert found("recipes:java\\:\\:default") == found("recipes:java") == ["zk1"]
    assert found('run_list:"role[zookeeper]"') == ["zk1"]
    assert found("name:*1") == ["web1", "zk1"]
    store.put("node", "zk1", {"chef_environment": "staging"})  # re-indexed on write
    assert found("role:zookeeper") == [] and found("chef_environment:staging") == ["zk1"]


def test_search_pages_and_data_bag_indexes():
    store = Store()
    store.create_bag("users")
    for i in range(5):
        store.put_item("users", f"u{i}", {"id": f"u{i}", "shell": "bash" if i % 2 else "zsh"})
    total, rows = store.search("users", "shell:bash", start=1, rows=1)
    assert total == 2 and rows == [b'{"id":"u3","shell":"bash"}']
    assert store.search("users", "data_bag:users")[0] == 5
    assert store.indexes() == ["node", "role", "environment", "client", "users"]
    with pytest.raises(NotFound):
        store.search("nope", "*:*")
    with pytest.raises(UsageError, match="built-in"):
        store.create_bag("node")
    with pytest.raises(UsageError, match="does not match"):
        store.put_item("users", "u1", {"id": "u2"})


def test_clients_tokens_and_wipe_keeps_them():
    store = Store()
    token = store.create_client("validator", validator=True)
    node_token = store.create_client("web1")
    assert store.client_for_token(token)["validator"] is True
    assert store.client_for_token(node_token)["name"] == "web1"
    assert store.client_for_token("nope") is None
    store.put("role", "web", {})
    store.create_bag("b")
    _cookbook(store, "base", "1.0.0")
    store.wipe()
    assert store.names("role") == [] and store.bags() == [] and store.cookbooks() == {}
    assert store.names("environment") == ["_default"]
    assert store.names("client") == ["validator", "web1"]
    assert store.client_for_token(node_token)["name"] == "web1"
    store.delete("client", "web1")
    assert store.client_for_token(node_token) is None


def test_file_store_verifies_checksums():
    store = Store()
    good = hashlib.sha256(b"data").hexdigest()
    with pytest.raises(UsageError, match="checksum mismatch"):
        store.put_file(good, b"other")
    with pytest.raises(UsageError, match="bad checksum"):
        store.put_file("../x", b"data")
    assert store.missing_files([good]) == [good]
    assert store.put_file(good, b"data") is True and store.get_file(good) == b"data"
    assert store.missing_files([good]) == []


def test_manifest_needs_files_and_safe_paths():
    store = Store()
    absent = hashlib.sha256(b"absent").hexdigest()
    with pytest.raises(UsageError, match=f"not uploaded yet: {absent}"):
        store.put_manifest("base", "1.0.0", {"files": [{"path": "a", "checksum": absent}]})
    present = _file(store, b"x")
    for path in ("../etc/passwd", "/etc/passwd", "a/../../b", "a//b", ""):
        with pytest.raises(UsageError, match="bad cookbook file path"):
            store.put_manifest("base", "1.0.0", {"files": [{"path": path, **present}]})
    with pytest.raises(UsageError, match="must be written '1.2.0'"):
        store.put_manifest("base", "1.2", {})


def test_freezing():
    store = Store()
    _cookbook(store, "base", "1.0.0", freeze=True)
    assert store.manifest("base", "1.0.0")["frozen"] is True
    _cookbook(store, "base", "1.0.0")  # same content again: fine, still frozen
    assert store.manifest("base", "1.0.0")["frozen"] is True
    with pytest.raises(Frozen, match="frozen") as err:
        _cookbook(store, "base", "1.0.0", recipes=("default", "extra"))
    assert status_of(err.value) == 409
    _cookbook(store, "base", "1.1.0", recipes=("default", "extra"))  # a new version is fine
    assert store.cookbooks() == {"base": ["1.1.0", "1.0.0"]}
    assert store.manifest("base", "_latest")["version"] == "1.1.0"


def test_policy_and_depsolver_use_compile_policy():
    store = Store()
    _cookbook(store, "java", "1.0.0", attributes={"default": {"java": {"v": 8}}, "override": {}})
    _cookbook(store, "java", "2.0.0", attributes={"default": {"java": {"v": 11}}, "override": {}})
    _cookbook(store, "zookeeper", "1.0.0", depends={"java": ">= 1.0.0"})
    store.put("role", "zookeeper", {"run_list": ["recipe[zookeeper]"],
                                    "default_attributes": {"zk": {"port": 2181}}})
    store.put("environment", "prod", {"cookbook_versions": {"java": "= 1.0.0"}})
    store.put("node", "zk1", {"chef_environment": "prod", "run_list": ["role[zookeeper]"],
                              "normal": {"zk": {"port": 2182}}})
    policy = store.policy("zk1")
    assert policy["cookbook_versions"] == {"java": "1.0.0", "zookeeper": "1.0.0"}
    assert policy["attributes"] == {"java": {"v": 8}, "zk": {"port": 2182}}
    assert policy["roles"] == ["zookeeper"]
    solved = store.solve("_default", ["role[zookeeper]"])
    assert {cb: m["version"] for cb, m in solved.items()} == {"java": "2.0.0", "zookeeper": "1.0.0"}
    store.put("environment", "broken", {"cookbook_versions": {"java": "= 9.0.0"}})
    with pytest.raises(SolveError, match="java"):
        store.solve("broken", ["recipe[zookeeper]"])
    with pytest.raises(SolveError, match="nope"):  # an unknown role cannot compile either
        store.solve("prod", ["role[nope]"])
    with pytest.raises(NotFound):
        store.solve("nope", [])
    with pytest.raises(NotFound):
        store.policy("nope")


def test_reports_keep_the_newest_max_reports():
    store = Store()
    for i in range(MAX_REPORTS + 5):
        store.add_report("web1", {"n": i})
    reports = store.reports("web1")
    assert len(reports) == MAX_REPORTS and reports[0] == {"n": 5}
    assert reports[-1] == {"n": MAX_REPORTS + 4}
    with pytest.raises(UsageError):
        store.add_report("web1", [])


def test_concurrent_writes_and_searches_stay_consistent():
    store = Store()
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(200):
                store.put("node", f"n{k}-{i}", {"automatic": {"roles": [f"r{i % 3}"]}})
                store.search("node", "roles:r1")
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.search("node", "roles:r1")[0] == 4 * len(range(1, 200, 3))


def test_bulk_applies_everything_or_nothing():
    store = Store()
    token = store.create_client("web1")
    content = _file(store, b"recipe")
    batch = {"roles": {"web": {"run_list": ["recipe[base]"]}},
             "environments": {"prod": {}},
             "nodes": {"web1": {"automatic": {"roles": ["web"]}}},
             "clients": {"web1": {"validator": False}, "web2": {"validator": True}},
             "data": {"users": {"ops": {"id": "ops"}}, "empty": {}},
             "cookbooks": {"base": {"1.0.0": {"files": [{"path": "recipes/default.py",
                                                          **content}]}}}}
    assert store.bulk(batch) == {"environments": 1, "roles": 1, "nodes": 1, "clients": 2,
                                 "data": 1, "cookbooks": 1}
    assert store.search("node", "roles:web")[0] == 1
    assert store.bags() == ["empty", "users"] and store.items("users") == ["ops"]
    assert store.client_for_token(token)["name"] == "web1"  # an existing client keeps its token
    assert store.get("client", "web2")["validator"] is True
    assert store.cookbooks() == {"base": ["1.0.0"]}
    for bad in ({"roles": {"x": {"run_list": 1}}, "nodes": {"n2": {}}},
                {"nodes": {"n2": {}}, "data": {"users": {"u2": {"id": "other"}}}},
                {"nodes": {"n2": {}}, "cookbooks": {"cb": {"1.0.0": {"files": [
                    {"path": "a", "checksum": "0" * 64}]}}}},
                {"nodes": {"n2": {}}, "data": {"node": {}}},
                {"nodes": {"../n2": {}}},
                {"nodes": [], "roles": {}},
                {"users": {}}):
        with pytest.raises(UsageError):
            store.bulk(bad)
        assert store.names("node") == ["web1"] and store.names("role") == ["web"]


def test_put_files_verifies_every_checksum_before_storing_any():
    store = Store()
    good = hashlib.sha256(b"a").hexdigest()
    with pytest.raises(UsageError, match="checksum mismatch"):
        store.put_files({good: b"a", hashlib.sha256(b"b").hexdigest(): b"c"})
    assert store.missing_files([good]) == [good]
    assert store.put_files({good: b"a"}) == 1 and store.put_files({good: b"a"}) == 0

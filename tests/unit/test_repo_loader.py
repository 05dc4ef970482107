"""load_repo on the fixtures: what loads, how it is normalised, and Chef shapes unchanged."""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import pytest
import yaml

from harness.errors import ValidationError
from harness.repo import Cookbook, load_cookbook, load_repo

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SMALL = FIXTURES / "repo_small"
CHEF = FIXTURES / "chef_shapes"


def test_small_repo_loads_everything() -> None:
    repo = load_repo(SMALL)
    assert sorted(repo.roles) == ["base", "memcached", "zookeeper"]
    assert sorted(repo.environments) == ["_default", "production", "staging", "testing"]
    assert sorted(repo.nodes) == ["zk-legacy-1"]
    assert {bag: sorted(items) for bag, items in repo.data_bags.items()} == {
        "allowlist": ["new_zk_config"], "secrets": ["zookeeper"], "users": ["ops"]}
    assert sorted(repo.cookbooks) == ["base", "java", "memcached", "pd-zookeeper", "zookeeper"]
    assert repo.bootstrap == SMALL / "bootstrap" / "bootstrap.sh"
    assert repo.sources[("role", "memcached")] == SMALL / "roles" / "memcached.json"
    assert repo.sources[("environment", "testing")] == SMALL / "environments" / "testing.yml"
    assert repo.sources[("data_bag_item", "users/ops")] == SMALL / "data_bags/users/ops.yaml"
    assert repo.sources[("cookbook", "zookeeper")] == SMALL / "cookbooks/zookeeper/metadata.json"


def test_documents_are_normalised_to_chefs_full_shape() -> None:
    repo = load_repo(SMALL)
    assert repo.environments["testing"] == {
        "name": "testing", "description": "No pins; newest of everything",
        "json_class": "Chef::Environment", "chef_type": "environment", "cookbook_versions": {},
        "default_attributes": {}, "override_attributes": {}}
    assert repo.environments["_default"]["cookbook_versions"] == {}
    assert repo.nodes["zk-legacy-1"] == {
        "name": "zk-legacy-1", "chef_environment": "production", "json_class": "Chef::Node",
        "chef_type": "node", "run_list": ["role[zookeeper]"], "normal": {"zookeeper": {"myid": 7}},
        "default": {}, "override": {}, "automatic": {}}
    role = repo.roles["memcached"]
    assert role["env_run_lists"] == {} and role["override_attributes"] == {}
    assert role["json_class"] == "Chef::Role" and role["chef_type"] == "role"


def test_cookbooks_in_both_directories_and_their_fields() -> None:
    repo = load_repo(SMALL)
    zk = repo.cookbooks["zookeeper"]
    assert isinstance(zk, Cookbook)
    assert (zk.name, zk.version, zk.path) == ("zookeeper", "1.1.0", SMALL / "cookbooks/zookeeper")
    assert zk.depends == {"java": ">= 2.0.0"}
    assert zk.attributes == {"default": {"zookeeper": {"client_port": 2000,
                                                       "data_dir": "/var/lib/zookeeper",
                                                       "max_client_connections": 60}},
                             "override": {"zookeeper": {"conf_dir": "/etc/zookeeper/conf"}}}
    assert zk.files == ["attributes/default.yaml", "attributes/override.yaml", "metadata.json",
                        "recipes/debug.py", "recipes/default.py", "templates/zoo.cfg.j2"]
    assert zk.recipes == {"default", "debug"}
    wrapper = repo.cookbooks["pd-zookeeper"]
    assert wrapper.path == SMALL / "site-cookbooks/pd-zookeeper"
    assert wrapper.depends == {"zookeeper": "~> 1.0", "base": ">= 0.0.0"}
    memcached = repo.cookbooks["memcached"]
    assert memcached.version == "1.0.0" and memcached.depends == {"base": ">= 0.0.0"}


def test_manifest_shape_and_checksums() -> None:
    zk = load_repo(SMALL).cookbooks["zookeeper"]
    manifest = zk.manifest()
    assert set(manifest) == {"name", "version", "metadata", "attributes", "files", "frozen"}
    assert (manifest["name"], manifest["version"], manifest["frozen"]) == (
        "zookeeper", "1.1.0", False)
    assert manifest["metadata"] == {"name": "zookeeper", "version": "1.1.0",
                                    "description": "Apache ZooKeeper from Debian packages",
                                    "depends": {"java": ">= 2.0.0"}}
    assert manifest["attributes"] == zk.attributes
    assert [f["path"] for f in manifest["files"]] == zk.files
    recipe = next(f for f in manifest["files"] if f["path"] == "recipes/default.py")
    data = (SMALL / "cookbooks/zookeeper/recipes/default.py").read_bytes()
    assert recipe == {"path": "recipes/default.py", "checksum": hashlib.sha256(data).hexdigest(),
                      "size": len(data)}
    assert zk.manifest() is manifest


def test_load_cookbook_accepts_knife_backup_directories(tmp_path: Path) -> None:
    target = tmp_path / "cookbooks" / "zookeeper-1.1.0"
    shutil.copytree(SMALL / "cookbooks" / "zookeeper", target)
    (target / "recipes" / "__pycache__").mkdir()
    (target / "recipes" / "__pycache__" / "default.cpython-311.pyc").write_bytes(b"\0")
    (target / ".kitchen.yml").write_text("driver: docker\n")
    (target / "files" / "sub").mkdir(parents=True)
    (target / "files" / "sub" / "blob.bin").write_bytes(bytes(range(256)))
    cookbook = load_cookbook(target)
    assert (cookbook.name, cookbook.version) == ("zookeeper", "1.1.0")
    assert "files/sub/blob.bin" in cookbook.files
    assert not any("__pycache__" in f or f.startswith(".") for f in cookbook.files)
    assert cookbook.manifest()["files"][1]["path"] == "attributes/override.yaml"


def test_load_cookbook_reports_a_name_mismatch(tmp_path: Path) -> None:
    target = tmp_path / "other-1.1.0"
    shutil.copytree(SMALL / "cookbooks" / "zookeeper", target)
    with pytest.raises(ValidationError) as err:
        load_cookbook(target)
    [problem] = err.value.problems
    assert problem.path == str(target / "metadata.json")
    assert "does not match its directory 'other-1.1.0'" in problem.message
    assert problem.line == 2


def _disk(path: Path) -> dict:
    return json.loads(path.read_text())


def test_chef_shaped_documents_load_unchanged() -> None:
    repo = load_repo(CHEF)
    for kind, table in (("roles", repo.roles), ("environments", repo.environments),
                        ("nodes", repo.nodes)):
        files = sorted((CHEF / kind).glob("*.json"))
        assert sorted(table) == sorted(f.stem for f in files)
        for file in files:
            assert table[file.stem] == _disk(file), file
    for bag, items in repo.data_bags.items():
        for item_id, item in items.items():
            assert item == _disk(CHEF / "data_bags" / bag / f"{item_id}.json")
    assert repo.data_bags["passwords"]["mysql"]["root"]["version"] == 3


def test_chef_metadata_json_is_accepted_with_dependencies() -> None:
    repo = load_repo(CHEF)
    apache = repo.cookbooks["apache2"]
    assert apache.depends == {"base": ">= 0.0.0"} and apache.depends_key == "dependencies"
    assert apache.metadata["maintainer"] == "Sous Chefs"
    assert apache.metadata["depends"] == {"base": ">= 0.0.0"}
    assert "metadata.rb" in apache.files and apache.recipes == {"default", "mod_ssl"}


def test_yaml_dates_stay_strings_like_json(tmp_path: Path) -> None:
    shutil.copytree(SMALL, tmp_path / "r")
    (tmp_path / "r/data_bags/users/dated.yaml").write_text(
        "id: dated\nsince: 2024-01-02\nat: 2024-01-02 10:00:00\nanchor: &x {a: 1}\nalias: *x\n")
    item = load_repo(tmp_path / "r").data_bags["users"]["dated"]
    assert item == {"id": "dated", "since": "2024-01-02", "at": "2024-01-02 10:00:00",
                    "anchor": {"a": 1}, "alias": {"a": 1}}
    json.dumps(item)


def test_missing_ids_and_names_are_filled_from_the_file_name(tmp_path: Path) -> None:
    (tmp_path / "roles").mkdir()
    (tmp_path / "roles" / "empty.yaml").write_text("description: just a name\n")
    (tmp_path / "data_bags" / "b").mkdir(parents=True)
    (tmp_path / "data_bags" / "b" / "i.json").write_text('{"k": 1}')
    repo = load_repo(tmp_path)
    assert repo.roles["empty"]["name"] == "empty" and repo.roles["empty"]["run_list"] == []
    assert repo.data_bags["b"]["i"] == {"id": "i", "k": 1}
    assert repo.cookbooks == {} and repo.bootstrap is None
    assert list(repo.environments) == ["_default"]


def test_empty_collections_in_yaml_mean_empty(tmp_path: Path) -> None:
    (tmp_path / "roles").mkdir()
    (tmp_path / "roles" / "r.yaml").write_text("run_list:\ndefault_attributes:\n"
                                               "env_run_lists:\n  testing:\n")
    role = load_repo(tmp_path).roles["r"]
    assert role["run_list"] == [] and role["default_attributes"] == {}
    assert role["env_run_lists"] == {"testing": []}


def _generate(root: Path, roles: int, cookbooks: int, items: int, nodes: int) -> None:
    for c in range(cookbooks):
        d = root / "cookbooks" / f"cb{c}"
        (d / "recipes").mkdir(parents=True)
        (d / "attributes").mkdir()
        deps = {f"cb{x}": ">= 1.0" for x in range(max(0, c - 3), c)}
        (d / "metadata.json").write_text(json.dumps({"name": f"cb{c}", "version": "1.2.0",
                                                     "depends": deps}))
        (d / "attributes" / "default.yaml").write_text(yaml.safe_dump({f"cb{c}": {"port": c}}))
        (d / "recipes" / "default.py").write_text("package('x')\n")
    (root / "roles").mkdir()
    for r in range(roles):
        doc = {"name": f"role{r}", "run_list": [f"recipe[cb{(r * 7 + k) % cookbooks}]"
                                                for k in range(5)], "default_attributes": {"a": r}}
        (root / "roles" / f"role{r}.json").write_text(json.dumps(doc))
    for b in range(10):
        (root / "data_bags" / f"bag{b}").mkdir(parents=True)
        for i in range(items // 10):
            (root / "data_bags" / f"bag{b}" / f"item{i}.json").write_text(
                json.dumps({"id": f"item{i}", "value": i, "nested": {"x": [1, 2]}}))
    (root / "nodes").mkdir()
    for n in range(nodes):
        (root / "nodes" / f"node{n}.json").write_text(json.dumps(
            {"name": f"node{n}", "chef_environment": "_default",
             "run_list": [f"role[role{n % roles}]"], "normal": {"x": n}}))


def test_load_is_fast(tmp_path: Path) -> None:
    """A tenth of the restore benchmark's repo; the whole one loads in about a second."""
    _generate(tmp_path, roles=100, cookbooks=20, items=1000, nodes=1000)
    started = time.perf_counter()
    repo = load_repo(tmp_path)
    elapsed = time.perf_counter() - started
    assert (len(repo.roles), len(repo.cookbooks), len(repo.nodes)) == (100, 20, 1000)
    assert sum(map(len, repo.data_bags.values())) == 1000
    assert elapsed < 1.0, f"{elapsed:.2f} s for 2,120 files"


def test_repo_backup_convention(tmp_path):
    """backup/ beside roles/ is the repo's production backup; an explicit path wins."""
    from harness.repo import repo_backup

    assert repo_backup(tmp_path) is None
    (tmp_path / "backup").mkdir()
    assert repo_backup(tmp_path) == tmp_path / "backup"
    assert repo_backup(tmp_path, "other") == tmp_path / "other"
    assert repo_backup(tmp_path, tmp_path / "abs") == tmp_path / "abs"

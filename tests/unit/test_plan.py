"""`harness plan` on a git copy of the example repo: the issue's "done when" cases, one each.

Each test commits the example infrastructure (roles, environments, data bags, cookbooks,
backup, role specs, the data bag secret), changes the working tree as a pull request would,
and plans against HEAD: real git, real why-runs of the agent, no containers.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.ci.plan import Pair, Plan, compute_plan
from harness.ci.planrender import render
from harness.repo.encrypted import decrypt_item, encrypt_item

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("roles", "environments", "data_bags", "cookbooks", "site-cookbooks", "backup",
         "role_specs", ".chef")
ENVS = ["_default", "production", "staging", "testing"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                           "-c", "commit.gpgsign=false", *args],
                          check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    dest = tmp_path / "repo"
    for part in PARTS:
        shutil.copytree(ROOT / part, dest / part,
                        ignore=shutil.ignore_patterns("__pycache__"))
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "example infrastructure")
    return dest


def edit_json(path: Path, change: dict[str, Any]) -> None:
    doc = json.loads(path.read_text())
    doc.update(change)
    path.write_text(json.dumps(doc, indent=2))


def plan_of(repo: Path, **kwargs: Any) -> Plan:
    return compute_plan(repo, base="HEAD", progress=lambda line: None, **kwargs)


def changed(plan: Plan) -> dict[tuple[str, str], Pair]:
    return {(p.role, p.environment): p for p in plan.pairs if p.status != "unchanged"
            and p.status != "not reached"}


def keys(pair: Pair, kind: str) -> list[str]:
    assert pair.diff is not None
    return [entry["resource"] for entry in pair.diff["resources"][kind]]


def test_a_memcached_template_change_is_that_file_diff_in_every_environment(repo: Path) -> None:
    template = repo / "cookbooks/memcached/templates/memcached.conf.j2"
    template.write_text(template.read_text().replace("-t {{", "-R 40\n-t {{"))
    plan = plan_of(repo)
    # every environment solves memcached to the one version the repo has, the one changed
    assert sorted(changed(plan)) == [("memcached", env) for env in ENVS]
    for pair in changed(plan).values():
        assert pair.diff is not None
        assert keys(pair, "changed") == ["template[/etc/memcached.conf]"]
        assert keys(pair, "added") == keys(pair, "removed") == []
        assert pair.diff["cookbooks"] == [] and pair.diff["attributes"] == []
        (prop,) = pair.diff["resources"]["changed"][0]["properties"]
        assert prop["name"] == "content"
        added = [ln for ln in prop["diff"].splitlines() if ln.startswith("+") and
                 not ln.startswith("+++")]
        assert added == ["+-R 40"]
    others = {p.role: p.status for p in plan.pairs if p.role != "memcached"}
    assert set(others.values()) == {"not reached"}      # no other role reaches memcached
    out = render(plan, "text")
    assert "role memcached in _default, production, staging, testing" in out   # one diff
    assert "role zookeeper: not reached in _default, production, staging, testing\n" in out
    assert plan.exit_code == 0


def test_a_pin_change_in_production_moves_the_version_there_only(repo: Path) -> None:
    """production pins app = 1.0.0 (only in backup/); pinning 1.1.0 (the repo's) changes app
    in production, and nothing in staging, which pins 1.0.0 still."""
    env = repo / "environments/production.json"
    doc = json.loads(env.read_text())
    doc["cookbook_versions"]["app"] = "= 1.1.0"
    edit_json(env, doc)
    plan = plan_of(repo)
    assert sorted(changed(plan)) == [("app", "production")]
    pair = changed(plan)[("app", "production")]
    assert pair.diff is not None
    assert pair.diff["cookbooks"] == [{"name": "app", "base": "1.0.0", "head": "1.1.0"}]
    # 1.1.0 also reloads systemd when the unit file changes (a new notification, a new execute)
    assert keys(pair, "changed") == ["cookbook_file[/usr/local/lib/app/app.py]",
                                     "template[/etc/app/app.conf]",
                                     "template[/etc/systemd/system/app.service]"]
    assert keys(pair, "added") == ["execute[systemctl daemon-reload (app)]"]
    app_py = pair.diff["resources"]["changed"][0]["properties"][0]
    assert app_py["name"] == "content" and '+                answer = {**identity, "address"' \
        in app_py["diff"]
    assert pair.diff["attributes"] == [{"path": "app.release", "base": "1.0.0",
                                        "head": "1.1.0"}]
    # the environment change is planned for every role in production, and only there
    reached = {(p.role, p.environment) for p in plan.pairs if p.status != "not reached"}
    assert {e for _, e in reached} == {"production"} and len(reached) == 6


def test_a_role_attribute_change_shows_every_resource_it_reaches(repo: Path) -> None:
    edit_json(repo / "roles/zookeeper.json",
              {"default_attributes": {"zookeeper": {"data_dir": "/srv/zookeeper"}}})
    plan = plan_of(repo, environments=["production"])
    assert sorted(changed(plan)) == [("zookeeper", "production")]
    pair = changed(plan)[("zookeeper", "production")]
    assert keys(pair, "added") == ["directory[/srv/zookeeper]", "link[/srv/zookeeper/myid]"]
    assert keys(pair, "removed") == ["directory[/var/lib/zookeeper]",
                                     "link[/var/lib/zookeeper/myid]"]
    assert keys(pair, "changed") == ["template[/etc/zookeeper/conf_managed/zoo.cfg]"]
    diff = pair.diff["resources"]["changed"][0]["properties"][0]["diff"]   # type: ignore[index]
    assert "-dataDir=/var/lib/zookeeper\n+dataDir=/srv/zookeeper\n" in diff
    assert pair.diff["attributes"] == [{"path": "zookeeper.data_dir",  # type: ignore[index]
                                        "base": "/var/lib/zookeeper", "head": "/srv/zookeeper"}]
    # the spec's cluster marker (zookeeper=3) gives the peers the searches find
    assert (pair.node, pair.peers) == ("zookeeper-1", ["zookeeper-2", "zookeeper-3"])
    assert pair.peers_from == "role_specs/test_zookeeper.py"


def test_peers_answer_the_searches(repo: Path) -> None:
    """A change in zoo.cfg's server lines shows the three members the spec starts."""
    template = repo / "cookbooks/zookeeper/templates/zoo.cfg.j2"
    template.write_text(template.read_text().replace(
        '["election_port"] }}', '["election_port"] }};2181'))
    plan = plan_of(repo, roles=["zookeeper"], environments=["production"])
    (pair,) = changed(plan).values()
    diff = pair.diff["resources"]["changed"][0]["properties"][0]["diff"]   # type: ignore[index]
    assert [ln for ln in diff.splitlines() if ln.startswith("+server.")] == [
        f"+server.{n}=10.0.0.{n}:2888:3888;2181" for n in (1, 2, 3)]


def test_a_changed_secret_shows_as_digests_never_in_clear(repo: Path) -> None:
    """app.conf is sensitive (Chef: the whole resource is "suppressed sensitive resource
    output", lib/chef/resource.rb to_text): the plan says it changed, with digests; neither
    the old nor the new password appears in any format."""
    secret = (repo / ".chef/encrypted_data_bag_secret").read_bytes()
    item_file = repo / "data_bags/app/secrets.json"
    plain = decrypt_item(json.loads(item_file.read_text()), secret)
    old_password, new_password = plain["db_password"], "a-brand-new-password-42"
    item_file.write_text(json.dumps(encrypt_item({**plain, "db_password": new_password},
                                                 secret), indent=2))
    plan = plan_of(repo, roles=["app"])
    assert sorted(changed(plan)) == [("app", env) for env in ENVS]
    pair = changed(plan)[("app", "production")]
    (entry,) = pair.diff["resources"]["changed"]                     # type: ignore[index]
    assert entry["resource"] == "template[/etc/app/app.conf]" and entry["sensitive"]
    props = {p["name"]: p for p in entry["properties"]}
    assert set(props) == {"content", "variables"}
    for prop in props.values():
        assert prop["base"].startswith("hmac-sha256:") and prop["head"].startswith("hmac-sha256:")
        assert prop["base"] != prop["head"]
    for fmt in ("text", "markdown", "json"):
        out = render(plan, fmt)
        assert old_password not in out and new_password not in out
        assert "sensitive: values hidden" in out or fmt == "json"


def test_a_secret_in_a_resource_not_marked_sensitive_is_replaced(repo: Path) -> None:
    """Decrypted values are hidden wherever a recipe puts them, not only in sensitive ones."""
    recipe = repo / "site-cookbooks/app/recipes/default.py"
    recipe.write_text(recipe.read_text() + '\nfile("/etc/app/leak", content="pw=" + '
                      'secrets["db_password"] + "\\n")\n')
    plan = plan_of(repo, roles=["app"], environments=["testing"])
    (pair,) = changed(plan).values()
    (added,) = pair.diff["resources"]["added"]                       # type: ignore[index]
    password = decrypt_item(json.loads((repo / "data_bags/app/secrets.json").read_text()),
                            (repo / ".chef/encrypted_data_bag_secret").read_bytes())["db_password"]
    assert added["properties"]["content"].startswith("pw=<secret hmac-sha256:")
    for fmt in ("text", "markdown", "json"):
        assert password not in render(plan, fmt)


def test_no_change_is_one_line_per_role(repo: Path) -> None:
    plan = plan_of(repo)
    lines = render(plan, "text").splitlines()
    assert lines[1:-1] == [f"role {role}: not reached in {', '.join(ENVS)}" for role in
                           ("app", "base", "loadbalancer", "mail", "memcached", "zookeeper")]


def test_a_head_that_does_not_validate_is_bad_input_naming_the_side(repo: Path) -> None:
    from harness.errors import ValidationError
    edit_json(repo / "roles/app.json", {"run_list": ["role[nope]"]})
    with pytest.raises(ValidationError) as err:
        plan_of(repo)
    assert str(err.value).startswith("head side (working tree): roles/app.json")


def test_a_base_that_does_not_validate_names_the_base_side(repo: Path) -> None:
    from harness.errors import ValidationError
    edit_json(repo / "roles/app.json", {"run_list": ["role[nope]"]})
    git(repo, "commit", "-qam", "broken")
    edit_json(repo / "roles/app.json", {"run_list": ["role[base]", "recipe[app]"]})
    with pytest.raises(ValidationError) as err:
        plan_of(repo)
    assert str(err.value).startswith("base side (HEAD at ") and "roles/app.json" in str(err.value)


def test_a_role_failing_at_the_head_exits_1(repo: Path) -> None:
    recipe = repo / "cookbooks/memcached/recipes/default.py"
    recipe.write_text(recipe.read_text() + "\nraise RuntimeError('broken on purpose')\n")
    plan = plan_of(repo, environments=["production"])
    (pair,) = [p for p in plan.pairs if p.status == "failed"]
    assert pair.role == "memcached" and pair.base is None and "broken on purpose" in (pair.head or "")
    assert plan.exit_code == 1
    assert "FAILS on the head side" in render(plan, "text")


def test_a_new_role_is_all_additions_and_a_deleted_one_all_removals(repo: Path) -> None:
    (repo / "roles/mail.json").unlink()
    doc = json.loads((repo / "roles/memcached.json").read_text())
    (repo / "roles/cache.json").write_text(json.dumps({**doc, "name": "cache"}))
    plan = plan_of(repo, environments=["staging"])
    assert sorted(changed(plan)) == [("cache", "staging"), ("mail", "staging")]
    new, gone = changed(plan)[("cache", "staging")], changed(plan)[("mail", "staging")]
    assert new.base == "role cache does not exist on the base side" and new.head is None
    assert "template[/etc/memcached.conf]" in keys(new, "added") and keys(new, "removed") == []
    assert {"name": "memcached", "base": None, "head": "1.2.1"} in new.diff["cookbooks"]  # type: ignore[index]
    assert gone.head == "role mail does not exist on the head side"
    assert "template[/etc/postfix/main.cf]" in keys(gone, "removed") and keys(gone, "added") == []
    assert plan.exit_code == 0

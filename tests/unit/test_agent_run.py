"""A whole agent run against the fake server: compile, converge, node saves, report, CLI."""
from __future__ import annotations

import json

import pytest
from test_agent_crypto import SECRET, encrypt_value
from test_agent_support import FakeApi, FakeRunner, unit_state

from harness.agent import cli
from harness.agent.cookbooks import FileCache
from harness.agent.errors import RecipeError
from harness.agent.runner import Run

FACTS = {"hostname": "web-1", "fqdn": "web-1.example.com", "ipaddress": "10.0.0.9"}


def web_api(tmp_path, **overrides) -> FakeApi:
    """A node running web::default, which includes base and uses most of the API."""
    out = tmp_path / "out"
    recipes = {
        "base": {"recipes/default.py": (
            f"directory({str(out)!r}, mode='0755')\n"
            f"file({str(out / 'motd')!r}, content='hi ' + node['fqdn'] + '\\n')\n")},
        "web": {
            "recipes/default.py": (
                "include_recipe('base')\n"
                "peers = search('node', 'role:web')\n"
                "creds = data_bag_item('secrets', 'db')\n"
                f"template({str(out / 'web.conf')!r}, source='web.conf.j2',\n"
                "         variables={'peers': [p['ipaddress'] for p in peers],\n"
                "                    'password': creds['password']},\n"
                "         notifies=[('restart', 'service[nginx]')])\n"
                "service('nginx', action=['enable', 'start'])\n"
                "if node.in_allowlist('new_proxy'):\n"
                f"    file({str(out / 'new')!r}, content='yes')\n"),
            "templates/web.conf.j2": ("port={{ node['web']['port'] }}\n"
                                      "{% for p in peers %}peer={{ p }}\n{% endfor %}"
                                      "password={{ password }}\n")}}
    kwargs = dict(cookbooks=recipes, recipes=["web::default"], roles=["web"],
                  attributes={"web": {"port": 8080}},
                  bags={"secrets": {"db": {"id": "db", "password": encrypt_value("pw1")}},
                        "allowlist": {"new_proxy": {"id": "new_proxy",
                                                    "patterns": ["web-*.example.com"]}}},
                  nodes=[{"name": "web-2", "automatic": {"ipaddress": "10.0.0.2"}},
                         {"name": "web-1", "automatic": {"ipaddress": "10.0.0.1"}}])
    kwargs.update(overrides)
    return FakeApi("web-1", **kwargs)


def do_run(api, tmp_path, *, why_run=False, runner=None):
    lines: list[str] = []
    runner = runner or unit_state("inactive", "disabled")
    run = Run(api, "web-1", why_run=why_run, secret=SECRET, facts=dict(FACTS),
              cache=FileCache(tmp_path / "cache"), run=runner, out=lines.append)
    return run.execute(), lines, runner


def test_full_run_converges_and_reports(tmp_path):
    api = web_api(tmp_path)
    report, lines, runner = do_run(api, tmp_path)
    out = tmp_path / "out"
    assert report["status"] == "success" and report["failure"] is None
    assert (out / "motd").read_text() == "hi web-1.example.com\n"
    assert (out / "web.conf").read_text() == ("port=8080\npeer=10.0.0.1\npeer=10.0.0.2\n"
                                              "password=pw1\n")
    assert (out / "new").read_text() == "yes"
    keys = [(e["resource"], e["action"]) for e in report["resources"]]
    assert keys == [(f"directory[{out}]", "create"), (f"file[{out}/motd]", "create"),
                    (f"template[{out}/web.conf]", "create"), ("service[nginx]", "enable"),
                    ("service[nginx]", "start"), (f"file[{out}/new]", "create"),
                    ("service[nginx]", "restart")]
    assert report["searches"] == [{"index": "node", "query": "role:web",
                                   "names": ["web-1", "web-2"]}]
    assert set(report) >= {"node", "status", "started_at", "seconds", "why_run", "resources",
                           "changed", "failure"}
    assert runner.ran("systemctl", "--system", "restart", "nginx")
    saved = [doc for path, doc in api.puts if path == "/nodes/web-1"]
    assert len(saved) == 1, "saved once, after the converge succeeded (converge_and_save)"
    assert saved[0]["automatic"]["roles"] == ["web"]
    # with_duplicate_names, then base::default, which web::default included (loaded_recipe)
    assert saved[0]["automatic"]["recipes"] == ["web", "web::default", "base::default"]
    assert saved[0]["automatic"]["expanded_run_list"] == ["web::default"]
    assert saved[0]["automatic"]["ipaddress"] == "10.0.0.9"
    assert any(line.startswith("  * template[") and "(changed)" in line for line in lines)


def test_second_run_changes_nothing_and_uses_the_cache(tmp_path):
    api = web_api(tmp_path)
    do_run(api, tmp_path)
    fetched = api.file_gets
    runner = unit_state("active", "enabled")
    report, _, runner = do_run(api, tmp_path, runner=runner)
    assert report["status"] == "success" and report["changed"] == []
    assert not runner.ran("systemctl", "--system", "restart")
    assert api.file_gets == fetched, "cookbook files come from the checksum cache"


def test_why_run_touches_nothing(tmp_path):
    api = web_api(tmp_path)
    report, lines, runner = do_run(api, tmp_path, why_run=True)
    assert report["why_run"] is True and report["status"] == "success"
    assert not (tmp_path / "out").exists()
    assert api.puts == [] and runner.calls == []
    assert len(report["resources"]) == 6 and report["changed"] == []
    assert any("(would run)" in line for line in lines)


def test_recipe_error_names_cookbook_file_and_line(tmp_path):
    api = FakeApi(cookbooks={"app": {"recipes/default.py": "x = 1\n\ny = node['nope']['x']\n"}},
                  recipes=["app::default"])
    report, _, _ = do_run(api, tmp_path)
    assert report["status"] == "failure"
    assert report["failure"]["resource"] == "recipe[app::default]"
    assert "app/recipes/default.py:3" in report["failure"]["message"]
    assert "node['nope']" in report["failure"]["message"]


def test_error_in_included_recipe_points_at_the_inner_file(tmp_path):
    api = FakeApi(cookbooks={"app": {"recipes/default.py": "include_recipe('app::inner')\n",
                                     "recipes/inner.py": "\n\nfile('/x', colour=1)\n"}},
                  recipes=["app::default"])
    report, _, _ = do_run(api, tmp_path)
    assert report["failure"]["resource"] == "file[/x]"
    assert "app/recipes/inner.py:3" in report["failure"]["message"]
    assert "unknown property colour" in report["failure"]["message"]


def test_missing_recipe_and_cookbook(tmp_path):
    api = FakeApi(cookbooks={"app": {"recipes/default.py": "include_recipe('app::nope')\n"}},
                  recipes=["app::default", "other"])
    report, _, _ = do_run(api, tmp_path)
    assert "has no recipes/nope.py" in report["failure"]["message"]
    api = FakeApi(cookbooks={"app": {"recipes/default.py": "include_recipe('other')\n"}},
                  recipes=["app"])
    report, _, _ = do_run(api, tmp_path)
    assert "cookbook other is not in this node's policy" in report["failure"]["message"]


def test_include_recipe_runs_once(tmp_path):
    api = FakeApi(cookbooks={"app": {
        "recipes/default.py": "include_recipe('app::a')\ninclude_recipe('app::a')\n",
        "recipes/a.py": f"file({str(tmp_path / 'a')!r}, content='a')\n"}},
        recipes=["app::default", "app::a"])
    report, _, _ = do_run(api, tmp_path)
    assert [e["resource"] for e in report["resources"]] == [f"file[{tmp_path / 'a'}]"]


def test_failing_resource_fails_the_run_and_declaration_site_is_named(tmp_path):
    api = FakeApi(cookbooks={"app": {"recipes/default.py": (
        f"file({str(tmp_path / 'ok')!r}, content='')\n"
        "execute('migrate', command='./migrate')\n"
        f"file({str(tmp_path / 'never')!r}, content='')\n")}}, recipes=["app"])
    report, _, _ = do_run(api, tmp_path, runner=FakeRunner().when("./migrate", rc=3))
    assert report["failure"]["resource"] == "execute[migrate]"
    assert "command exited 3" in report["failure"]["message"]
    assert "declared at app/recipes/default.py:2" in report["failure"]["message"]
    assert not (tmp_path / "never").exists()
    assert [d for p, d in api.puts if p == "/nodes/web-1"] == [], "a failed run saves nothing"


def test_encrypted_item_without_secret_is_a_clear_error(tmp_path):
    api = web_api(tmp_path)
    run = Run(api, "web-1", facts=dict(FACTS), run=FakeRunner(), out=lambda line: None)
    report = run.execute()
    assert "data bag item secrets/db is encrypted but the agent has no secret_file" in \
        report["failure"]["message"]


def cli_setup(tmp_path, monkeypatch, api):
    monkeypatch.setattr(cli, "Api", lambda url, token: api)
    monkeypatch.setattr("harness.agent.ohai.collect", lambda url=None: dict(FACTS))
    (tmp_path / "token").write_text("tok\n")
    config = {"server_url": "http://x:1", "node_name": "web-1", "token_file":
              str(tmp_path / "token"), "cache_dir": str(tmp_path / "cache")}
    (tmp_path / "agent.json").write_text(json.dumps(config))
    return ["--config", str(tmp_path / "agent.json")]


def test_cli_converge_failure_exits_1_with_failed_line(tmp_path, monkeypatch, capsys):
    api = FakeApi(cookbooks={"app": {"recipes/default.py": (
        f"template({str(tmp_path / 'conf')!r}, source='missing.j2')\n")}}, recipes=["app"])
    argv = cli_setup(tmp_path, monkeypatch, api)
    assert cli.main(["converge", *argv, "--json"]) == 1
    captured = capsys.readouterr()
    last = captured.err.strip().splitlines()[-1]
    assert last == (f"FAILED: template[{tmp_path / 'conf'}]: Cookbook 'app' (1.0.0) does not "
                    "contain a file at any of these locations: | templates/host-web-1.example.com"
                    "/missing.j2 | templates/-/missing.j2 | templates//missing.j2 | templates/"
                    "default/missing.j2 | templates/missing.j2 (declared at "
                    "app/recipes/default.py:1)")
    report = json.loads(captured.out.strip().splitlines()[-1])
    assert report["status"] == "failure" and api.posts[0][0] == "/reports/nodes/web-1/runs"


def test_cli_converge_success_exits_0(tmp_path, monkeypatch, capsys):
    api = FakeApi(cookbooks={"app": {"recipes/default.py": "log('hello')\n"}}, recipes=["app"])
    argv = cli_setup(tmp_path, monkeypatch, api)
    assert cli.main([*argv, "converge"]) == 0
    assert "[info] hello" in capsys.readouterr().out


def test_cli_bad_config_is_one_line(tmp_path, capsys):
    assert cli.main(["converge", "--config", str(tmp_path / "nope.json")]) == 2
    assert capsys.readouterr().err.strip() == \
        f"harness-agent: config file {tmp_path / 'nope.json'} does not exist"
    (tmp_path / "bad.json").write_text("{}")
    assert cli.main(["converge", "--config", str(tmp_path / "bad.json")]) == 2
    assert "missing server_url, node_name" in capsys.readouterr().err


def test_cli_unreachable_server_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("harness.agent.api.RETRY_DELAYS", ())
    (tmp_path / "token").write_text("tok")
    (tmp_path / "agent.json").write_text(json.dumps({
        "server_url": "http://127.0.0.1:9", "node_name": "n",
        "token_file": str(tmp_path / "token"), "cache_dir": str(tmp_path / "c")}))
    assert cli.main(["converge", "--config", str(tmp_path / "agent.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("harness-agent: cannot reach config server at http://127.0.0.1:9")


def test_why_run_failure_raises_for_the_unit_layer(tmp_path):
    api = FakeApi(cookbooks={"app": {"recipes/default.py": "boom(\n"}}, recipes=["app"])
    run = Run(api, "web-1", why_run=True, facts={}, out=lambda line: None)
    run.prepare()
    with pytest.raises(RecipeError, match=r"app/recipes/default.py:1\): SyntaxError"):
        run.compile()


def test_automatic_recipes_carry_both_spellings_of_a_default_recipe():
    """Chef::Node#expand! saves `automatic_attrs[:recipes] =
    expansion.recipes.with_duplicate_names` (chef/chef lib/chef/node.rb); VersionedRecipeList
    #with_duplicate_names lists "foo::default" also as "foo", "foo" also as "foo::default",
    and "foo::bar" alone (lib/chef/run_list/versioned_recipe_list.rb)."""
    from harness.agent.runner import with_duplicate_names

    assert with_duplicate_names(["base::default", "zk::config", "apt"]) == [
        "base", "base::default", "zk::config", "apt", "apt::default"]

"""Ruby and ERB in a cookbook are reported, never dropped silently.

Chef loads a cookbook's attributes/*.rb (or root attributes.rb), libraries/**/*.rb,
resources/*.rb and providers/*.rb, recipes/*.rb (or root recipe.rb), and a template resource
renders `#{File.basename(name)}.erb` by default (chef/chef at 688d3ad:
lib/chef/run_context/cookbook_compiler.rb `load_attributes_from_cookbook`,
`load_libraries_from_cookbook`, `load_lwrps_from_cookbook`; lib/chef/cookbook_version.rb
COOKBOOK_SEGMENTS and `load_recipe`; lib/chef/resource/template.rb `@source`).
The harness runs none of it, so `harness validate` warns per file, and a run-list recipe
or a template source that exists only as Ruby/ERB is an error.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from test_agent_server import SECRET, write_repo

from harness.agent.cookbooks import Cookbook as AgentCookbook
from harness.agent.errors import RecipeError
from harness.agent.runner import why_run
from harness.agent.templates import render_template
from harness.cli import main
from harness.client import Client
from harness.errors import NotFound, ValidationError
from harness.repo import RepoSource, compile_policy, load_repo
from harness.repo.rubyfiles import unread_files
from harness.restore import restore
from harness.server.serve import ConfigServer

RUBY_FILES = {
    "attributes/default.rb": "default['legacy']['port'] = 8080\n",
    "attributes/tuning.rb": "default['legacy']['heap'] = '1g'\n",
    "libraries/helpers.rb": "module Helpers; end\n",
    "resources/thing.rb": "property :name, String\n",
    "providers/thing.rb": "action :create do; end\n",
    "definitions/site.rb": "define :site do; end\n",
    "recipes/legacy.rb": "package 'legacy'\n",
    "templates/default/legacy.conf.erb": "port <%= node['legacy']['port'] %>\n",
}


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    cb = {f"site-cookbooks/legacy/{rel}": text for rel, text in RUBY_FILES.items()}
    _write(tmp_path, {
        **cb,
        "site-cookbooks/legacy/metadata.yaml": "name: legacy\nversion: 1.0.0\n",
        "site-cookbooks/legacy/attributes/default.yaml": "legacy: {user: app}\n",
        "site-cookbooks/legacy/recipes/default.py": 'package("legacy")\n',
        "site-cookbooks/legacy/metadata.rb": "name 'legacy'\n",    # compiled form is read
        "site-cookbooks/legacy/spec/default_spec.rb": "describe 'x' do; end\n",  # not Chef's
        "roles/legacy.json": '{"name": "legacy", "run_list": ["recipe[legacy]"]}\n',
    })
    return tmp_path


def test_every_ruby_and_erb_file_is_a_warning_and_validate_still_passes(repo, capsys):
    """Each file Chef would load is named, with what is lost (attributes vanish)."""
    assert main(["validate", "--repo", str(repo)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("ok: ")
    lines = err.splitlines()
    assert len(lines) == len(RUBY_FILES)
    for rel in RUBY_FILES:
        assert any(f"site-cookbooks/legacy/{rel}: " in line for line in lines), rel
    assert all(line.startswith("harness: warning: ") for line in lines)
    attr = next(line for line in lines if "attributes/default.rb" in line)
    assert "the attributes it sets are missing" in attr
    erb = next(line for line in lines if line.endswith("NAME.j2)"))
    assert "legacy.conf.erb: ERB template is not rendered" in erb


def test_the_ruby_attributes_really_are_absent_from_the_policy(repo):
    """The warning is true: only attributes/default.yaml reaches the node."""
    policy = compile_policy(RepoSource(load_repo(repo)), name="n", environment="_default",
                            run_list=["role[legacy]"])
    assert policy["attributes"] == {"legacy": {"user": "app"}}


def test_a_run_list_recipe_that_exists_only_in_ruby_is_an_error(repo, capsys):
    (repo / "roles/legacy.json").write_text(
        '{"name": "legacy", "run_list": ["recipe[legacy::legacy]"]}\n')
    assert main(["validate", "--repo", str(repo)]) == 2
    err = capsys.readouterr().err
    assert ("recipe[legacy::legacy]: cookbook legacy has no recipes/legacy.py (only "
            "recipes/legacy.rb, and Ruby recipes are not read)") in err


def test_a_literal_template_source_that_exists_only_as_erb_is_an_error(repo):
    """template("/etc/legacy.conf") renders legacy.conf.j2 by default; only the ERB exists."""
    (repo / "site-cookbooks/legacy/recipes/default.py").write_text(
        'package("legacy")\n\ntemplate("/etc/legacy.conf", mode="0644")\n'
        'template("/etc/other", source=f"{1}.j2")\n')   # computed: left to the agent
    with pytest.raises(ValidationError) as info:
        load_repo(repo)
    (problem,) = info.value.problems
    assert problem.path.endswith("site-cookbooks/legacy/recipes/default.py")
    assert problem.line == 3
    assert problem.message.startswith("template source 'legacy.conf.j2' exists only as "
                                      "templates/default/legacy.conf.erb: ERB template is not")


def test_a_source_in_a_specificity_directory_is_not_erb_only(repo):
    """A node finds templates/debian/legacy.conf.j2 (or default/) by Chef's file specificity
    (cookbook_version.rb preferences_for_path), so the ERB beside it is only a warning."""
    (repo / "site-cookbooks/legacy/recipes/default.py").write_text(
        'template("/etc/legacy.conf", mode="0644")\n')
    (repo / "site-cookbooks/legacy/templates/debian").mkdir(parents=True)
    (repo / "site-cookbooks/legacy/templates/debian/legacy.conf.j2").write_text("x\n")
    load_repo(repo)


def test_the_server_side_compile_says_why_a_recipe_is_missing() -> None:
    """A backup's cookbook may carry only recipes/x.rb: the 412 names it."""
    manifest = {"name": "old", "version": "1.0.0", "metadata": {"depends": {}},
                "attributes": {}, "files": [{"path": "recipes/default.rb"}]}

    class Source:
        def role(self, name: str) -> None:
            return None

        def environment(self, name: str) -> None:
            return None

        def cookbook_manifests(self) -> dict:
            return {"old": {"1.0.0": manifest}}
    with pytest.raises(NotFound, match=r"no recipes/default\.py \(only recipes/default\.rb, "
                                       "and Ruby recipes are not read"):
        compile_policy(Source(), name="n", environment="_default", run_list=["recipe[old]"])


def _book(files: dict[str, str]) -> AgentCookbook:
    manifest = {"name": "legacy", "version": "1.0.0", "files": [{"path": p} for p in files]}
    return AgentCookbook(manifest, lambda path: files[path].encode())


@pytest.mark.parametrize("source", ["legacy.conf.j2", "default/legacy.conf.erb"])
def test_the_agent_refuses_erb_and_says_so(source: str) -> None:
    """At converge (and why-run) a computed source meets the same rule: an ERB file is never
    rendered as Jinja2 text, and a missing .j2 with an ERB twin names the twin."""
    book = _book({"templates/default/legacy.conf.erb": "port <%= 1 %>\n"})
    with pytest.raises(ValueError, match=r"only templates/default/legacy\.conf\.erb: ERB "
                                         "templates are not rendered"):
        render_template(book, source, node=None, variables={}, state={})


def test_unread_files_leave_non_chef_ruby_alone() -> None:
    files = ["metadata.rb", "Berksfile", "spec/x_spec.rb", "test/x.rb", "recipes/a.py",
             "templates/a.j2", "files/x.rb", "attributes/default.yaml"]
    assert list(unread_files(files)) == []
    assert [rel for rel, _ in unread_files(["attributes.rb", "recipe.rb"])] == \
        ["attributes.rb", "recipe.rb"]          # Chef's root_files aliases are loaded too


def test_why_run_fails_on_a_computed_source_that_exists_only_as_erb(tmp_path) -> None:
    """validate cannot see a computed source; the agent's why-run (and converge) names it."""
    out = tmp_path / "out"
    root = write_repo(tmp_path / "repo", out,
                      f"template({str(out / 'legacy.conf')!r}, source='legacy' + '.conf.j2')\n")
    (root / "site-cookbooks/web/templates/legacy.conf.erb").write_text("<%= 1 %>\n")
    with ConfigServer(agent_pyz=b"unused") as server:
        admin = Client(server.url, server.admin_token)
        restore(admin, root)
        admin.put("/nodes/web-1", {"name": "web-1", "chef_environment": "production",
                                   "run_list": ["role[web]"]})
        token = admin.post("/clients", {"name": "web-1"})["token"]
        with pytest.raises(RecipeError, match=r"(?s)template\[.*legacy\.conf\]: Cookbook 'web' "
                           r"\(.*\) does not contain a file at any of these locations:.*"
                           r"  templates/legacy\.conf\.j2\n.*"
                           r"\(only templates/legacy\.conf\.erb: ERB"):
            why_run(server.url, token, "web-1", secret=SECRET)
        admin.close()

"""Which cookbook file a cookbook_file or template uses: Chef's file specificity
(chef/chef lib/chef/cookbook_version.rb preferences_for_path, preferred_manifest_record;
provider/template_finder.rb), for sources, lists of sources and template includes."""
from __future__ import annotations

import pytest
from test_agent_support import book, context

from harness.agent.cookbooks import preferences_for_path
from harness.agent.errors import ResourceFailure
from harness.agent.files import CookbookFile, Template
from harness.agent.node import Node

FACTS = {"fqdn": "web-1.example.com", "platform": "debian", "platform_version": "12.8"}
LEVELS = ["host-web-1.example.com", "debian-12.8", "debian-12", "debian", "default", ""]


def node(**facts) -> Node:
    return Node("web-1", "_default", {**FACTS, **facts}, roles=[], recipes=[])


def test_preferences_for_path_is_chefs_order():
    """cookbook_version.rb preferences_for_path: host-<fqdn>, <platform>-<version> for each
    version prefix ("12.8", "12"), <platform>, default, then the segment's root; a list of
    names is tried as given; without a platform or a version neither is searched
    (find_platform_and_version raises, rescued as "/unknown_platform/")."""
    assert preferences_for_path(node(), "files", "foo") == [
        "files/host-web-1.example.com/foo", "files/debian-12.8/foo", "files/debian-12/foo",
        "files/debian/foo", "files/default/foo", "files/foo"]
    assert preferences_for_path(node(platform_version="13.1.2"), "templates", "a/b.j2")[1:4] == [
        "templates/debian-13.1.2/a/b.j2", "templates/debian-13.1/a/b.j2",
        "templates/debian-13/a/b.j2"]
    assert preferences_for_path(node(), "files", ["x", "default/y"]) == ["files/x",
                                                                      "files/default/y"]
    assert preferences_for_path(None, "files", "foo") == [
        "files/host-/foo", "files/unknown_platform/-/unknown_platform_version/foo",
        "files/unknown_platform/foo", "files/default/foo", "files/foo"]   # File.join's slashes
    assert preferences_for_path(node(platform=None, os="linux"), "files", "f")[1] == \
        "files/linux-12.8/f"


@pytest.mark.parametrize("level", range(len(LEVELS)))
def test_cookbook_file_takes_the_most_specific_file(tmp_path, level):
    """preferred_manifest_record: the first of the preferences the cookbook has, so with
    files at every level, each level wins over all below it (default/ over the root)."""
    files = {"/".join(filter(None, ["files", d, "app.conf"])): d or "root"
             for d in LEVELS[level:]}
    ctx, _ = context({"app": book("app", files)}, node())
    target = tmp_path / "app.conf"
    CookbookFile(ctx, str(target), cookbook="app").apply("create")
    assert target.read_text() == (LEVELS[level] or "root")


def test_cookbook_file_list_source_first_found_as_given(tmp_path):
    """cookbook_file `source` is [String, Array]; an Array is the search path itself
    (preferences_for_path `if path.is_a?(Array)`): first found wins, no specificity."""
    ctx, _ = context({"app": book("app", {"files/default/b": "default b", "files/b": "root b",
                                          "files/c": "c"})}, node())
    CookbookFile(ctx, str(tmp_path / "x"), source=["a", "b", "c"], cookbook="app").apply("create")
    assert (tmp_path / "x").read_text() == "root b"
    with pytest.raises(ResourceFailure, match="locations:\n  files/a\n  files/z\n\nThis "
                                              "cookbook _does_ contain: "
                                              r"\['files/b','files/c','files/default/b'\]$"):
        CookbookFile(ctx, str(tmp_path / "y"), source=["a", "z"], cookbook="app").apply("create")


def test_not_found_is_chefs_file_not_found_message(tmp_path):
    """preferred_manifest_record's FileNotFound: the five places (the full version only)
    and what the cookbook's segment does contain."""
    ctx, _ = context({"app": book("app", {"files/default/other": "x", "templates/t.j2": ""})},
                     node())
    with pytest.raises(ResourceFailure) as err:
        CookbookFile(ctx, str(tmp_path / "x"), source="foo", cookbook="app").apply("create")
    assert str(err.value).endswith(
        "Cookbook 'app' (1.0.0) does not contain a file at any of these locations:\n"
        "  files/host-web-1.example.com/foo\n  files/debian-12.8/foo\n  files/debian/foo\n"
        "  files/default/foo\n  files/foo\n\n"
        "This cookbook _does_ contain: ['files/default/other']")


def test_template_and_its_includes_use_specificity(tmp_path):
    """provider/template_finder.rb finds the template and each partial with
    preferred_filename_on_disk_location(node, :templates, name): templates/default/NAME is
    found (it was "no templates/NAME" before), and a host file beats it, for includes too."""
    cb = book("app", {"templates/default/bar.j2": "bar {% include 'part.j2' %}",
                      "templates/default/part.j2": "default part",
                      "templates/host-web-1.example.com/part.j2": "host part",
                      "templates/part.j2": "root part"})
    ctx, _ = context({"app": cb}, node())
    Template(ctx, str(tmp_path / "bar"), cookbook="app").apply("create")
    assert (tmp_path / "bar").read_text() == "bar host part"
    ctx, _ = context({"app": cb}, node(fqdn="web-2.example.com"))
    Template(ctx, str(tmp_path / "bar2"), source="bar.j2", cookbook="app").apply("create")
    assert (tmp_path / "bar2").read_text() == "bar default part"


def test_template_list_source_and_not_found(tmp_path):
    """resource/template.rb `source` is [String, Array]: an Array is tried as given; the
    finder's FileNotFound names the places it looked."""
    cb = book("app", {"templates/default/a.j2": "default a", "templates/b.j2": "b"})
    ctx, _ = context({"app": cb}, node())
    Template(ctx, str(tmp_path / "x"), source=["a.j2", "b.j2"], cookbook="app").apply("create")
    assert (tmp_path / "x").read_text() == "b"
    with pytest.raises(ResourceFailure, match=r"does not contain a file at any of these "
                                              r"locations:\n  templates/host-web-1\.example\.com"
                                              r"/c\.j2\n"):
        Template(ctx, str(tmp_path / "y"), source="c.j2", cookbook="app").apply("create")

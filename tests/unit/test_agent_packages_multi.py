"""package with several names (or versions) in one resource, as Chef 19.4.14's apt provider.

Sources, chef/chef at HEAD: lib/chef/resource.rb (the name coerce), lib/chef/resource/
package.rb (package_name and version are [String, Array]), lib/chef/provider/package.rb (the
arrays, define_resource_requirements, target_version_array, removing_package?, the converge_by
descriptions) and lib/chef/provider/package/apt.rb (use_multipackage_api: one apt-get per
action, resolve_package_versions per name, virtual names).
"""
from __future__ import annotations

import pytest
from test_agent_support import FakeApi, FakeRunner, context

from harness.agent.cookbooks import FileCache
from harness.agent.errors import ResourceFailure
from harness.agent.packages import Package
from harness.agent.runner import Run

INSTALL = ["apt-get", "-q", "-y", "--allow-downgrades", "-o", "Dpkg::Options::=--force-confdef",
           "-o", "Dpkg::Options::=--force-confold", "install"]
SHOWPKG = "Package: x\nVersions: \n\nReverse Depends: \nDependencies: \nProvides: \n" \
          "Reverse Provides: \n"


def policy(installed: str | None, candidate: str | None, *versions: str) -> str:
    """`apt-cache policy NAME` as apt prints it."""
    rows = "".join(f" {'***' if v == installed else '   '} {v} 500\n"
                   "        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n"
                   for v in versions)
    return (f"pkg:\n  Installed: {installed or '(none)'}\n  Candidate: {candidate or '(none)'}\n"
            f"  Version table:\n{rows}")


def apt(**by_name: str) -> FakeRunner:
    """`apt-cache policy NAME` answers per name (underscores stand for dashes)."""
    run = FakeRunner().when(["apt-cache", "showpkg"], out=SHOWPKG)
    for name, out in by_name.items():
        run.when(["apt-cache", "policy", name.replace("_", "-")], out=out)
    return run


def test_an_array_name_is_joined_and_every_name_is_managed():
    """resource.rb:87 `property :name, String, coerce: proc { |v| v.is_a?(Array) ?
    v.join(", ") : v.to_s }` and resource/package.rb:39-43 `def initialize(name, *args)
    ... package_name name ... super`: `package %w{curl git}` is package[curl, git] and
    manages both; a package_name given still wins, and the name then stays as written."""
    ctx, _ = context()
    res = Package(ctx, ["curl", "git"])
    assert (res.key, res.props["package_name"]) == ("package[curl, git]", ["curl", "git"])
    res = Package(ctx, "tools", package_name=("curl", ["git"]), version=["1.0", None])
    assert (res.key, res.names()) == ("package[tools]", ["curl", "git"])
    assert Package(ctx, ["a", "b"], package_name="c").names() == ["c"]


def test_one_apt_get_install_names_only_the_targets():
    """apt.rb:91-96 install_package: `name.zip(version).map { |n, v| ... "#{n}=#{v}" }` in
    ONE `apt-get -q -y --allow-downgrades ... install` (use_multipackage_api); package.rb:401-
    411 package_names_for_targets keeps only names whose target is not nil (apt declares no
    allow_nils); package.rb:126-132 install_description: "install version V of package N"."""
    run = apt(curl=policy(None, "7.88.1-10", "7.88.1-10"),
              git=policy("1:2.39.2-1", "1:2.39.2-1", "1:2.39.2-1"),
              jq=policy("1.6-2", "1.6-2", "1.6-2", "1.7-1"))
    ctx, lines = context(run=run)
    res = Package(ctx, ["curl", "git", "jq"], version=[None, None, "1.7-1"])
    assert res.apply("install") is True
    assert run.calls == [["apt-cache", "policy", "curl"], ["apt-cache", "policy", "git"],
                         ["apt-cache", "policy", "jq"],
                         [*INSTALL, "curl=7.88.1-10", "jq=1.7-1"]]
    assert lines == ["    - install version 7.88.1-10 of package curl",
                     "    - install version 1.7-1 of package jq",
                     "    - apt-get install curl=7.88.1-10 jq=1.7-1"]


def test_nothing_to_install_is_up_to_date_and_an_empty_list_does_nothing():
    """package.rb:111-114 action :install: `unless target_version_array.any?` ... nothing to
    do; `package []` has no names, so no command at all."""
    run = apt(curl=policy("7.88.1-10", "7.88.1-10", "7.88.1-10"),
              git=policy("1:2.39.2-1", "1:2.39.2-1", "1:2.39.2-1"))
    ctx, _ = context(run=run)
    assert Package(ctx, ["curl", "git"]).apply("install") is False
    assert not run.ran("apt-get")
    ctx, _ = context(run=run)
    empty = Package(ctx, [])
    assert (empty.key, empty.apply("install"), empty.apply("remove")) == ("package[]", False, False)
    assert len(run.calls) == 2


def test_missing_candidates_fail_naming_every_package_before_apt_get():
    """package.rb:103-106 `No candidate version available for
    #{packages_missing_candidates.join(", ")}` (:install, :upgrade; 545-553: uninstalled and no
    candidate) after package.rb:94-96 `No version specified, and no candidate version
    available for #{forced_packages_missing_candidates.join(", ")}` (:install; 569-588: an
    installed package whose wanted version apt does not list)."""
    run = apt(nope=policy(None, None), gone=policy(None, None), curl=policy(None, "1", "1"))
    ctx, _ = context(run=run)
    for action in ("install", "upgrade"):
        with pytest.raises(ResourceFailure, match="^No candidate version available for nope, "
                                                  "gone\n"):
            Package(ctx, ["nope", "curl", "gone"]).apply(action)
    run = apt(a=policy("1", "1", "1"), b=policy("2", "2", "2"), nope=policy(None, None))
    ctx, _ = context(run=run)
    with pytest.raises(ResourceFailure, match="^No version specified, and no candidate version "
                                              "available for a, b$"):
        Package(ctx, ["a", "b", "nope"], version=["9", "9"]).apply("install")
    assert not run.ran("apt-get")


def test_versions_are_matched_by_index():
    """package.rb:626-627 new_version_array `[ new_resource.version ].flatten.map { |v|
    v.to_s.empty? ? nil : v }`, read by index (each_package, apt.rb:202-216 `user_ver =
    new_version_array[idx]`): a shorter list leaves the rest unpinned, a String version with
    an Array name pins the first name only, "" is no version."""
    run = apt(a=policy(None, "2", "1", "2"), b=policy(None, "2", "1", "2"))
    ctx, _ = context(run=run)
    Package(ctx, ["a", "b"], version=["1"]).apply("install")
    Package(ctx, ["a", "b"], version="1").apply("install")
    Package(ctx, ["a", "b"], version=["", "1"]).apply("install")
    assert [call[len(INSTALL):] for call in run.ran("apt-get")] == [
        ["a=1", "b=2"], ["a=1", "b=2"], ["a=2", "b=1"]]


def test_upgrade_describes_chefs_lines_and_installs_in_one_command():
    """package.rb:154-164 upgrade_description: "upgrade#{log_allow_downgrade} package N from
    #{current_version || "uninstalled"} to CANDIDATE" (apt: allow_downgrade true, so
    "(allow_downgrade)"); apt.rb:99-101 upgrade_package is install_package."""
    run = apt(a=policy("1", "2", "2", "1"), b=policy(None, "3", "3"), c=policy("4", "4", "4"))
    ctx, lines = context(run=run)
    assert Package(ctx, ["a", "b", "c"]).apply("upgrade") is True
    assert run.ran("apt-get") == [[*INSTALL, "a=2", "b=3"]]
    assert lines[:2] == ["    - upgrade(allow_downgrade) package a from 1 to 2",
                         "    - upgrade(allow_downgrade) package b from uninstalled to 3"]


def test_remove_and_purge_name_every_package_in_one_command():
    """package.rb:170-177 `converge_by("remove #{description}package
    #{current_resource.package_name}")` with multipackage_api_adapter(current_resource.
    package_name, ...): every name, installed or not (apt.rb:103-115 `apt-get -q -y OPTIONS
    remove|purge NAMES`); purge's text is "purge #{description} package ..." (package.rb:207-
    208); nothing installed: removing_package? is false (package.rb:193-195)."""
    run = apt(a=policy("1", "1", "1"), b=policy(None, "2", "2"))
    ctx, lines = context(run=run)
    assert Package(ctx, ["a", "b"], options="--auto-remove").apply("remove") is True
    assert Package(ctx, ["a", "b"]).apply("purge") is True
    assert run.ran("apt-get") == [["apt-get", "-q", "-y", "--auto-remove", "remove", "a", "b"],
                                  ["apt-get", "-q", "-y", "purge", "a", "b"]]
    assert '    - remove package ["a", "b"]' in lines
    assert '    - purge  package ["a", "b"]' in lines
    run = apt(a=policy(None, "1", "1"), b=policy(None, "2", "2"))
    ctx, _ = context(run=run)
    assert Package(ctx, ["a", "b"]).apply("remove") is False
    assert not run.ran("apt-get")


def test_remove_with_versions_is_have_any_matching_version():
    """package.rb:184-190 have_any_matching_version?: `f << (item == current_version_array[
    index])` ... `f.any?`, so a nil version matches a package that is not installed (Ruby's
    nil == nil) and the whole list is removed; no match: nothing (package.rb:200-201). The
    descriptions interpolate the Arrays (package.rb:172-173, 207-208)."""
    run = apt(a=policy("1", "1", "1"), b=policy(None, "2", "2"))
    ctx, lines = context(run=run)
    assert Package(ctx, ["a", "b"], version=["9", "2"]).apply("remove") is False
    assert Package(ctx, ["a", "b"], version=["9", None]).apply("remove") is True
    assert Package(ctx, ["a", "b"], version=["9", None]).apply("purge") is True
    assert run.ran("apt-get") == [["apt-get", "-q", "-y", "remove", "a", "b"],
                                  ["apt-get", "-q", "-y", "purge", "a", "b"]]
    assert '    - remove version ["9", nil] of package ["a", "b"]' in lines
    assert '    - purge version ["9", nil] of package ["a", "b"]' in lines


def test_a_virtual_name_in_a_list():
    """apt.rb:243-265 package_data_for per name (no candidate: resolve_virtual_package_name,
    then the provider's versions); install_package passes a virtual name as it is (`package_
    data[n][:virtual] ? n : "#{n}=#{v}"`), remove_package its provider; several providers:
    apt.rb:237 "#{new_resource.package_name} is a virtual package provided by multiple
    packages", the Array as Ruby prints it."""
    run = apt(mail_transport_agent=policy(None, None), curl=policy(None, "7", "7"),
              postfix=policy(None, "3.7", "3.7"))
    run.when(["apt-cache", "showpkg", "mail-transport-agent"],
             out=SHOWPKG + "postfix 3.7 (= )\n")
    ctx, _ = context(run=run)
    assert Package(ctx, ["mail-transport-agent", "curl"]).apply("install") is True
    assert run.calls[1:3] == [["apt-cache", "showpkg", "mail-transport-agent"],
                              ["apt-cache", "policy", "postfix"]]
    assert run.calls[-1] == [*INSTALL, "mail-transport-agent", "curl=7"]
    run.when(["apt-cache", "policy", "postfix"], out=policy("3.7", "3.7", "3.7"))
    assert Package(ctx, ["mail-transport-agent", "curl"]).apply("remove") is True
    assert run.calls[-1] == ["apt-get", "-q", "-y", "remove", "postfix", "curl"]
    run.when(["apt-cache", "showpkg", "mail-transport-agent"],
             out=SHOWPKG + "postfix 3.7 (= )\nexim4 4.96 (= )\n")
    with pytest.raises(ResourceFailure, match=r'^\["mail-transport-agent", "curl"\] is a '
                                              "virtual package provided by multiple packages"):
        Package(ctx, ["mail-transport-agent", "curl"]).apply("install")


def test_a_version_list_with_one_name_is_that_version():
    """package.rb:626-627 `[ new_resource.version ].flatten`: version ["1"] is version "1"."""
    run = apt(a=policy("2", "2", "1", "2"))
    ctx, _ = context(run=run)
    assert Package(ctx, "a", version=["1"]).apply("install") is True
    assert run.calls[-1] == [*INSTALL, "a=1"]


def test_package_name_and_version_are_string_or_array():
    """resource/package.rb:45,49 `property :package_name, [ String, Array ]`, `property
    :version, [ String, Array ]`: anything else is refused when declared (Chef: "Property
    version must be one of: String, Array!"), as are entries that are no name or version."""
    ctx, _ = context()
    for kwargs, text in [({"version": 1.0}, "version must be a string or a list"),
                         ({"package_name": 5}, "package_name must be a string or a list"),
                         ({"package_name": ["a", None]}, "package_name entries must be strings"),
                         ({"version": ["1", 2]}, "version entries must be strings")]:
        with pytest.raises(ResourceFailure, match=text):
            Package(ctx, "x", **kwargs)


def test_notifications_and_reports_use_the_joined_key(tmp_path):
    """resource.rb:1403-1406 declared_key `"#{declared_type}[#{@name}]"`: a subscriber names
    package[curl, git] (resource_set.rb:169-172 looks that exact key up first), and the
    report counts the one resource as changed."""
    recipe = ('package(["curl", "git"])\n'
              'execute("after", action="nothing", subscribes=[("run", "package[curl, git]")])\n')
    api = FakeApi(cookbooks={"app": {"recipes/default.py": recipe}}, recipes=["app::default"])
    runner = apt(curl=policy(None, "7", "7"), git=policy(None, "2", "2"))
    report = Run(api, "web-1", facts={}, cache=FileCache(tmp_path / "c"), run=runner,
                 out=lambda line: None).execute()
    assert report["status"] == "success", report["failure"]
    assert report["changed"] == ["package[curl, git]", "execute[after]"]
    assert runner.ran("apt-get") == [[*INSTALL, "curl=7", "git=2"]]

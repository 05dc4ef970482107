"""package pinned to Chef's apt provider (audit findings 1, 6, 9, 10 and C's string options).

Sources, chef/chef 19.4.14: lib/chef/provider/package/apt.rb (resolve_package_versions reads
`apt-cache policy PKG`'s `  Installed:`/`  Candidate:` lines and its version table;
package_data_for falls back to resolve_virtual_package_name's `apt-cache showpkg` Reverse
Provides; install_package/remove_package/purge_package/config_file_options build the apt-get
lines), lib/chef/provider/package.rb (define_resource_requirements' two assertions,
target_version_array, removing_package?) and lib/chef/resource/package.rb (options coerce).
"""
from __future__ import annotations

import pytest
from test_agent_support import FakeRunner, context

from harness.agent.errors import ResourceFailure
from harness.agent.packages import Package

CONFFILE = ["-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"]


def policy(installed: str | None, candidate: str | None, *versions: str) -> str:
    """`apt-cache policy NAME` as apt prints it."""
    rows = "".join(
        f" {'***' if v == installed else '   '} {v} 500\n"
        "        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n"
        + ("        100 /var/lib/dpkg/status\n" if v == installed else "") for v in versions)
    return (f"pkg:\n  Installed: {installed or '(none)'}\n  Candidate: {candidate or '(none)'}\n"
            f"  Version table:\n{rows}")


SHOWPKG_REAL = "Package: vendor-agent\nVersions: \n\nReverse Depends: \nDependencies: \n" \
               "Provides: \nReverse Provides: \n"


def apt(out: str, *, showpkg: str = "") -> FakeRunner:
    return FakeRunner().when(["apt-cache", "policy"], out=out).when(
        ["apt-cache", "showpkg"], out=showpkg)


def test_no_candidate_fails_as_chef_and_never_updates_apt():
    """apt.rb resolve_package_versions: installed and candidate come from `apt-cache policy`
    alone (a name apt's lists do not know: both nil); package_data_for then asks `apt-cache
    showpkg` whether it is virtual; package.rb define_resource_requirements (:upgrade,
    :install) fails before apt-get with "No candidate version available for PKG". Chef never
    runs `apt-get update`, whether the lists are empty or the install fails."""
    for action in ("install", "upgrade"):
        for out in ("N: Unable to locate package vendor-agent\n", policy(None, None)):
            run = apt(out, showpkg="N: Unable to locate package vendor-agent\n")
            ctx, _ = context(run=run)
            with pytest.raises(ResourceFailure,
                               match="^No candidate version available for vendor-agent\n"):
                Package(ctx, "vendor-agent").apply(action)
            assert run.calls == [["apt-cache", "policy", "vendor-agent"],
                                 ["apt-cache", "showpkg", "vendor-agent"]]
    run = apt(policy(None, None), showpkg=SHOWPKG_REAL)
    ctx, _ = context(run=run)
    with pytest.raises(ResourceFailure, match="^No candidate version available for vendor-agent"):
        Package(ctx, "vendor-agent").apply("install")


def test_failed_install_is_not_retried_after_an_update():
    """One `apt-cache policy`, one `apt-get install PKG=CANDIDATE`; a failure fails the
    resource (shell_out! in run_noninteractive), with no `apt-get update` and no retry."""
    run = apt(policy(None, "2.0-1", "2.0-1")).when(["apt-get"], rc=100, err="E: boom")
    ctx, _ = context(run=run)
    with pytest.raises(ResourceFailure, match="(?s)apt-get install vendor-agent=2.0-1 failed.*boom"):
        Package(ctx, "vendor-agent").apply("install")
    assert run.calls == [["apt-cache", "policy", "vendor-agent"],
                         ["apt-get", "-q", "-y", "--allow-downgrades", *CONFFILE, "install",
                          "vendor-agent=2.0-1"]]
    assert not any("update" in call for call in run.calls)


def test_version_apt_does_not_list_is_no_candidate():
    """resolve_package_versions: a user version is the candidate only when the version table
    lists it. Not installed: "No candidate version available for PKG"; installed at another
    version: the :install assertion "No version specified, and no candidate version available
    for PKG" (forced_packages_missing_candidates)."""
    ctx, _ = context(run=apt(policy(None, "2.0-1", "2.0-1")))
    with pytest.raises(ResourceFailure, match="^No candidate version available for x"):
        Package(ctx, "x", version="9.9").apply("install")
    ctx, _ = context(run=apt(policy("2.0-1", "2.0-1", "2.0-1")))
    with pytest.raises(ResourceFailure, match="^No version specified, and no candidate version "
                                              "available for x$"):
        Package(ctx, "x", version="9.9").apply("install")


def test_upgrade_follows_target_version_array():
    """target_version_array :upgrade: the candidate when it differs from the installed
    version; nothing when they are equal, or when a pinned version is not available
    (candidate nil: "no candidate_version to upgrade to") while another is installed."""
    run = apt(policy("1.0-1", "2.0-1", "2.0-1", "1.0-1"))
    ctx, _ = context(run=run)
    assert Package(ctx, "x").apply("upgrade") is True
    assert run.calls[-1][-2:] == ["install", "x=2.0-1"]
    ctx, _ = context(run=apt(policy("2.0-1", "2.0-1", "2.0-1")))
    assert Package(ctx, "x").apply("upgrade") is False
    run = apt(policy("1.0-1", "2.0-1", "2.0-1", "1.0-1"))
    ctx, _ = context(run=run)
    assert Package(ctx, "x", version="3.0-1").apply("upgrade") is False
    assert not run.ran("apt-get")


def test_held_package_is_installed_and_its_removal_is_apts_refusal():
    """apt.rb takes the current version from `apt-cache policy`'s Installed:, whatever dpkg's
    selection (a held package reads `hold ok installed`): :install is up to date, :remove
    runs `apt-get -q -y remove PKG`, which apt refuses for a held package (exit 100)."""
    out = policy("1.0-1", "1.0-1", "1.0-1")
    refusal = "E: Held packages were changed and -y was used without --allow-change-held-packages."
    run = apt(out).when(["apt-get", "-q", "-y", "remove"], rc=100, err=refusal)
    ctx, _ = context(run=run)
    assert Package(ctx, "x").apply("install") is False
    assert not run.ran("apt-get")
    with pytest.raises(ResourceFailure, match="(?s)apt-get remove x failed \\(exit 100\\).*Held"):
        Package(ctx, "x", action="remove").apply("remove")
    assert run.ran("apt-get") == [["apt-get", "-q", "-y", "remove", "x"]]


def test_virtual_package_resolves_its_single_provider():
    """package_data_for: no candidate -> resolve_virtual_package_name (`apt-cache showpkg`,
    the names after the last "Reverse Provides:"); one provider: its versions count and
    install_package names the virtual package without a version; several: Chef's error."""
    showpkg = SHOWPKG_REAL + "postfix 3.7.11-0+deb12u1 (= )\npostfix 3.7.10-0+deb12u1 (= )\n"
    run = FakeRunner().when(["apt-cache", "policy", "mail-transport-agent"],
                            out=policy(None, None)).when(
        ["apt-cache", "policy", "postfix"], out=policy(None, "3.7.11-0+deb12u1", "3.7.11-0+deb12u1")
    ).when(["apt-cache", "showpkg"], out=showpkg)
    ctx, _ = context(run=run)
    assert Package(ctx, "mail-transport-agent").apply("install") is True
    assert run.calls[-1][-2:] == ["install", "mail-transport-agent"]
    assert run.calls[:3] == [["apt-cache", "policy", "mail-transport-agent"],
                             ["apt-cache", "showpkg", "mail-transport-agent"],
                             ["apt-cache", "policy", "postfix"]]
    run.when(["apt-cache", "policy", "postfix"], out=policy("3.7.11-0+deb12u1", "3.7.11-0+deb12u1"))
    assert Package(ctx, "mail-transport-agent").apply("install") is False
    assert Package(ctx, "mail-transport-agent", action="purge").apply("purge") is True
    assert run.calls[-1] == ["apt-get", "-q", "-y", "purge", "postfix"]
    run.when(["apt-cache", "showpkg"], out=showpkg + "exim4-daemon-light 4.96-15 (= )\n")
    with pytest.raises(ResourceFailure, match="mail-transport-agent is a virtual package provided "
                                              "by multiple packages, you must explicitly select one"):
        Package(ctx, "mail-transport-agent").apply("install")


@pytest.mark.parametrize("options, conffile", [
    (["-o", "Dpkg::Options::=--force-confnew"], []),
    ("--no-install-recommends -o 'Dpkg::Options::=--force-confmiss'", []),
    ("--no-install-recommends", CONFFILE),
])
def test_options_and_the_recipes_own_conffile_flags(options, conffile):
    """config_file_options: `return if Array(options).any? { |opt| opt.include?("--force-conf")
    }`, so only the recipe's flag reaches dpkg; resource/package.rb's coerce shellsplits a
    String (`x.is_a?(String) ? x.shellsplit : x`). Options come after the conffile flags."""
    run = apt(policy(None, "1.0-1", "1.0-1"))
    ctx, _ = context(run=run)
    assert Package(ctx, "nginx", options=options).apply("install") is True
    words = options if isinstance(options, list) else [
        "--no-install-recommends", *(["-o", "Dpkg::Options::=--force-confmiss"]
                                     if "confmiss" in options else [])]
    assert run.ran("apt-get") == [["apt-get", "-q", "-y", "--allow-downgrades", *conffile,
                                   *words, "install", "nginx=1.0-1"]]


def test_options_string_with_an_unclosed_quote_is_refused_at_declaration():
    """Ruby's String#shellsplit raises ArgumentError ("Unmatched quote") in the coerce."""
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match="options \"-o 'x\""):
        Package(ctx, "x", options="-o 'x")


def test_remove_and_purge_honour_version_and_options():
    """removing_package?: nothing installed, or a `version` that is not the installed one,
    means nothing to do; remove_package/purge_package pass options: `apt-get -q -y OPTIONS
    remove|purge PKG` (no conffile flags)."""
    run = apt(policy("2.0-1", "2.0-1", "2.0-1"))
    ctx, _ = context(run=run)
    assert Package(ctx, "x", version="1.0-1", action="remove").apply("remove") is False
    assert Package(ctx, "x", version="1.0-1", action="purge").apply("purge") is False
    assert not run.ran("apt-get")
    assert Package(ctx, "x", version="2.0-1", options="--auto-remove",
                   action="remove").apply("remove") is True
    assert Package(ctx, "x", options=["--auto-remove"], action="purge").apply("purge") is True
    assert run.ran("apt-get") == [["apt-get", "-q", "-y", "--auto-remove", "remove", "x"],
                                  ["apt-get", "-q", "-y", "--auto-remove", "purge", "x"]]
    ctx, _ = context(run=apt(policy(None, "2.0-1", "2.0-1")))
    assert Package(ctx, "x", action="purge").apply("purge") is False

"""systemd_unit, apt_update and apt_repository, pinned to Chef's core resources.

systemd_unit: chef/chef lib/chef/resource/systemd_unit.rb (default action :nothing, the
actions list, to_ini; spec/unit/resource/systemd_unit_spec.rb's unit_content_hash/string pair
is reused verbatim) and lib/chef/provider/systemd_unit.rb (state from `systemctl show -p
UnitFileState -p ActiveState`, enabled = enabled/static/generated/alias/indirect, create only
when the text differs, then daemon-reload; restart always converges).
apt_update: lib/chef/resource/apt_update.rb (:periodic compares the update-success-stamp's
mtime with `frequency`, 86400; :update always; the 15update-stamp hook file).
apt_repository: lib/chef/resource/apt_repository.rb (build_repo's `deb      ` line, options
arch/trusted/signed-by, deb-src, list file 0644, apt-cache gencaches + apt_update on change).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from test_agent_support import FakeRunner, book, context

from harness.agent import apt, systemd
from harness.agent.apt import AptRepository, AptUpdate
from harness.agent.errors import ResourceFailure
from harness.agent.systemd import SystemdUnit, to_ini

CHEF_SPEC_HASH = {
    "Unit": {"Description": "Run system activity accounting tool every 10 minutes",
             "Documentation": ["foo", "bar"]},
    "Timer": {"OnCalendar": "*:00/10"},
    "Install": {"WantedBy": "sysstat.service"}}
CHEF_SPEC_STRING = ("[Unit]\nDescription=Run system activity accounting tool every 10 minutes\n"
                    "Documentation=foo\nDocumentation=bar\n\n[Timer]\nOnCalendar=*:00/10\n\n"
                    "[Install]\nWantedBy=sysstat.service\n")


def test_to_ini_matches_chefs_spec():
    assert to_ini(CHEF_SPEC_HASH) == CHEF_SPEC_STRING
    assert to_ini(CHEF_SPEC_STRING) == CHEF_SPEC_STRING


@pytest.fixture
def unit_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(systemd, "UNIT_DIR", str(tmp_path))
    monkeypatch.setattr(systemd.shutil, "which", lambda name: None)   # no systemd-analyze
    monkeypatch.setattr(systemd.fileutil, "write_atomic", _write_without_chown)
    return tmp_path


def _write_without_chown(path, data, mode, uid, gid):
    path.write_bytes(data)
    os.chmod(path, mode)


def test_systemd_unit_create_is_idempotent_and_reloads(unit_dir):
    runner = FakeRunner()
    ctx, _ = context(run=runner)
    res = SystemdUnit(ctx, "sysstat-collect.timer", content=CHEF_SPEC_HASH, action="create")
    assert res.action_list == ["create"] and SystemdUnit.default_action == "nothing"
    assert res.would_change("create") and res.apply("create") is True
    assert (unit_dir / "sysstat-collect.timer").read_text() == CHEF_SPEC_STRING
    assert runner.calls == [["systemctl", "--system", "daemon-reload"]]
    assert res.apply("create") is False and not res.would_change("create")
    assert res.apply("delete") is True and not (unit_dir / "sysstat-collect.timer").exists()


def test_systemd_unit_verify_failure_writes_nothing(unit_dir, monkeypatch):
    monkeypatch.setattr(systemd.shutil, "which", lambda name: "/usr/bin/" + name)
    runner = FakeRunner().when(["systemd-analyze", "verify"], rc=1, err="Unknown section 'Srvice'")
    ctx, _ = context(run=runner)
    res = SystemdUnit(ctx, "x.service", content="[Srvice]\nExecStart=/bin/true\n")
    with pytest.raises(ResourceFailure, match="(?s)systemd-analyze verify failed.*Srvice"):
        res.apply("create")
    assert not (unit_dir / "x.service").exists()
    assert runner.calls[0][2].endswith("/x.service"), "verified under the unit's own name"


@pytest.mark.parametrize("action,state,runs", [
    ("start", "ActiveState=inactive\nUnitFileState=disabled", "start"),
    ("start", "ActiveState=active\nUnitFileState=enabled", None),
    ("stop", "ActiveState=active\nUnitFileState=enabled", "stop"),
    ("enable", "ActiveState=active\nUnitFileState=static", None),
    ("enable", "ActiveState=active\nUnitFileState=disabled", "enable"),
    ("disable", "ActiveState=active\nUnitFileState=indirect", None),
    ("disable", "ActiveState=active\nUnitFileState=enabled", "disable"),
    ("mask", "ActiveState=inactive\nUnitFileState=masked", None),
    ("unmask", "ActiveState=inactive\nUnitFileState=masked", "unmask"),
    ("reload", "ActiveState=inactive\nUnitFileState=enabled", None),
    ("restart", "ActiveState=inactive\nUnitFileState=enabled", "restart"),
    ("reload_or_try_restart", "ActiveState=active\nUnitFileState=enabled",
     "reload-or-try-restart"),
])
def test_systemd_unit_actions_act_only_when_needed(action, state, runs):
    runner = FakeRunner().when(["systemctl", "--system", "show"], out=state + "\n")
    ctx, _ = context(run=runner)
    res = SystemdUnit(ctx, "web.service")
    assert res.would_change(action) is (runs is not None)
    assert res.apply(action) is (runs is not None)
    verbs = [c[2] for c in runner.calls if c[2] != "show"]
    assert verbs == ([runs] if runs else [])


def test_systemd_unit_refuses_user_units_and_missing_content():
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match="user units"):
        SystemdUnit(ctx, "x.service", user="app")
    with pytest.raises(ResourceFailure, match="needs content="):
        SystemdUnit(ctx, "x.service", action="create")


@pytest.fixture
def apt_dirs(tmp_path, monkeypatch):
    for name, rel in (("STAMP", "periodic/update-success-stamp"),
                      ("APT_CONF", "apt.conf.d/15update-stamp"),
                      ("SOURCES_D", "sources.list.d"), ("KEYRINGS", "keyrings")):
        monkeypatch.setattr(apt, name, str(tmp_path / rel))
    (tmp_path / "sources.list.d").mkdir()
    monkeypatch.setattr(apt.fileutil, "write_atomic", _write_without_chown)
    return tmp_path


def test_apt_update_periodic_uses_the_stamp(apt_dirs):
    runner = FakeRunner()
    ctx, _ = context(run=runner)
    res = AptUpdate(ctx, "cache")
    assert res.action_list == ["periodic"] and res.props["frequency"] == 86400
    assert res.apply("periodic") is True
    assert runner.calls == [["apt-get", "-q", "update"]]
    hook = (apt_dirs / "apt.conf.d/15update-stamp").read_text()
    assert hook == ('APT::Update::Post-Invoke-Success {"touch '
                    f'{apt_dirs}/periodic/update-success-stamp 2>/dev/null || true";}};\n')
    stamp = apt_dirs / "periodic/update-success-stamp"
    stamp.touch()                                 # what the hook does after a good update
    assert res.apply("periodic") is False and not res.would_change("periodic")
    old = time.time() - 90000
    os.utime(stamp, (old, old))
    assert res.would_change("periodic") and res.apply("periodic") is True
    assert res.apply("update") is True and len(runner.calls) == 3


def test_apt_repository_list_line_and_cache_rebuild(apt_dirs):
    runner = FakeRunner()
    ctx, _ = context(run=runner)
    (apt_dirs / "sources.list.d/my repo.list").write_text("old")   # cleanup_legacy_file!
    res = AptRepository(ctx, "my repo", uri="http://deb.debian.org/debian",
                        distribution="bookworm-backports", components=["main", "contrib"],
                        arch="amd64", trusted=True, deb_src=True, options=["lang=none"])
    assert res.apply("add") is True
    listed = apt_dirs / "sources.list.d/my-repo.list"
    assert not (apt_dirs / "sources.list.d/my repo.list").exists()
    # no key given: key's default [] is true in Ruby, so signed-by names the keyring anyway
    keyring = apt_dirs / "keyrings/my-repo.gpg"
    line = (f"[arch=amd64 trusted=yes signed-by={keyring} lang=none] "
            "http://deb.debian.org/debian bookworm-backports main contrib")
    assert listed.read_text() == f"deb      {line}\ndeb-src  {line}\n"
    assert runner.calls == [["apt-cache", "gencaches"], ["apt-get", "-q", "update"]]
    assert res.apply("add") is False and len(runner.calls) == 2
    assert res.apply("remove") is True and not listed.exists()
    assert res.apply("remove") is False


def test_apt_repository_key_from_cookbook_goes_to_a_signed_by_keyring(apt_dirs):
    runner = FakeRunner()
    cookbooks = {"repo": book("repo", {"files/repo.asc": "-----BEGIN PGP PUBLIC KEY BLOCK-----"})}
    ctx, _ = context(cookbooks=cookbooks, run=runner)

    def gpg(cmd, **kwargs):
        if cmd[0] == "gpg":
            (apt_dirs / "keyrings/internal.gpg").write_bytes(b"keyring")
        return runner(cmd, **kwargs)

    ctx.run = gpg
    res = AptRepository(ctx, "internal", uri="http://config-server/apt", distribution="stable",
                        components=["main"], key="repo.asc", cookbook="repo", cache_rebuild=False)
    assert res.apply("add") is True
    keyring = apt_dirs / "keyrings/internal.gpg"
    assert (apt_dirs / "sources.list.d/internal.list").read_text() == (
        f"deb      [signed-by={keyring}] http://config-server/apt stable main\n")
    gpg_call = runner.ran("gpg")[0]
    assert gpg_call[-3:-1] == ["--keyring", f"gnupg-ring:{keyring}"]
    assert runner.ran("apt-get") == []               # cache_rebuild=False


def test_apt_repository_key_file_is_found_by_file_specificity(apt_dirs):
    """apt_repository.rb key_resource_type: a key the cookbook has (has_cookbook_file?) is
    fetched with a cookbook_file resource, so the most specific copy wins
    (cookbook_version.rb preferences_for_path: PLATFORM/ before default/ before the root)."""
    files = {"files/repo.asc": "root", "files/default/repo.asc": "default",
             "files/debian/repo.asc": "debian"}
    imported = []

    def gpg(cmd, **kwargs):
        if cmd[0] == "gpg":
            imported.append(Path(cmd[-1]).read_text())
            (apt_dirs / "keyrings/internal.gpg").write_bytes(b"keyring")
        return FakeRunner()(cmd, **kwargs)

    for node, expected in (({"platform": "debian", "platform_version": "12.8"}, "debian"),
                           ({"platform": "ubuntu", "platform_version": "24.04"}, "default")):
        ctx, _ = context(cookbooks={"repo": book("repo", files)}, node=node, run=gpg)
        AptRepository(ctx, "internal", uri="http://config-server/apt", distribution="stable",
                      key="repo.asc", cookbook="repo", cache_rebuild=False).apply("add")
        assert imported[-1] == expected


def test_apt_repository_refuses_keyserver_ids():
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match="key id for a keyserver"):
        AptRepository(ctx, "x", uri="http://deb.debian.org/debian", key="0xABCDEF0123456789")
    with pytest.raises(ResourceFailure, match="forward slash"):
        AptRepository(ctx, "x", repo_name="a/b", uri="http://x")

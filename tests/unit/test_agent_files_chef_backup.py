"""What happens around a file's deploy in Chef (chef/chef 19.4.14): backups of replaced and
deleted files (lib/chef/util/backup.rb), the copy strategy for Docker's bind-mounted files
(resource/file.rb atomic_update, file_content_management/deploy/cp.rb) with Ohai's
virtualization facts, and `verify` (resource/file/verification.rb, provider/file.rb)."""
from __future__ import annotations

import os
import pwd
import stat
import time
from pathlib import Path

import pytest
from test_agent_support import context

from harness.agent import backup, ohai, shell
from harness.agent.errors import ResourceFailure
from harness.agent.files import File
from harness.agent.node import Node

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")


def copies(path: Path) -> list[Path]:
    """The backups of `path`, oldest first."""
    where = Path(str(backup.FILE_BACKUP_PATH) + str(path.parent))
    return sorted(where.glob(path.name + ".chef-*")) if where.is_dir() else []


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


# -- B3: backups ---------------------------------------------------------------------------------

@needs_root
def test_a_replaced_file_is_backed_up_under_the_backup_path(tmp_path):
    """provider/file.rb update_file_contents: `do_backup unless needs_creating?` before the
    deploy; util/backup.rb copies the old file to File.join(file_backup_path, PATH +
    ".chef-STAMP") with FileUtils.cp(preserve: true): content, times, owner and mode."""
    conf = tmp_path / "conf"
    conf.write_text("old secret\n")
    nobody = pwd.getpwnam("nobody")
    os.chown(conf, nobody.pw_uid, nobody.pw_gid)
    os.chmod(conf, 0o600)
    os.utime(conf, (1_000_000_000, 1_000_000_000))
    ctx, _ = context()
    File(ctx, str(conf), content="new\n").apply("create")
    (kept,) = copies(conf)
    st = os.stat(kept)
    assert kept.read_text() == "old secret\n" and stat.S_IMODE(st.st_mode) == 0o600
    assert (st.st_uid, st.st_gid, st.st_mtime) == (nobody.pw_uid, nobody.pw_gid, 1_000_000_000)
    assert str(kept).startswith(f"{backup.FILE_BACKUP_PATH}{tmp_path}/conf.chef-")


def test_a_deleted_file_survives_in_the_backup_path(tmp_path):
    """provider/file.rb :delete: `do_backup unless file_class.symlink?(path)` then
    File.delete: the "deleted" secret stays under /var/chef/backup; a link is not backed
    up. Creating a file, an unchanged content and a mode change back nothing up."""
    ctx, _ = context()
    secret = tmp_path / "secret"
    File(ctx, str(secret), content="s3cret").apply("create")
    File(ctx, str(secret), content="s3cret", mode="0600").apply("create")
    assert copies(secret) == []
    File(ctx, str(secret), action="delete").apply("delete")
    assert [p.read_text() for p in copies(secret)] == ["s3cret"]
    link = tmp_path / "link"
    (tmp_path / "target").write_text("t")
    os.symlink(tmp_path / "target", link)
    File(ctx, str(link), action="delete").apply("delete")
    assert copies(link) == []


def test_backup_keeps_the_newest_n_and_false_keeps_none(tmp_path):
    """resource/file.rb `property :backup, [ Integer, FalseClass ], default: 5`;
    util/backup.rb backup!: `if backup != false && backup > 0`, then deletes the sorted
    (reversed) backups past the count."""
    ctx, _ = context()
    conf = tmp_path / "conf"
    for n in range(8):
        File(ctx, str(conf), content=f"v{n}").apply("create")
    assert [p.read_text() for p in copies(conf)] == ["v2", "v3", "v4", "v5", "v6"]
    for n in range(3):
        File(ctx, str(conf), content=f"w{n}", backup=2).apply("create")
    assert [p.read_text() for p in copies(conf)] == ["w0", "w1"]
    other = tmp_path / "other"
    other.write_text("x")
    File(ctx, str(other), content="y", backup=False).apply("create")
    File(ctx, str(other), content="z", backup=0).apply("create")
    assert copies(other) == []
    with pytest.raises(ResourceFailure, match=r"Property backup must be one of: Integer, "
                                              r"FalseClass!  You passed true\."):
        File(ctx, str(other), backup=True)


def test_backup_name_and_pruning_are_chefs(tmp_path, utc):
    """util/backup.rb backup_filename: "#{path}.chef-#{time.strftime("%Y%m%d%H%M%S")}.
    #{sprintf("%6f", time.to_f).split(".")[1]}" (local time; the fraction rounded, the
    seconds not), joined under the backup path with File.join; pruning matches
    /\\A#{basename}.chef-[0-9.]*\\B/ in that directory, so other files' backups stay."""
    conf = tmp_path / "f"
    conf.write_text("x")
    root = str(tmp_path / "bk") + "/"
    made = backup.backup(conf, 5, root=root, clock=lambda: 1_700_000_000.9999997)
    assert made == f"{tmp_path}/bk{tmp_path}/f.chef-20231114221320.000000"
    (Path(made).parent / "f2.chef-20000101000000.000000").write_text("other file's")
    for n in range(6):
        backup.backup(conf, 3, root=root, clock=lambda n=n: 1_700_000_100 + n + 0.25)
    names = sorted(p.name for p in Path(made).parent.iterdir())
    assert names == ["f.chef-20231114221503.250000", "f.chef-20231114221504.250000",
                     "f.chef-20231114221505.250000", "f2.chef-20000101000000.000000"]


# -- C: the copy strategy inside Docker -----------------------------------------------------------

DOCKER = {"virtualization": {"system": "docker", "role": "guest",
                             "systems": {"docker": "guest"}}}


def test_docker_special_files_default_to_the_copy_strategy():
    """resource/file.rb: `property :atomic_update, default: lazy { docker? &&
    special_docker_files?(path) ? false : Chef::Config[:file_atomic_update] }`;
    special_docker_files? compares Pathname(path).cleanpath with /etc/hosts, /etc/hostname
    and /etc/resolv.conf; docker? (chef-utils introspection.rb) is
    node["virtualization"]["systems"]["docker"] == "guest"."""
    ctx, _ = context(node=Node("n", "_default", DOCKER, roles=[], recipes=[]))
    for path in ("/etc/hosts", "/etc//hostname", "/etc/./resolv.conf"):
        assert File(ctx, path).atomic_update() is False, path
    assert File(ctx, "/etc/hosts.allow").atomic_update() is True
    assert File(ctx, "/etc/hosts", atomic_update=True).atomic_update() is True
    host_ctx, _ = context(node=Node("n", "_default", {}, roles=[], recipes=[]))
    assert File(host_ctx, "/etc/hosts").atomic_update() is True
    with pytest.raises(ResourceFailure, match="Property atomic_update must be one of: "
                                              "TrueClass, FalseClass!  You passed \"no\""):
        File(ctx, "/etc/hosts", atomic_update="no")


def test_the_copy_strategy_keeps_the_inode_and_backs_up(tmp_path):
    """deploy/cp.rb deploy: FileUtils.cp(tempfile, dst) writes into the existing file (same
    inode, its mode kept), where MvUnix renames a new inode over it; the backup is taken
    either way (update_file_contents)."""
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    os.chmod(hosts, 0o604)
    inode = os.stat(hosts).st_ino
    ctx, _ = context()
    assert File(ctx, str(hosts), content="10.0.0.1 db\n", atomic_update=False).apply("create")
    assert hosts.read_text() == "10.0.0.1 db\n" and os.stat(hosts).st_ino == inode
    assert stat.S_IMODE(os.stat(hosts).st_mode) == 0o604
    assert [p.read_text() for p in copies(hosts)] == ["127.0.0.1 localhost\n"]
    new = tmp_path / "new"
    assert File(ctx, str(new), content="x", mode="0640", atomic_update=False).apply("create")
    assert new.read_text() == "x" and stat.S_IMODE(os.stat(new).st_mode) == 0o640
    File(ctx, str(hosts), content="y\n").apply("create")
    assert os.stat(hosts).st_ino != inode


def test_ohai_reports_a_docker_guest_as_ohai_does(tmp_path):
    """chef/ohai lib/ohai/plugins/linux/virtualization.rb: /proc/self/cgroup matching
    %r{^\\d+:[^:]*:/[^/]+/(lxc|docker)-?.+$} (cgroup v2 in the host's namespace:
    0::/system.slice/docker-ID.scope) or /.dockerenv make systems.docker "guest"."""
    (tmp_path / "proc/self").mkdir(parents=True)
    (tmp_path / "proc/self/cgroup").write_text("0::/\n")
    assert ohai.virtualization(tmp_path) == {"systems": {}}
    (tmp_path / "proc/self/cgroup").write_text("0::/system.slice/docker-0a1b.scope\n")
    assert ohai.virtualization(tmp_path) == DOCKER["virtualization"]
    (tmp_path / "proc/self/cgroup").write_text("12:memory:/lxc/c1\n")
    assert ohai.virtualization(tmp_path)["systems"] == {"lxc": "guest"}
    (tmp_path / ".dockerenv").write_text("")
    assert ohai.virtualization(tmp_path) == {"system": "docker", "role": "guest",
                                             "systems": {"lxc": "guest", "docker": "guest"}}


# -- verify ---------------------------------------------------------------------------------------

def test_verify_runs_on_the_staged_file_before_the_deploy(tmp_path):
    """provider/file.rb do_validate_content: when the content changes, each verification
    runs on the temp file (verification.rb: `@command % { path: path }`, success = exit 0);
    a failure copies the temp file to file_cache_path/failed_validations/ and raises
    "Proposed content for P failed verification CMD\\nSTDOUT: ...\\nSTDERR: ...\\n\\nTemporary
    file moved to F"; the target is untouched."""
    ctx, _ = context(run=shell.run)
    sudoers = tmp_path / "alice"
    sudoers.write_text("good old\n")
    check = "grep -q good %{path} && echo checked %{path}"
    assert File(ctx, str(sudoers), content="good new\n", verify=check).apply("create")
    with pytest.raises(ResourceFailure) as err:
        File(ctx, str(sudoers), content="bad\n", verify=[check]).apply("create")
    message = str(err.value)
    kept = Path(message.rpartition("Temporary file moved to ")[2])
    assert message.startswith(f"Proposed content for {sudoers} failed verification {check}\n"
                              "STDOUT: \nSTDERR: \n\nTemporary file moved to ")
    assert kept.parent == Path(backup.FILE_CACHE_PATH) / "failed_validations"
    assert kept.read_text() == "bad\n" and kept.name.startswith(".chef-alice")
    assert sudoers.read_text() == "good new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alice"], "no temp file left"


def test_verify_command_that_cannot_run_fails_the_resource(tmp_path):
    """verification.rb verify_command runs the command through the resource's guard
    interpreter (DefaultGuardInterpreter: shell_out, mixlib-shellout's 600 s), which rescues
    neither Errno::ENOENT nor a timeout: a verify naming a missing program fails the
    resource with that error (not "failed verification"), and the target is untouched."""
    seen = []

    def run(cmd, **kw):
        seen.append(kw.get("timeout"))
        return shell.run(cmd, **kw)

    ctx, _ = context(run=run)
    conf = tmp_path / "app.conf"
    conf.write_text("old\n")
    with pytest.raises(ResourceFailure, match="No such file or directory - no-such-checker") \
            as err:
        File(ctx, str(conf), content="new\n", verify="no-such-checker %{path}").apply("create")
    assert "failed verification" not in str(err.value)
    assert conf.read_text() == "old\n" and seen == [600]


def test_verify_callable_temp_name_and_sensitive(tmp_path):
    """A block gets the temp file's path (verify_block); to_s is "<Proc>" and output nil.
    The temp file is named as file_content_management/tempfile.rb names it:
    ".chef-" + basename + date-pid-random + the extension from the first dot. A sensitive
    resource's message says "[sensitive]". Nothing runs when the content is unchanged."""
    seen: list[str] = []
    conf = tmp_path / "app.conf.d"
    ctx, _ = context()
    File(ctx, str(conf), content="a", verify=lambda path: seen.append(path) or True
         ).apply("create")
    name = os.path.basename(seen[0])
    assert os.path.dirname(seen[0]) == str(tmp_path)
    assert name.startswith(f".chef-app{time.strftime('%Y%m%d')}-{os.getpid()}-")
    assert name.endswith(".conf.d")
    File(ctx, str(conf), content="a", verify=lambda path: 1 / 0).apply("create")
    with pytest.raises(ResourceFailure, match="failed verification <Proc>\n\nTemporary file"):
        File(ctx, str(conf), content="b", verify=lambda path: False).apply("create")
    with pytest.raises(ResourceFailure, match="failed verification \\[sensitive\\]\nTemporary"):
        File(ctx, str(conf), content="b", sensitive=True, verify=lambda p: 0).apply("create")


def test_verify_file_expansion_is_removed_and_bad_values_refused(tmp_path):
    """verification.rb verify_command: `%{file}` raises "The %{file} expansion for verify
    commands has been removed. Please use %{path} instead."; resource/file.rb verify:
    anything but a string, symbol or block is "verify requires either a string, symbol, or
    a block" at declaration."""
    ctx, _ = context(run=shell.run)
    with pytest.raises(ResourceFailure, match=r"The %\{file\} expansion for verify commands "
                                              r"has been removed\. Please use %\{path\} "
                                              r"instead\."):
        File(ctx, str(tmp_path / "f"), content="x", verify="cat %{file}").apply("create")
    assert not (tmp_path / "f").exists()
    with pytest.raises(ResourceFailure, match="verify requires either a string, symbol, or a "
                                              "block"):
        File(ctx, str(tmp_path / "f"), verify=5)

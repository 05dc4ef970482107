"""File-like resources on tmp paths: create, idempotence, mode/owner drift, delete."""
from __future__ import annotations

import os
import pwd
import stat

import pytest
from test_agent_support import book, context

from harness.agent.errors import ResourceFailure
from harness.agent.files import CookbookFile, Directory, File, Link, Template
from harness.agent.node import Node

NOBODY = pwd.getpwnam("nobody")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_file_create_then_idempotent(tmp_path):
    ctx, lines = context()
    target = tmp_path / "motd"
    res = File(ctx, str(target), content="hello\n", mode="0640")
    assert res.apply("create") is True
    assert target.read_text() == "hello\n" and mode_of(target) == 0o640
    assert any("create" in line for line in lines)
    assert File(ctx, str(target), content="hello\n", mode="0640").apply("create") is False


def test_file_content_change_replaces_atomically(tmp_path):
    ctx, _ = context()
    target = tmp_path / "conf"
    target.write_text("old\n")
    os.chmod(target, 0o600)
    inode = os.stat(target).st_ino
    assert File(ctx, str(target), content="new\n").apply("create") is True
    assert target.read_text() == "new\n"
    assert os.stat(target).st_ino != inode, "content must be renamed into place"
    assert mode_of(target) == 0o600, "an unmanaged mode is kept"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temp left"


def test_mode_drift_is_a_change_but_content_is_not_rewritten(tmp_path):
    ctx, lines = context()
    target = tmp_path / "conf"
    target.write_text("same")
    inode = os.stat(target).st_ino
    assert File(ctx, str(target), content="same", mode="0600").apply("create") is True
    assert mode_of(target) == 0o600 and os.stat(target).st_ino == inode
    assert any("mode 0644 -> 0600" in line for line in lines)


@needs_root
def test_owner_drift_is_detected_and_fixed(tmp_path):
    ctx, lines = context()
    target = tmp_path / "owned"
    target.write_text("x")
    res = File(ctx, str(target), content="x", owner="nobody", group=NOBODY.pw_gid)
    assert res.apply("create") is True
    assert os.stat(target).st_uid == NOBODY.pw_uid
    assert File(ctx, str(target), content="x", owner="nobody").apply("create") is False
    os.chown(target, 0, 0)
    assert File(ctx, str(target), content="x", owner="nobody").apply("create") is True


def test_unknown_owner_fails_naming_it(tmp_path):
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match="cannot determine user id for 'no-such-user', does the "
                                              "user exist on this system\\?"):
        File(ctx, str(tmp_path / "f"), content="", owner="no-such-user").apply("create")


def test_missing_parent_and_bad_mode_fail_clearly(tmp_path):
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match=r"Parent directory .* does not exist\."):
        File(ctx, str(tmp_path / "nope" / "f"), content="x").apply("create")
    with pytest.raises(ResourceFailure, match="octal"):
        File(ctx, str(tmp_path / "f"), mode="rw-r--r--")
    with pytest.raises(ResourceFailure, match="absolute"):
        File(ctx, "relative/path")


def test_file_delete(tmp_path):
    ctx, _ = context()
    target = tmp_path / "gone"
    target.write_text("x")
    assert File(ctx, str(target), action="delete").apply("delete") is True
    assert not target.exists()
    assert File(ctx, str(target), action="delete").apply("delete") is False


def test_template_renders_node_and_variables(tmp_path):
    cb = book("zk", {"templates/zoo.cfg.j2": "port={{ node['zk']['port'] }}\n"
                                             "{% for s in servers %}server={{ s }}\n{% endfor %}"})
    node = Node("zk-1", "_default", {"zk": {"port": 2181}}, roles=[], recipes=[])
    ctx, _ = context({"zk": cb}, node)
    target = tmp_path / "zoo.cfg"
    res = Template(ctx, str(target), source="zoo.cfg.j2", variables={"servers": ["a", "b"]},
                   cookbook="zk")
    assert res.apply("create") is True
    assert target.read_text() == "port=2181\nserver=a\nserver=b\n"
    assert Template(ctx, str(target), source="zoo.cfg.j2", variables={"servers": ["a", "b"]},
                    cookbook="zk").apply("create") is False


def test_template_default_source_and_strict_undefined(tmp_path):
    cb = book("zk", {"templates/zoo.cfg.j2": "a\n{{ missing_var }}\n"})
    node = Node("zk-1", "_default", {}, roles=[], recipes=[])
    ctx, _ = context({"zk": cb}, node)
    res = Template(ctx, str(tmp_path / "zoo.cfg"), cookbook="zk")
    with pytest.raises(ResourceFailure, match=r"zk/templates/zoo.cfg.j2:2: UndefinedError"):
        res.apply("create")
    assert not (tmp_path / "zoo.cfg").exists()


def test_template_missing_attribute_and_missing_source(tmp_path):
    cb = book("zk", {"templates/t.j2": "{{ node['zk']['nope'] }}"})
    ctx, _ = context({"zk": cb}, Node("n", "_default", {"zk": {}}, roles=[], recipes=[]))
    with pytest.raises(ResourceFailure, match=r"node\['zk'\]\['nope'\] is not set"):
        Template(ctx, str(tmp_path / "t"), source="t.j2", cookbook="zk").apply("create")
    with pytest.raises(ResourceFailure, match="does not contain a file at any of these "
                       "locations:\n  templates/host-/other.j2\n"):
        Template(ctx, str(tmp_path / "t"), source="other.j2", cookbook="zk").apply("create")


def test_cookbook_file_from_files_dir(tmp_path):
    cb = book("app", {"files/app.py": "print('hi')\n", "files/default/legacy": "old"})
    ctx, _ = context({"app": cb})
    target = tmp_path / "app.py"
    assert CookbookFile(ctx, str(target), mode="0755", cookbook="app").apply("create")
    assert target.read_text() == "print('hi')\n" and mode_of(target) == 0o755
    assert not CookbookFile(ctx, str(target), mode="0755", cookbook="app").apply("create")
    assert CookbookFile(ctx, str(tmp_path / "l"), source="legacy", cookbook="app").apply("create")
    with pytest.raises(ResourceFailure, match="does not contain a file at any of these "
                       "locations:\n  files/host-/missing\n"):
        CookbookFile(ctx, str(tmp_path / "m"), source="missing", cookbook="app").apply("create")


def test_directory_recursive_mode_and_idempotence(tmp_path):
    ctx, _ = context()
    leaf = tmp_path / "a" / "b" / "c"
    assert Directory(ctx, str(leaf), mode="0750", recursive=True).apply("create") is True
    assert leaf.is_dir() and mode_of(leaf) == 0o750
    assert Directory(ctx, str(leaf), mode="0750").apply("create") is False
    os.chmod(leaf, 0o700)
    assert Directory(ctx, str(leaf), mode="0750").apply("create") is True
    assert Directory(ctx, str(tmp_path / "a"), recursive=True,
                     action="delete").apply("delete") is True
    assert not (tmp_path / "a").exists()


def test_directory_is_not_recursive_by_default_as_chef(tmp_path):
    """lib/chef/resource/directory.rb: `property :recursive, default: false`; the provider's
    requirement fails with "Parent directory P does not exist, cannot create D", and a
    delete without recursive is Dir.delete (an empty directory only)."""
    ctx, _ = context()
    assert Directory(ctx, "/x").props["recursive"] is False
    missing = tmp_path / "x" / "y"
    with pytest.raises(ResourceFailure, match=f"Parent directory {tmp_path / 'x'} does not "
                                              f"exist, cannot create {missing}"):
        Directory(ctx, str(missing)).apply("create")
    assert not (tmp_path / "x").exists()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    with pytest.raises(ResourceFailure, match="cannot remove"):
        Directory(ctx, str(tmp_path / "full"), action="delete").apply("delete")
    assert (tmp_path / "full" / "f").exists()


@pytest.mark.parametrize("value", ["yes", "false", 1, None])
def test_directory_recursive_is_a_boolean_as_chef(value):
    """`property :recursive, [ TrueClass, FalseClass ]`: a string or a number is refused at
    declaration, not read as true or false."""
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match=f"recursive must be True or False, not {value!r}"):
        Directory(ctx, "/srv/x", recursive=value)


def test_directory_recursive_under_a_file_fails_by_name(tmp_path):
    ctx, _ = context()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ResourceFailure, match="does not exist, cannot create"):
        Directory(ctx, str(tmp_path / "file" / "a" / "b"), recursive=True).apply("create")


def test_link_create_retarget_and_delete(tmp_path):
    ctx, _ = context()
    link = tmp_path / "current"
    assert Link(ctx, str(link), to="/etc/hostname").apply("create") is True
    assert os.readlink(link) == "/etc/hostname"
    assert Link(ctx, str(link), to="/etc/hostname").apply("create") is False
    assert Link(ctx, str(link), to="/etc/hosts").apply("create") is True
    assert os.readlink(link) == "/etc/hosts"
    assert Link(ctx, str(link), action="delete").apply("delete") is True
    assert not os.path.lexists(link)


def test_link_replaces_a_file_but_not_a_directory(tmp_path):
    ctx, _ = context()
    (tmp_path / "f").write_text("x")
    assert Link(ctx, str(tmp_path / "f"), to="target").apply("create") is True
    assert os.readlink(tmp_path / "f") == "target"
    (tmp_path / "d").mkdir()
    with pytest.raises(ResourceFailure, match="is a directory"):
        Link(ctx, str(tmp_path / "d"), to="target").apply("create")


def test_content_change_logs_a_diff_unless_sensitive(tmp_path):
    ctx, lines = context()
    target = tmp_path / "conf"
    target.write_text("a=1\nb=2\n")
    File(ctx, str(target), content="a=1\nb=3\n").apply("create")
    assert "        -b=2\n        +b=3" in "\n".join(lines)
    lines.clear()
    File(ctx, str(target), content="a=1\nb=secret\n", sensitive=True).apply("create")
    assert "secret" not in "\n".join(lines) and "update content" in lines[0]

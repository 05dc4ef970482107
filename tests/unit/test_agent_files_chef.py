"""File-like resources against Chef's provider/file.rb, file_access_control/unix.rb,
provider/link.rb and resource/remote_file.rb (chef/chef 19.4.14): symlinks, owners, the
set-uid bit, property types, create_if_missing's requirements, hard link deletes, remote
sources. Each test names the Chef source whose behaviour it pins."""
from __future__ import annotations

import os
import pwd
import stat

import pytest
from test_agent_support import book, context

from harness.agent.errors import ResourceFailure
from harness.agent.files import CookbookFile, File, Link, Template
from harness.agent.lazy import Lazy
from harness.agent.remote_file import RemoteFile

NOBODY = pwd.getpwnam("nobody")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
DANGLING = "exists but attempting to resolve it leads to a nonexistent file"


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- A1: symlinks ----------------------------------------------------------------------------

def _dangling(tmp_path):
    link = tmp_path / "current.conf"
    os.symlink(tmp_path / "releases" / "v2.conf", link)
    (tmp_path / "releases").mkdir()
    return link, tmp_path / "releases" / "v2.conf"


@pytest.mark.parametrize("kind", ["file", "template", "cookbook_file", "remote_file"])
def test_create_through_a_dangling_symlink_fails_as_chef(tmp_path, kind):
    """provider/file.rb inspect_existing_fs_entry -> verify_symlink_sanity, asserted for
    :create (manage_symlink_source nil): File.realpath raises ENOENT and the run fails with
    InvalidSymlink "Symlink at P (pointing to T) exists but attempting to resolve it leads to
    a nonexistent file". Requirements run before content is generated, so nothing is
    rendered or downloaded (the remote source here would fail differently)."""
    link, target = _dangling(tmp_path)
    ctx, _ = context({"app": book("app", {"files/current.conf": "x\n",
                                          "templates/current.conf.j2": "x\n"})})
    make = {"file": lambda: File(ctx, str(link), content="x\n"),
            "template": lambda: Template(ctx, str(link), cookbook="app"),
            "cookbook_file": lambda: CookbookFile(ctx, str(link), cookbook="app"),
            "remote_file": lambda: RemoteFile(ctx, str(link), source="file:///nonexistent")}
    with pytest.raises(ResourceFailure, match=f"Symlink at {link} \\(pointing to {target}\\) "
                                              f"{DANGLING}$"):
        make[kind]().apply("create")
    assert not target.exists() and link.is_symlink()


def test_a_symlink_loop_fails_with_chefs_loop_message(tmp_path):
    """provider/file.rb verify_symlink_sanity: `rescue Errno::ELOOP` -> "Symlink at P
    (pointing to T) exists but attempting to resolve it creates a loop"."""
    a, b = tmp_path / "a", tmp_path / "b"
    os.symlink(b, a)
    os.symlink(a, b)
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match=f"Symlink at {a} \\(pointing to {b}\\) exists "
                                              "but attempting to resolve it creates a loop"):
        File(ctx, str(a), content="x").apply("create")


def test_a_symlink_to_a_directory_is_chefs_file_type_mismatch(tmp_path):
    """provider/file.rb verify_symlink_sanity: a link to a non-file fails with
    FileTypeMismatch "File P exists, but is a symlink to R which is a directory. ..."."""
    (tmp_path / "dir").mkdir()
    link = tmp_path / "link"
    os.symlink(tmp_path / "dir", link)
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match=f"File {link} exists, but is a symlink to "
                                              f"{tmp_path / 'dir'} which is a directory\\."):
        File(ctx, str(link), content="x").apply("create")


def test_create_if_missing_and_touch_create_a_dangling_links_target(tmp_path):
    """provider/file.rb :create_if_missing is `unless File.exist?(path)` (which follows the
    link, so a dangling one does not exist) and then calls action_create without the
    :create assertion; :touch asserts nothing about symlinks either. FileUtils.touch opens
    the path through the link, so the target is created and the content deployed to it."""
    link, target = _dangling(tmp_path)
    ctx, _ = context()
    assert File(ctx, str(link), content="x\n", action="create_if_missing") \
        .apply("create_if_missing") is True
    assert target.read_text() == "x\n" and link.is_symlink()
    assert File(ctx, str(link), content="y\n").apply("create_if_missing") is False
    target.unlink()
    assert File(ctx, str(link), action="touch").apply("touch") is True
    assert target.read_text() == "" and link.is_symlink()


def test_delete_leaves_a_dangling_link_and_removes_a_live_one(tmp_path):
    """provider/file.rb :delete acts only `if File.exist?(path)` (following the link): a
    dangling link is left alone; a link to a file is itself deleted (File.delete)."""
    link, target = _dangling(tmp_path)
    ctx, _ = context()
    assert File(ctx, str(link), action="delete").apply("delete") is False
    assert link.is_symlink()
    target.write_text("x")
    assert File(ctx, str(link), action="delete").apply("delete") is True
    assert not os.path.lexists(link) and target.read_text() == "x"


# -- A2: owner and group -----------------------------------------------------------------------

@pytest.mark.parametrize(("prop", "value", "what"), [
    ("owner", "65534", "user"), ("group", "65534", "group"), ("owner", True, "user"),
    ("group", 1.5, "group")])
def test_a_string_is_always_a_name_and_only_an_int_an_id(tmp_path, prop, value, what):
    """file_access_control/unix.rb uid_from_resource / gid_from_resource: a String goes to
    Etc.getpwnam / getgrnam ("65534" is looked up as a name and is none), only an Integer
    is an id, anything else raises; each registers UserIDNotFound / GroupIDNotFound "cannot
    determine user id for '65534', does the user exist on this system?"."""
    ctx, _ = context()
    shown = "true" if value is True else str(value)
    res = File(ctx, str(tmp_path / "f"), content="x", **{prop: value})
    with pytest.raises(ResourceFailure, match=f"cannot determine {what} id for '{shown}', does "
                                              f"the {what} exist on this system\\?"):
        res.apply("create")
    assert not (tmp_path / "f").exists()


@needs_root
def test_an_integer_owner_is_an_id(tmp_path):
    """unix.rb: `elsif owner.is_a?(Integer)` -> used as the uid as it is."""
    ctx, _ = context()
    File(ctx, str(tmp_path / "f"), content="x", owner=NOBODY.pw_uid,
         group=NOBODY.pw_gid).apply("create")
    st = os.stat(tmp_path / "f")
    assert (st.st_uid, st.st_gid) == (NOBODY.pw_uid, NOBODY.pw_gid)


def test_owner_and_group_match_chefs_principal_regex_at_declaration():
    """mixin/securable.rb `regex: Chef::Config[:user_valid_regex]` (chef-config config.rb:
    /^[^-+~:,\\t\\r\\n\\f\\0]+[^:,\\t\\r\\n\\f\\0]*$/): a name with a colon or a leading dash
    fails at compile with ValidationFailed, whatever the action."""
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match="Property owner's value app:app does not match "
                                              r"regular expression \[/\^\[\^-\+~:,"):
        File(ctx, "/srv/f", owner="app:app", action="nothing")
    with pytest.raises(ResourceFailure, match="Property group's value -wheel does not match"):
        File(ctx, "/srv/f", group="-wheel", action="nothing")


def test_link_owner_is_typed_string_or_integer():
    """resource/link.rb `property :owner, [String, Integer]` (files use Securable's untyped
    owner): `true` fails at compile, "Property owner must be one of: String, Integer!  You
    passed true."."""
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match=r"Property owner must be one of: String, "
                                              r"Integer!  You passed true\."):
        Link(ctx, "/srv/l", to="/x", owner=True)


def test_an_unknown_owner_does_not_stop_a_delete(tmp_path):
    """unix.rb registers the owner assertion for :create, :create_if_missing, :touch only."""
    (tmp_path / "f").write_text("x")
    ctx, _ = context()
    assert File(ctx, str(tmp_path / "f"), owner="no-such-user",
                action="delete").apply("delete") is True


# -- B1: set-uid after chown -------------------------------------------------------------------

@needs_root
def test_setuid_is_restored_after_a_chown_in_one_pass(tmp_path):
    """unix.rb should_update_mode?: `elsif suid_bit_set? && (should_update_group? ||
    should_update_owner?)` -> chmod even though the modes matched, and set_all runs owner,
    group, then mode: the bit the kernel cleared on chown is back after one converge."""
    helper = tmp_path / "helper"
    helper.write_text("#!/bin/sh\n")
    os.chmod(helper, 0o4755)
    ctx, lines = context()
    res = File(ctx, str(helper), owner="nobody", mode="4755")
    assert res.apply("create") is True
    assert mode_of(helper) == 0o4755 and os.stat(helper).st_uid == NOBODY.pw_uid
    assert "mode 4755 -> 4755" in "\n".join(lines)
    assert File(ctx, str(helper), owner="nobody", mode="4755").apply("create") is False


@needs_root
def test_setgid_only_is_not_restored_as_in_chef(tmp_path):
    """unix.rb suid_bit_set? is `target_mode & 04000 > 0`: only set-uid is checked, so a
    setgid-only file loses S_ISGID on chown in Chef too, and the next converge puts it back."""
    tool = tmp_path / "tool"
    tool.write_text("x")
    os.chmod(tool, 0o2755)
    ctx, _ = context()
    assert File(ctx, str(tool), group=NOBODY.pw_gid, mode="2755").apply("create") is True
    assert mode_of(tool) == 0o0755
    assert File(ctx, str(tool), group=NOBODY.pw_gid, mode="2755").apply("create") is True
    assert mode_of(tool) == 0o2755


# -- A4: content types ---------------------------------------------------------------------

@pytest.mark.parametrize(("value", "shown"), [(8080, "8080"), ({"a": 1}, '{"a" => 1}'),
                                              (["x"], '["x"]'), (True, "true")])
def test_content_must_be_a_string_at_declaration(value, shown):
    """resource/file.rb `property :content, [ String, nil ]`: params_validate _pv_is raises
    ValidationFailed "Property content must be one of: String, nil!  You passed 8080." when
    the resource is declared (so whatever the action)."""
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match=r"Property content must be one of: String, nil!  "
                                              f"You passed {shown}\\.".replace("[", r"\[")):
        File(ctx, "/srv/port", content=value, action="nothing")


def test_content_may_be_text_bytes_none_or_a_lazy_string(tmp_path):
    """String and nil pass (bytes are our binary String); a lazy value is checked once
    resolved."""
    ctx, _ = context()
    File(ctx, str(tmp_path / "a"), content="x").apply("create")
    File(ctx, str(tmp_path / "b"), content=b"\x00\xff").apply("create")
    assert (tmp_path / "b").read_bytes() == b"\x00\xff"
    res = File(ctx, str(tmp_path / "c"), content=Lazy(lambda: 8080))
    with pytest.raises(ResourceFailure, match="Property content must be one of"):
        res.resolve_lazy()


# -- A5: create_if_missing on an existing file ------------------------------------------------

def test_create_if_missing_on_an_existing_file_still_resolves_the_owner(tmp_path):
    """unix.rb registers UserIDNotFound for :create_if_missing too; requirements run before
    the action, so an existing file does not skip them."""
    (tmp_path / "f").write_text("x")
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match="cannot determine user id for 'no-such-user'"):
        File(ctx, str(tmp_path / "f"), owner="no-such-user",
             action="create_if_missing").apply("create_if_missing")
    with pytest.raises(ResourceFailure, match="cannot determine group id for 'no-such-group'"):
        File(ctx, str(tmp_path / "f"), group="no-such-group",
             action="create_if_missing").apply("create_if_missing")


def test_template_create_if_missing_checks_the_source_but_does_not_render(tmp_path):
    """provider/template.rb asserts the source exists for :create, :create_if_missing (the
    finder raises FileNotFound); the template is rendered only by a create, so an existing
    file with a template that would fail to render is left alone."""
    (tmp_path / "app.conf").write_text("old")
    ctx, _ = context({"app": book("app", {"templates/broken.j2": "{{ undefined_thing }}"})})
    with pytest.raises(ResourceFailure, match="Cookbook 'app' \\(1.0.0\\) does not contain a "
                                              "file at any of these locations"):
        Template(ctx, str(tmp_path / "app.conf"), source="typo.conf.j2", cookbook="app",
                 action="create_if_missing").apply("create_if_missing")
    assert Template(ctx, str(tmp_path / "app.conf"), source="broken.j2", cookbook="app",
                    action="create_if_missing").apply("create_if_missing") is False
    assert (tmp_path / "app.conf").read_text() == "old"


# -- A6: remote_file sources -------------------------------------------------------------------

@pytest.mark.parametrize("source", ["mirror/jdk.tgz", ["http://a/jdk.tgz", "jdk.tgz"]])
def test_remote_file_source_must_be_absolute_uris_at_declaration(source):
    """resource/remote_file.rb: the `source` setter's validate_source callback raises
    InvalidRemoteFileURI '"mirror/jdk.tgz" is not a valid `source` parameter for
    remote_file. `source` must be an absolute URI or an array of URIs.' at compile, on every
    run, whatever the action or checksum."""
    ctx, _ = context()
    bad = source if isinstance(source, str) else source[-1]
    with pytest.raises(ResourceFailure, match=f'^"{bad}" is not a valid `source` parameter for '
                                              "remote_file. `source` must be an absolute URI or "
                                              "an array of URIs.$"):
        RemoteFile(ctx, "/opt/jdk.tgz", source=source, checksum="3a7dac00",
                   action="create_if_missing")


def test_remote_file_empty_source_list():
    """resource/remote_file.rb validate_source: `raise ArgumentError, "#{resource_name} has
    an empty source" if source.empty?`."""
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match="^remote_file has an empty source$"):
        RemoteFile(ctx, "/opt/x", source=[], action="nothing")


def test_remote_file_accepts_any_scheme_and_fails_a_share_at_fetch(tmp_path):
    """resource/remote_file.rb absolute_uri?: `URI#absolute?` (any scheme) or a Windows
    share (fetcher.rb network_share?), which only Windows can fetch: UnsupportedPlatform."""
    ctx, _ = context()
    RemoteFile(ctx, "/opt/x", source=["ftp://mirror/x", "s3://bucket/x"], action="nothing")
    res = RemoteFile(ctx, str(tmp_path / "x"), source="\\\\fileserver\\share\\x")
    with pytest.raises(ResourceFailure, match="Fetching the file on a network share is "
                                              "supported only on the Windows platform"):
        res.apply("create")


# -- A3: link deletes -------------------------------------------------------------------------

def test_hard_link_delete_refuses_what_is_not_that_hard_link(tmp_path):
    """provider/link.rb: a path that is not a symlink is :hard with `to` only when its inode
    is `to`'s, else ""; a symlink is :symbolic. The :delete assertion wants the same
    link_type and, for hard links, to != "": else Chef::Exceptions::Link "Cannot delete
    link[P] at P! Not a hard link."."""
    ctx, _ = context()
    tool, path = tmp_path / "tool", tmp_path / "bin-tool"
    tool.write_text("x")
    path.write_text("my own file")
    message = f"^Cannot delete link\\[{path}\\] at {path}! Not a hard link\\.$"
    with pytest.raises(ResourceFailure, match=message):
        Link(ctx, str(path), to=str(tool), link_type="hard", action="delete").apply("delete")
    path.unlink()
    os.symlink(tool, path)
    with pytest.raises(ResourceFailure, match=message):
        Link(ctx, str(path), to=str(tool), link_type="hard", action="delete").apply("delete")
    assert path.is_symlink()
    path.unlink()
    os.link(tool, path)
    assert Link(ctx, str(path), to=str(tool), link_type="hard",
                action="delete").apply("delete") is True
    assert not path.exists() and tool.exists()
    assert Link(ctx, str(path), to=str(tool), link_type="hard",
                action="delete").apply("delete") is False


def test_symbolic_link_delete_refuses_a_regular_file_with_chefs_text(tmp_path):
    """provider/link.rb: a regular file is :hard, so deleting it as a symbolic link fails
    "Cannot delete link[P] at P! Not a symbolic link."."""
    (tmp_path / "f").write_text("x")
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match="Not a symbolic link\\.$"):
        Link(ctx, str(tmp_path / "f"), action="delete").apply("delete")
    assert (tmp_path / "f").exists()


def test_ruby_inspect_is_string_inspect():
    """Chef's messages show a value with Ruby's `inspect` ("You passed ..."; IniParse's
    ParseError): String#inspect escapes quotes, backslashes, control characters and `#{`, and
    writes other unprintable characters as \\uXXXX."""
    from harness.agent.fileutil import ruby_inspect
    assert ruby_inspect('a"b\\c\td\n#{x}\x7f') == '"a\\"b\\\\c\\td\\n\\#{x}\\u007F"'
    assert ruby_inspect(["x", None, True, 8080]) == '["x", nil, true, 8080]'

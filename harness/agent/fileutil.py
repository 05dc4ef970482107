"""Shared machinery of file-like resources: modes, owners, atomic writes, change lists.

What a `file` does to the disk follows chef/chef lib/chef/provider/file.rb (symlink checks,
staging, deploy), lib/chef/file_access_control/unix.rb (owner, group, mode) and
lib/chef/file_content_management/ (the temp file and the two deploy strategies).
"""
from __future__ import annotations

import difflib
import errno
import grp
import hashlib
import os
import pwd
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import deploy

Content = bytes | None | Callable[[], bytes | None]


def parse_mode(mode: Any) -> int | None:
    """"0644", "644", 0o644 or 420 -> 0o644; None means "do not manage"."""
    if mode is None:
        return None
    if isinstance(mode, int):
        value = mode
    else:
        text = str(mode).strip()
        if not text or any(c not in "01234567" for c in text):
            raise ValueError(f"mode {mode!r} is not an octal string like '0644'")
        value = int(text, 8)
    if not 0 <= value <= 0o7777:
        raise ValueError(f"mode {mode!r} is out of range")
    return value


def ruby_to_s(value: Any) -> str:
    """How Chef's messages interpolate a value ("#{value}")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


RUBY_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f", "\v": "\\v",
                "\b": "\\b", "\a": "\\a", "\x1b": "\\e", '"': '\\"', "\\": "\\\\"}


def ruby_inspect(value: Any) -> str:
    """How Chef's messages show a value (`value.inspect`), closely enough; a String as
    String#inspect: quotes, escapes, \\uXXXX for the unprintable."""
    if value is None or isinstance(value, bool):
        return "nil" if value is None else ruby_to_s(value)
    if isinstance(value, str):
        return _inspect_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(ruby_inspect(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{ruby_inspect(k)} => {ruby_inspect(v)}"
                               for k, v in value.items()) + "}"
    return str(value)


def _inspect_string(text: str) -> str:
    out = []
    for i, char in enumerate(text):
        if char in RUBY_ESCAPES:
            out.append(RUBY_ESCAPES[char])
        elif char == "#" and text[i + 1:i + 2] in ("{", "$", "@"):
            out.append("\\#")
        elif not char.isprintable():
            out.append(f"\\u{ord(char):04X}" if ord(char) < 0x10000 else f"\\u{{{ord(char):X}}}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def uid_of(owner: Any) -> int | None:
    """unix.rb uid_from_resource: a String is always a user name (Etc.getpwnam, so "1000" is
    looked up as a name), only an Integer is an id; anything else cannot be resolved."""
    return _id_of(owner, lambda name: pwd.getpwnam(name).pw_uid, "user")


def gid_of(group: Any) -> int | None:
    """unix.rb gid_from_resource: the same rule with Etc.getgrnam."""
    return _id_of(group, lambda name: grp.getgrnam(name).gr_gid, "group")


def _id_of(value: Any, lookup: Callable[[str], int], kind: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return lookup(value)
        except (KeyError, ValueError):
            pass
    raise ValueError(f"cannot determine {kind} id for '{ruby_to_s(value)}', does the {kind} "
                     "exist on this system?")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def attr_changes(st: os.stat_result, mode: int | None, uid: int | None,
                 gid: int | None) -> tuple[bool, bool, bool]:
    """(owner, group, mode) to set, as unix.rb's should_update_owner?/_group?/_mode?. A
    set-uid target mode is set again when the owner or group changes even if the modes
    match: the kernel clears the bit on chown (`suid_bit_set? && (should_update_group? ||
    should_update_owner?)`; only 04000 is checked, so a setgid-only file loses S_ISGID)."""
    owner = uid is not None and st.st_uid != uid
    group = gid is not None and st.st_gid != gid
    set_mode = mode is not None and (stat.S_IMODE(st.st_mode) != mode
                                     or (bool(mode & 0o4000) and (owner or group)))
    return owner, group, set_mode


def _attr_lines(st: os.stat_result, mode: int | None, uid: int | None, gid: int | None,
                what: tuple[bool, bool, bool]) -> list[str]:
    owner, group, set_mode = what
    return ([f"owner {st.st_uid} -> {uid}"] if owner else []) + (
        [f"group {st.st_gid} -> {gid}"] if group else []) + (
        [f"mode {stat.S_IMODE(st.st_mode):04o} -> {mode:04o}"] if set_mode and mode is not None
        else [])


def fix_attrs(path: Path, st: os.stat_result, mode: int | None, uid: int | None,
              gid: int | None, *, follow: bool = True) -> list[str]:
    """chown, then chmod (unix.rb set_all's order) what differs; the list says what changed."""
    owner, group, set_mode = attr_changes(st, mode, uid, gid)
    set_mode = set_mode and follow          # a link's own mode is not managed
    if owner or group:
        new_uid = uid if owner and uid is not None else -1
        new_gid = gid if group and gid is not None else -1
        (os.chown if follow else os.lchown)(path, new_uid, new_gid)
    if set_mode and mode is not None:
        os.chmod(path, mode)
    return _attr_lines(st, mode, uid, gid, (owner, group, set_mode))


def differs(path: Path, content: bytes | None, mode: int | None, uid: int | None,
            gid: int | None) -> bool:
    """Would ensure_file change anything? (read-only; `notifies ... :before` asks it)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return True
    if content is not None and (not stat.S_ISREG(st.st_mode) or path.read_bytes() != content):
        return True
    return any(attr_changes(st, mode, uid, gid))


def text_diff(old: bytes, new: bytes, limit: int = 20) -> str | None:
    """A short unified diff of two text contents (None for binary), for the run log."""
    try:
        a, b = old.decode().splitlines(), new.decode().splitlines()
    except UnicodeDecodeError:
        return None
    lines = list(difflib.unified_diff(a, b, "current", "new", n=1, lineterm=""))[2:]
    if len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more diff lines)"]
    return "\n".join("        " + line for line in lines) if lines else None


def file_type_string(path: Path) -> str:
    """provider/file.rb file_type_string, in its order."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = 0
    for test, name in ((stat.S_ISBLK, "block device"), (stat.S_ISCHR, "char device"),
                       (stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "pipe"),
                       (stat.S_ISSOCK, "socket")):
        if mode and test(mode):
            return name
    return "symlink" if path.is_symlink() else "unknown filetype"


def resolve_target(path: Path, *, sane: bool = True) -> Path:
    """Where the content goes: the path, or the file its symlink points at (Chef's default,
    manage_symlink_source nil, manages the source). `sane` is provider/file.rb's
    verify_symlink_sanity, asserted for :create only: a link that leads nowhere, loops or
    reaches a non-file fails. Without it (:create_if_missing, :touch) a dangling link is
    followed and its target created, as FileUtils.touch through the link does."""
    if not path.is_symlink():
        return path
    try:
        real = Path(os.path.realpath(path, strict=True))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError(f"Symlink at {path} (pointing to {os.readlink(path)}) exists but "
                             "attempting to resolve it creates a loop") from None
        if exc.errno != errno.ENOENT:
            raise ValueError(f"cannot resolve symlink {path}: {exc.strerror}") from None
        if sane:
            raise ValueError(f"Symlink at {path} (pointing to {os.readlink(path)}) exists but "
                             "attempting to resolve it leads to a nonexistent file") from None
        return Path(os.path.realpath(path))
    if sane and not real.is_file():
        raise ValueError(f"File {path} exists, but is a symlink to {real} which is a "
                         f"{file_type_string(real)}. Disable manage_symlink_source and set "
                         "force_unlink to remove it.")
    return real


def ensure_file(path: Path, content: Content, mode: int | None, uid: int | None,
                gid: int | None, *, diff: bool = True, sane_symlink: bool = True,
                atomic: bool = True, backup: Callable[[Path], Any] | None = None,
                verify: Callable[[Path], None] | None = None) -> list[str]:
    """Make `path` a regular file with this content/mode/owner; [] when it already was.

    In provider/file.rb's order: the parent must exist, the thing at the path must be a
    file (or a sane link to one), then `content` (bytes, or a callable that makes them:
    a template is rendered, a remote file downloaded, only after those checks) is
    verified in a staged temp file (`verify(temp)` raises to refuse it; that temp file is
    the one deployed), the old file is backed up (`backup(path)`), and the content is
    renamed over the target in a temp file (`atomic`, Chef's MvUnix) or copied into it
    (Chef's Cp: same inode). Mode and owner of an existing file are kept unless given.
    """
    if not path.parent.is_dir():
        raise ValueError(f"Parent directory {path.parent} does not exist.")
    target = resolve_target(path, sane=sane_symlink)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise ValueError(f"File {path} exists, but is a {file_type_string(target)}, set "
                         "force_unlink to true to remove")
    if not target.parent.is_dir():
        raise ValueError(f"Parent directory {target.parent} does not exist.")
    data = content() if callable(content) else content
    old = target.read_bytes() if st is not None and data is not None else None
    if st is not None and (data is None or old == data):
        return fix_attrs(target, st, mode, uid, gid)
    data = data or b""
    tmp = deploy.stage(target, data) if verify is not None else None
    try:
        if tmp is not None and verify is not None:
            verify(tmp)
        if st is not None and backup is not None:
            backup(path)
        if not atomic:
            deploy.commit_copy(data, target)
            fix_attrs(target, os.stat(target) if st is None else st, mode, uid, gid)
        else:
            new_mode = mode if mode is not None else \
                stat.S_IMODE(st.st_mode) if st is not None else 0o644
            new_uid = uid if uid is not None or st is None else st.st_uid
            new_gid = gid if gid is not None or st is None else st.st_gid
            if tmp is not None:                 # the verified temp file itself is deployed
                deploy.commit_atomic(tmp, target, new_mode, new_uid, new_gid)
            else:
                write_atomic(target, data, new_mode, new_uid, new_gid)
    finally:
        if tmp is not None and tmp.exists():
            tmp.unlink()
    if st is None:
        return [f"create {target} ({len(data)} bytes, sha256 {sha(data)})"]
    what = f"update content of {target} (sha256 {sha(old or b'')} -> {sha(data)})"
    shown = text_diff(old or b"", data) if diff else None
    what += f"\n{shown}" if shown else ""
    return [what] + _attr_lines(st, mode, uid, gid, attr_changes(st, mode, uid, gid))


def write_atomic(path: Path, data: bytes, mode: int, uid: int | None, gid: int | None) -> None:
    """Temp file in the same directory (deploy.stage), then deploy/mv_unix.rb's commit."""
    tmp = deploy.stage(path, data)
    try:
        deploy.commit_atomic(tmp, path, mode, uid, gid)
    finally:
        if tmp.exists():
            tmp.unlink()

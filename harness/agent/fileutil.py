"""Shared machinery of file-like resources: modes, owners, atomic writes, change lists."""
from __future__ import annotations

import difflib
import grp
import hashlib
import os
import pwd
import stat
import tempfile
from pathlib import Path
from typing import Any


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


def uid_of(owner: Any) -> int | None:
    if owner is None:
        return None
    if isinstance(owner, int) or str(owner).isdigit():
        return int(owner)
    try:
        return pwd.getpwnam(str(owner)).pw_uid
    except KeyError:
        raise ValueError(f"user {owner!r} does not exist") from None


def gid_of(group: Any) -> int | None:
    if group is None:
        return None
    if isinstance(group, int) or str(group).isdigit():
        return int(group)
    try:
        return grp.getgrnam(str(group)).gr_gid
    except KeyError:
        raise ValueError(f"group {group!r} does not exist") from None


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def fix_attrs(path: Path, st: os.stat_result, mode: int | None, uid: int | None,
              gid: int | None, *, follow: bool = True) -> list[str]:
    """chmod/chown what differs; the list says what was changed."""
    changes = []
    if (uid is not None and st.st_uid != uid) or (gid is not None and st.st_gid != gid):
        new_uid = -1 if uid is None else uid
        new_gid = -1 if gid is None else gid
        (os.chown if follow else os.lchown)(path, new_uid, new_gid)
        if uid is not None and st.st_uid != uid:
            changes.append(f"owner {st.st_uid} -> {uid}")
        if gid is not None and st.st_gid != gid:
            changes.append(f"group {st.st_gid} -> {gid}")
    if mode is not None and stat.S_IMODE(st.st_mode) != mode and follow:
        os.chmod(path, mode)
        changes.append(f"mode {stat.S_IMODE(st.st_mode):04o} -> {mode:04o}")
    return changes


def differs(path: Path, content: bytes | None, mode: int | None, uid: int | None,
            gid: int | None) -> bool:
    """Would ensure_file change anything? (read-only; `notifies ... :before` asks it)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return True
    if content is not None and (not stat.S_ISREG(st.st_mode) or path.read_bytes() != content):
        return True
    return ((mode is not None and stat.S_IMODE(st.st_mode) != mode)
            or (uid is not None and st.st_uid != uid) or (gid is not None and st.st_gid != gid))


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


def ensure_file(path: Path, content: bytes | None, mode: int | None, uid: int | None,
                gid: int | None, *, diff: bool = True) -> list[str]:
    """Make `path` a regular file with this content/mode/owner; [] when it already was.

    A content change writes a temp file next to it and renames it over, so readers never
    see half a file; mode and owner of the old file are kept unless given.
    """
    path = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{path} exists and is not a regular file")
    if not path.parent.is_dir():
        raise ValueError(f"parent directory {path.parent} does not exist")
    if st is not None and (content is None or path.read_bytes() == content):
        return fix_attrs(path, st, mode, uid, gid)
    data = content or b""
    if st is None:
        new_mode = 0o644 if mode is None else mode
        new_uid, new_gid = uid, gid
        what = f"create {path} ({len(data)} bytes, sha256 {sha(data)})"
    else:
        new_mode = stat.S_IMODE(st.st_mode) if mode is None else mode
        new_uid = st.st_uid if uid is None else uid
        new_gid = st.st_gid if gid is None else gid
        old = path.read_bytes()
        what = f"update content of {path} (sha256 {sha(old)} -> {sha(data)})"
        shown = text_diff(old, data) if diff else None
        what += f"\n{shown}" if shown else ""
    write_atomic(path, data, new_mode, new_uid, new_gid)
    changes = [what]
    if st is not None:
        if mode is not None and stat.S_IMODE(st.st_mode) != mode:
            changes.append(f"mode {stat.S_IMODE(st.st_mode):04o} -> {mode:04o}")
        if uid is not None and st.st_uid != uid:
            changes.append(f"owner {st.st_uid} -> {uid}")
        if gid is not None and st.st_gid != gid:
            changes.append(f"group {st.st_gid} -> {gid}")
    return changes


def write_atomic(path: Path, data: bytes, mode: int, uid: int | None, gid: int | None) -> None:
    """Temp file in the same directory, fsync, chmod/chown, rename over the target."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.harness-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if uid is not None or gid is not None:
            os.chown(tmp, -1 if uid is None else uid, -1 if gid is None else gid)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise

"""Chef's file_content_management for file-like resources: the temp file new content is
staged in (tempfile.rb) and the two deploy strategies, MvUnix (rename over the target) and
Cp (copy into it). Split from fileutil.py, which decides what to deploy, to keep it short.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path


def stage(target: Path, data: bytes) -> Path:
    """The content in a temp file beside the target, named as Chef's
    file_content_management/tempfile.rb names it (".chef-NAME<date>-<pid>-<random><ext>",
    the extension from the first dot, kept "as a public API") with mode 0600."""
    name = target.name
    ext = name[name.find("."):] if "." in name else ""
    base = name[:-len(ext)] if ext and ext != name else name   # Ruby's File.basename(p, ext)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=ext,
                               prefix=f".chef-{base}{time.strftime('%Y%m%d')}-{os.getpid()}-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return Path(tmp)


def commit_atomic(tmp: Path, target: Path, mode: int, uid: int | None, gid: int | None) -> None:
    """deploy/mv_unix.rb: owner and mode on the temp file (the caller passes the old file's
    unless the resource gives them), chown before chmod (chown clears set-uid), then rename
    over the target."""
    if uid is not None or gid is not None:
        os.chown(tmp, -1 if uid is None else uid, -1 if gid is None else gid)
    os.chmod(tmp, mode)
    os.replace(tmp, target)


def commit_copy(data: bytes, target: Path) -> None:
    """deploy/cp.rb: create the file if needed (touch: 0644 under umask 022) and copy the
    content into it (same inode, so its owner and mode stay: Docker's bind-mounted
    /etc/hosts cannot be renamed over). The caller sets owner and mode after, as Chef's
    do_acl_changes."""
    if not target.exists():
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o644))
    with open(target, "wb") as dst:
        dst.write(data)
        dst.flush()
        os.fsync(dst.fileno())

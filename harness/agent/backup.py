"""Chef's backups of replaced and deleted files, and its copies of refused content.

A module of its own because two Chef behaviours leave copies of a file's content outside
the file, which matters for secrets: chef/chef lib/chef/util/backup.rb keeps the old
content of every file a file-like resource replaces or deletes (`backup`, default 5) under
Chef::Config[:file_backup_path], and provider/file.rb copies content that failed `verify`
to Chef::Config[:file_cache_path]/failed_validations. The defaults are chef-config's for a
client run as root (cache_path /var/chef). Tests point both elsewhere (monkeypatch).
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import time
from collections.abc import Callable
from pathlib import Path

FILE_BACKUP_PATH: str | None = "/var/chef/backup"   # chef-config: cache_path + "/backup"
FILE_CACHE_PATH = "/var/chef/cache"                 # chef-config: file_cache_path


def ruby_join(*parts: str) -> str:
    """Ruby's File.join: one separator between parts, whatever their own slashes."""
    out = parts[0]
    for part in parts[1:]:
        out = out.rstrip("/") + "/" + part.lstrip("/")
    return out


def backup_name(path: Path, now: float) -> str:
    """util/backup.rb backup_filename: PATH.chef-YYYYmmddHHMMSS.ffffff in local time, the
    fraction from sprintf("%6f", time.to_f) (rounded), the seconds from the time (floored)."""
    fraction = f"{now:6f}".split(".")[1]
    return f"{path}.chef-{time.strftime('%Y%m%d%H%M%S', time.localtime(int(now)))}.{fraction}"


def backup(path: Path, keep: int | bool, *, root: str | None = None,
           clock: Callable[[], float] = time.time) -> str | None:
    """Chef::Util::Backup#backup!: when `keep` is a positive number and the path exists
    (following a link), copy it (content, then times, owner and mode, as FileUtils.cp with
    preserve: true) to ROOT/PATH.chef-STAMP and delete all but the `keep` newest copies of
    it (the names sorted in reverse). Returns the copy's path."""
    if keep is False or keep is True or keep <= 0 or not os.path.exists(path):
        return None
    prefix = FILE_BACKUP_PATH if root is None else root
    target = ruby_join(prefix or "", backup_name(path, clock()))
    directory = os.path.dirname(target)
    if prefix:
        os.makedirs(directory, exist_ok=True)
    copy_preserving(path, Path(target))
    pattern = re.compile(r"\A" + re.escape(path.name) + r".chef-[0-9.]*\B")  # Chef's, verbatim
    copies = sorted((os.path.join(directory, f) for f in os.listdir(directory)
                     if pattern.match(f)), reverse=True)
    for old in copies[keep:]:
        os.remove(old)
    return target


DEFAULT_KEEP = 5   # resource/file.rb: `property :backup, ..., default: 5`


def inner_file(path: Path) -> None:
    """The backup of a file that a Chef resource manages through an inner `file` or
    `template` with the default `backup` (cron_d, sysctl, systemd_unit, apt_repository):
    provider/file.rb backs up before it replaces content or deletes a non-symlink."""
    if not path.is_symlink():
        backup(path, DEFAULT_KEEP)


def delete_inner_file(path: Path) -> None:
    """An inner `file ... action :delete`: back it up (unless a symlink), then remove it."""
    inner_file(path)
    path.unlink()


def copy_preserving(src: Path, dst: Path) -> None:
    """FileUtils.cp(src, dst, preserve: true): content, then copy_metadata's utime, chown
    (when not permitted, the set-id bits are dropped) and chmod, in that order."""
    st = os.stat(src)
    shutil.copyfile(src, dst)
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
    mode = stat.S_IMODE(st.st_mode)
    try:
        os.chown(dst, st.st_uid, st.st_gid)
    except PermissionError:
        mode &= 0o1777
    os.chmod(dst, mode)


def keep_failed(tmp: Path) -> str:
    """provider/file.rb do_validate_content: content refused by `verify` is copied to
    file_cache_path/failed_validations/<temp file name> (FileUtils.cp, no preserve)."""
    target = Path(FILE_CACHE_PATH) / "failed_validations" / tmp.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tmp, target)
    return str(target)

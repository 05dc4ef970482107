"""The repo's production backup: `backup/` beside roles/ and environments/.

PagerDuty's functional suite emulates production by restoring a backup of the production
server first and the repo on top. A repo that keeps such a backup (knife-backup layout, e.g.
written by `harness backup`) in `backup/` gets it everywhere a version question is asked:
every role spec's cluster, `harness check` and `harness promote`. An explicit
`--from-backup` or `cluster(from_backup=...)` wins.
"""
from __future__ import annotations

from pathlib import Path

BACKUP_DIR = "backup"


def repo_backup(repo_root: Path, explicit: Path | str | None = None) -> Path | None:
    """The backup to restore under repo_root: explicit (relative to the repo) or `backup/`."""
    if explicit:
        path = Path(explicit)
        return path if path.is_absolute() else repo_root / path
    default = repo_root / BACKUP_DIR
    return default if default.is_dir() else None

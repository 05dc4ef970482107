"""Which cookbook versions exist: the repo's (one per cookbook) plus a backup's (all uploaded).

Why: production pins versions uploaded long ago; the repo only holds the newest of each
cookbook. A knife-backup of the real server (`cookbooks/NAME-VERSION/`) supplies the rest, read
by the same reader `harness restore --from-backup` uses, so promote and check judge pins by
what the server would have.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.repo import Repo, RepoSource, Version


def backup_manifests(backup: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """{cookbook: {version: manifest}} of a knife-backup directory (read as restore reads it)."""
    # Lazy: harness.restore brings the client (urllib3), imports that `harness show` and the
    # CLI's start must not pay (decision 21).
    from harness.restore import read_backup

    out: dict[str, dict[str, dict[str, Any]]] = {}
    for (name, version), cookbook in sorted(read_backup(backup).cookbooks.items()):
        out.setdefault(name, {})[version] = cookbook.manifest()
    return out


def policy_source(repo: Repo, backup: Path | None = None) -> RepoSource:
    """The repo as a policy source, with the backup's cookbook versions when given."""
    return RepoSource(repo, backup_manifests(backup) if backup else None)


def versions(source: RepoSource) -> dict[str, list[Version]]:
    """{cookbook: versions oldest first} over repo and backup."""
    return {cb: sorted(map(Version.parse, found))
            for cb, found in source.cookbook_manifests().items()}


def where(backup: Path | None) -> str:
    """How error messages name the places searched."""
    return f"the repo or backup {backup}" if backup else "the repo"

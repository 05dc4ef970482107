"""`harness converge`'s first step: the repo on disk into the running cluster's server.

Validate first (the whole repo loads, and still has the cluster's environment and its nodes'
roles), so a broken repo changes nothing; then upload the files the server lacks
(content-addressed: harmless) and POST /_sync once (harness/server/sync.py applies it under
the store's lock). The payload is what restore would upload (backup/ under the repo), except
nodes and clients, which the server keeps. backup/ cookbook versions go as frozen: only the
repo under edit may change a version in place.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.client import Client, run_all
from harness.errors import Problem, UsageError, ValidationError
from harness.repo.cookbook import Cookbook
from harness.restore import Payload, file_uploads, read_backup, repo_payload


def check_recipes(cookbooks: Iterable[Cookbook]) -> None:
    """Every recipe compiles: a syntax error would fail every node's converge after the
    sync, so it is refused before (stricter than restore, which leaves it to the agent)."""
    problems = []
    for cookbook in cookbooks:
        for recipe in sorted(cookbook.recipes):
            path = cookbook.path / "recipes" / f"{recipe}.py"
            try:
                compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
            except SyntaxError as err:
                problems.append(Problem(str(path), f"SyntaxError: {err.msg}", err.lineno))
    if problems:
        raise ValidationError(problems)


def sync_payload(repo: Path, from_backup: Path | None) -> tuple[Payload, set[tuple[str, str]]]:
    """What the cluster's server should hold: backup (if any) under the repo, checked; and the
    backup's cookbook versions the repo does not redefine (they stay frozen)."""
    payload = Payload()
    if from_backup is not None:
        payload.merge(read_backup(from_backup))
    ours = repo_payload(repo)
    check_recipes(ours.cookbooks.values())
    frozen = set(payload.cookbooks) - set(ours.cookbooks)
    payload.merge(ours)
    return payload, frozen


def sync_repo(client: Client, repo: Path, *, from_backup: Path | None, environment: str,
              roles: set[str]) -> str:
    """Bring the server up to date with repo; a one-line summary of what changed."""
    started = time.monotonic()
    payload, frozen = sync_payload(repo, from_backup)
    where = str(repo)
    if environment != "_default" and environment not in payload.environments:
        raise UsageError(f"the cluster's environment {environment!r} is gone from the repo; "
                         "nothing synced", path=where)
    for role in sorted(roles - payload.roles.keys()):
        raise UsageError(f"the cluster's role {role!r} is gone from the repo; nothing synced",
                         path=where)
    by_key = {key: dict(cookbook.manifest(), frozen=key in frozen)
              for key, cookbook in payload.cookbooks.items()}
    manifests: dict[str, dict[str, Any]] = {}
    for (name, version), manifest in by_key.items():
        manifests.setdefault(name, {})[version] = manifest
    missing, uploads = file_uploads(client, payload.cookbooks, by_key)
    run_all(uploads)
    body = {"environments": payload.environments, "roles": payload.roles,
            "data": payload.data_bags, "cookbooks": manifests}
    counts = json.loads(client.request("POST", "/_sync", body=json.dumps(body).encode()))
    return (f"synced {repo}: {counts['cookbooks_changed']} of {counts['cookbooks']} cookbook "
            f"versions changed ({len(missing)} files uploaded), "
            f"{counts['cookbooks_removed']} removed; {counts['roles']} roles, "
            f"{counts['environments']} environments, {counts['data']} data bag items "
            f"in {time.monotonic() - started:.1f} s")

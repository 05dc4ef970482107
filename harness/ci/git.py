"""The few git questions the matrix asks, through the git command line.

A plain subprocess keeps the dependency list short and behaves exactly like the git the CI
runner uses (shallow clones, worktrees, safe.directory all included).
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError


def _git(repo_dir: Path, *args: str) -> str:
    """Run git in repo_dir; a failure is bad input (exit 2) with git's own first line."""
    try:
        proc = subprocess.run(["git", "-C", str(repo_dir), *args], capture_output=True,
                              text=True, check=False)
    except FileNotFoundError as err:
        raise UsageError("git is not installed (needed for --changed-since/--base)") from err
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
        reason = lines[0] if lines else f"git {' '.join(args)} exited {proc.returncode}"
        raise UsageError(reason.removeprefix("fatal: "))
    return proc.stdout


@dataclass(frozen=True)
class Checkout:
    """Where repo_dir sits in its git work tree."""

    top: Path          # the work tree's top level
    prefix: str        # repo_dir relative to it, "" or "sub/dir/"


def checkout(repo_dir: Path) -> Checkout:
    """Fail with exit 2 unless repo_dir is inside a git work tree."""
    if not repo_dir.is_dir():
        raise UsageError(f"{repo_dir}: not a directory")
    try:
        out = _git(repo_dir, "rev-parse", "--show-toplevel", "--show-prefix")
    except UsageError as err:
        raise UsageError(f"{repo_dir}: not a git checkout ({err})") from err
    top, prefix = (out.splitlines() + ["", ""])[:2]
    return Checkout(Path(top), prefix)


def verify_ref(repo_dir: Path, ref: str) -> str:
    """The commit a ref names, or exit 2 saying it does not exist."""
    if not ref or ref.startswith("-"):
        raise UsageError(f"not a git ref: {ref!r}")
    try:
        return _git(repo_dir, "rev-parse", "--verify", "--quiet", "--end-of-options",
                    f"{ref}^{{commit}}").strip()
    except UsageError as err:
        raise UsageError(f"git ref {ref!r} does not exist in {repo_dir} "
                         "(fetch it first, e.g. `git fetch origin main`)") from err


def changed_paths(repo_dir: Path, ref: str) -> tuple[list[str], list[str]]:
    """Files changed by REF...HEAD plus uncommitted and untracked work.

    Returns (paths relative to repo_dir, paths outside it relative to the work tree top).
    Renames count as a delete plus an add so both sides are analysed.
    """
    where = checkout(repo_dir)
    verify_ref(repo_dir, ref)
    try:
        committed = _git(where.top, "diff", "-z", "--name-only", "--no-renames",
                         f"{ref}...HEAD", "--")
    except UsageError as err:
        raise UsageError(f"cannot diff {ref}...HEAD: {err} (a shallow clone needs more "
                         "history: fetch-depth: 0)") from err
    worktree = _git(where.top, "diff", "-z", "--name-only", "--no-renames", "HEAD", "--")
    untracked = _git(where.top, "ls-files", "-z", "--others", "--exclude-standard")
    inside: set[str] = set()
    outside: set[str] = set()
    for path in (committed + worktree + untracked).split("\0"):
        if not path:
            continue
        if path.startswith(where.prefix):
            inside.add(path[len(where.prefix):])
        else:
            outside.add(path)
    return sorted(inside), sorted(outside)

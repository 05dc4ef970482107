"""The base side of a plan: the repo as it was where the branch left REF, in a temp dir.

`harness plan --base REF` compares what the branch did since it left REF (the merge base, as
`git diff REF...HEAD` and `harness matrix --changed-since REF`) with the working tree. The
base tree is written by `git archive` of the merge base into a temporary directory (no
`git worktree`: nothing is registered in the user's .git, so an interrupted plan leaves
nothing behind but a temp dir the context manager removes).
"""
from __future__ import annotations

import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.ci.git import checkout, verify_ref
from harness.errors import UsageError


@dataclass(frozen=True)
class BaseTree:
    """Where the base side's repo directory is, and which commit it is."""

    root: Path          # the repo directory inside the extracted tree
    ref: str            # as the user named it
    commit: str         # the merge base of REF and HEAD (full hash)


def merge_base(repo_dir: Path, ref: str) -> str:
    """The commit the branch left REF at (`git merge-base REF HEAD`); exit 2 if none."""
    verify_ref(repo_dir, ref)
    proc = subprocess.run(["git", "-C", str(repo_dir), "merge-base", "--end-of-options", ref,
                           "HEAD"], capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise UsageError(f"git ref {ref!r} and HEAD have no common ancestor in {repo_dir} "
                         "(a shallow clone needs more history: fetch-depth: 0)")
    return proc.stdout.strip()


@contextmanager
def base_tree(repo_dir: Path, ref: str) -> Iterator[BaseTree]:
    """Extract the merge base of REF and HEAD; the directory is removed on exit."""
    where = checkout(repo_dir)
    commit = merge_base(repo_dir, ref)
    with tempfile.TemporaryDirectory(prefix="harness-plan-") as tmp:
        proc = subprocess.Popen(["git", "-C", str(where.top), "archive", "--format=tar",
                                 commit], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None
        try:
            with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
                # "data" refuses absolute paths, links leaving the tree and device files, as
                # harness validate refuses symlinks that leave the repo.
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError) as err:
            proc.kill()
            raise UsageError(f"base side ({ref} at {commit[:12]}): cannot extract the tree: "
                             f"{err}") from None
        finally:
            proc.stdout.close()
            stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            rc = proc.wait()
        if rc != 0:
            raise UsageError(f"base side ({ref} at {commit[:12]}): git archive failed: "
                             f"{stderr.strip().splitlines()[0] if stderr.strip() else rc}")
        root = Path(tmp) / where.prefix
        if not root.is_dir():
            raise UsageError(f"base side ({ref} at {commit[:12]}): {where.prefix} does not "
                             "exist there")
        yield BaseTree(root, ref, commit)

"""The config repo as a pure model: load + validate files, versions, depsolver, run-list
expansion, attribute precedence -> compiled node policy. No I/O besides reading the repo."""
from typing import Any

from harness.repo.attributes import deep_merge, merge_precedence
from harness.repo.backup import repo_backup
from harness.repo.cookbook import Cookbook, load_cookbook
from harness.repo.depsolver import solve
from harness.repo.loader import Repo, load_repo
from harness.repo.policy import RepoSource, compile_policy, cookbook_manifest_attrs
from harness.repo.runlist import Expansion, RunListItem, expand_run_list, parse_item
from harness.repo.versions import Constraint, Version

_LAZY = {"decrypt_item", "encrypt_item", "is_encrypted", "load_secret"}


def __getattr__(name: str) -> Any:
    """encrypted.py imports `cryptography`: load it only when asked (keeps the CLI quick)."""
    if name in _LAZY:
        from harness.repo import encrypted
        return getattr(encrypted, name)
    raise AttributeError(f"module 'harness.repo' has no attribute {name!r}")


__all__ = ["Constraint", "Cookbook", "Expansion", "Repo", "RepoSource", "RunListItem", "Version",
           "compile_policy", "cookbook_manifest_attrs", "decrypt_item", "deep_merge",
           "encrypt_item", "expand_run_list", "is_encrypted", "load_cookbook", "load_repo",
           "load_secret", "merge_precedence", "parse_item", "repo_backup", "solve"]

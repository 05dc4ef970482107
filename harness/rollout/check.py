"""`harness check`: every pin resolves to an existing version, every role solves everywhere.

Why: promote edits one pin at a time; this is the gate (CI, pre-commit) that the environments
as a whole still work: a pin to a version never uploaded, or a role whose cookbooks cannot be
satisfied under some environment's pins, is caught before any node converges. Solving uses
harness.repo's compile_policy, the same code the config server runs.
"""
from __future__ import annotations

from pathlib import Path

from harness.errors import NotFound, Problem, UsageError, ValidationError
from harness.repo import Constraint, compile_policy, load_repo
from harness.rollout.inventory import policy_source, versions, where


def check(repo_dir: Path, *, env: str | None = None, from_backup: Path | None = None) -> str:
    """One-line summary when all is well; ValidationError listing every failure otherwise."""
    repo = load_repo(repo_dir)
    if env is not None and env not in repo.environments:
        raise NotFound(f"no environment {env!r} in {repo.root / 'environments'}")
    source = policy_source(repo, from_backup)
    known = versions(source)
    envs = [env] if env else sorted(repo.environments)
    problems: list[Problem] = []
    pins = 0
    for name in envs:
        file = str(repo.sources.get(("environment", name), repo.root / "environments"))
        for cb, text in sorted((repo.environments[name].get("cookbook_versions") or {}).items()):
            pins += 1
            constraint = Constraint.parse(text)
            if cb not in known:
                problems.append(Problem(file, f"pin {cb} {constraint}: no cookbook {cb} in "
                                              f"{where(from_backup)}"))
            elif not any(constraint.allows(v) for v in known[cb]):
                available = ", ".join(map(str, known[cb]))
                problems.append(Problem(file, f"pin {cb} {constraint}: no such version in "
                                              f"{where(from_backup)} (available: {available})"))
    for role in sorted(repo.roles):
        file = str(repo.sources.get(("role", role), repo.root / "roles"))
        for name in envs:
            try:
                compile_policy(source, name=f"{role}-check", environment=name,
                               run_list=[f"role[{role}]"])
            except UsageError as err:
                problems.append(Problem(file, f"role {role} in environment {name}: {err.message}"))
    if problems:
        raise ValidationError(problems)
    return (f"ok: {len(envs)} environment{'s' * (len(envs) != 1)}, {pins} pins resolve; "
            f"{len(repo.roles)} roles solve in each")

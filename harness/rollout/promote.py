"""`harness promote ENV COOKBOOK`: pin a cookbook version in one environment file.

Why: Etsy's promote step (knife spork promote) after a change was tried on a node flipped to
`testing`. The environment file is hand-written: its format, key order, indentation and comments
stay; only the pin's value changes (or one entry is added). A pin that jumps over versions
gets a warning, because each skipped version is a change production never ran alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from yaml.nodes import MappingNode

from harness.errors import HarnessError, NotFound, UsageError
from harness.repo import Constraint, Version, load_repo
from harness.rollout.docfile import load_doc
from harness.rollout.inventory import policy_source, versions, where
from harness.rollout.splice import entry, insert_entry, replace_scalar


@dataclass
class Promoted:
    path: Path
    summary: str
    warnings: list[str] = field(default_factory=list)
    changed: bool = True


def _warnings(env: str, cookbook: str, old: Constraint | None, new: Version,
              known: list[Version]) -> list[str]:
    """Skipped versions (or a step back) between what the old pin resolved to and `new`."""
    allowed = [v for v in known if old is not None and old.allows(v)]
    if not allowed:
        return []
    current = allowed[-1]
    if new < current:
        return [f"{env}: {cookbook} goes back from {current} to {new}"]
    skipped = [str(v) for v in known if current < v < new]
    if not skipped:
        return []
    return [f"{env}: {cookbook} jumps from {current} to {new}, skipping {', '.join(skipped)}"]


def promote(repo_dir: Path, env: str, cookbook: str, *, version: str | None = None,
            from_backup: Path | None = None, keep_operator: bool = False,
            pin_unpinned: bool = False) -> Promoted:
    """Write `cookbook: "= V"` into environments/ENV.*; every check runs before the write.

    An environment that pins nothing (Etsy's `testing`) resolves the newest version of every
    cookbook; knife spork promote would quietly start pinning it, so that needs pin_unpinned.
    """
    repo = load_repo(repo_dir)
    path = repo.sources.get(("environment", env))
    if env not in repo.environments or path is None:
        names = ", ".join(sorted(e for e in repo.environments if e != "_default")) or "none"
        raise NotFound(f"no environment file environments/{env}.json or .yaml in {repo.root} "
                       f"(environments: {names})")
    known = versions(policy_source(repo, from_backup)).get(cookbook)
    if not known:
        raise NotFound(f"no cookbook {cookbook!r} in {where(from_backup)}")
    if version is None:
        if cookbook not in repo.cookbooks:
            raise UsageError(f"cookbook {cookbook!r} is only in the backup: give --version")
        version = repo.cookbooks[cookbook].version
    new = Version.parse(version)
    if new not in known:
        raise NotFound(f"no version {new} of {cookbook} in {where(from_backup)} "
                       f"(available: {', '.join(map(str, known))})")
    doc = load_doc(path)
    pins = doc.data.get("cookbook_versions")
    if pins is not None and not isinstance(pins, dict):
        raise UsageError("cookbook_versions must be a mapping", path=str(path))
    pins = pins or {}
    if not pins and not pin_unpinned:
        raise UsageError(f"environment {env} pins no cookbooks, so it runs the newest version of "
                         f"each; a pin would freeze {cookbook} there. Nothing written "
                         "(--pin-unpinned to start pinning it)", path=str(path))
    old_text = pins.get(cookbook)
    old = Constraint.parse(str(old_text)) if old_text is not None else None
    pin = f"{old.op if keep_operator and old else '='} {new}"
    if old_text == pin:
        return Promoted(path, f"{path}: {cookbook} is already pinned {pin}", changed=False)
    expected = doc.expected()
    expected["cookbook_versions"] = {**pins, cookbook: pin}
    found = entry(doc.root, "cookbook_versions")
    if found is None:
        new_text = insert_entry(doc, doc.root, "cookbook_versions", {cookbook: pin})
    elif not isinstance(found[1], MappingNode):
        raise UsageError("cookbook_versions is empty: write `cookbook_versions: {}`",
                         path=str(path))
    elif old_text is None:
        new_text = insert_entry(doc, found[1], cookbook, pin)
    else:
        pinned = entry(found[1], cookbook)
        if pinned is None:  # data has the pin, so its node exists
            raise HarnessError(f"cannot locate the pin of {cookbook} in this file; edit it by hand",
                               path=str(path))
        new_text = replace_scalar(doc, pinned[1], pin)
    doc.commit(new_text, expected)
    return Promoted(path, f"{path}: {cookbook} {old_text or '(not pinned)'} -> {pin}",
                    _warnings(env, cookbook, old, new, known))

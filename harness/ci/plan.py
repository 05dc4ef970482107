"""`harness plan`: what a change does to every role, before any container starts.

For each role x environment the change can reach (harness.ci.affected, the reasoning of
`harness matrix`), the policy is compiled and why-run (harness.unit.converge: the agent's own
code against an in-process server) twice: on the base tree (the merge base of REF and HEAD,
plantree.py) and on the working tree. The difference (plandiff.py) is the plan; searches are
answered by the nodes the role's spec would start (planpeers.py); secrets never show
(plansecret.py). Rendering is planrender.py.
"""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.ci.affected import Analysis, classify, select
from harness.ci.git import changed_paths
from harness.ci.plandiff import Side, diff_sides, flatten, is_empty
from harness.ci.planpeers import Peers, peers_for
from harness.ci.plansecret import Redactor, decrypted_values
from harness.ci.plantree import base_tree
from harness.ci.specs import Spec, discover_specs
from harness.errors import HarnessError, Problem, UsageError, ValidationError
from harness.repo import Repo, load_repo, repo_backup
from harness.server.store import Store
from harness.unit import UnitRun, converge
from harness.unit.store import seed

SECRET = Path(".chef/encrypted_data_bag_secret")
PLAN_NODE = "harness-plan"      # the node whose policy gives the cookbook versions


@dataclass
class Pair:
    """One role in one environment: selected or not, and its difference."""

    role: str
    environment: str
    status: str = "not reached"     # not reached | unchanged | changed | failed
    why: list[str] = field(default_factory=list)
    node: str = ""
    peers: list[str] = field(default_factory=list)
    peers_from: str | None = None
    base: str | None = None         # why the base side has nothing (absent or failed)
    head: str | None = None
    diff: dict[str, Any] | None = None


@dataclass
class Plan:
    ref: str
    commit: str
    changed: list[str]
    pairs: list[Pair]
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """0: a report, changes or not; 1: a role fails at the head side."""
        return 1 if any(p.status == "failed" and p.head for p in self.pairs) else 0

    def to_json(self) -> dict[str, Any]:
        return {"base": {"ref": self.ref, "commit": self.commit}, "head": "working tree",
                "changed_paths": self.changed,
                "pairs": [vars(p) for p in self.pairs]}


@dataclass
class SideTree:
    """One side's repo, loaded, with its secret and a store for policies and files."""

    name: str                       # "base" | "head"
    root: Path
    repo: Repo
    secret: bytes | None
    label: str                      # how messages name this side
    store: Store | None = None


def compute_plan(repo_dir: Path, *, base: str = "HEAD", roles: Iterable[str] = (),
                 environments: Iterable[str] = (), specs: str = "role_specs",
                 progress: Callable[[str], None] | None = None) -> Plan:
    """The plan of the working tree against the merge base of `base` and HEAD."""
    say = progress or (lambda line: print(f"harness plan: {line}", file=sys.stderr))
    started = time.monotonic()
    repo_dir = repo_dir.resolve()
    inside, outside = changed_paths(repo_dir, base)
    head = _load("head", repo_dir, "head side (working tree)", None)
    with base_tree(repo_dir, base) as tree:
        label = f"base side ({base} at {tree.commit[:12]})"
        old = _load("base", tree.root, label, head.secret)
        found = discover_specs(repo_dir, specs) if (repo_dir / specs).is_dir() else []
        pairs = _pairs(old, head, list(roles), list(environments))
        _select(head.repo, pairs, inside, outside, specs)
        reached = [p for p in pairs if p.status != "not reached"]
        say(f"{len(inside) + len(outside)} path(s) changed since {base} "
            f"(merge base {tree.commit[:12]}); {len(reached)} of {len(pairs)} role x "
            "environment pair(s) reached")
        secrets = decrypted_values(old.repo, old.secret) | decrypted_values(head.repo, head.secret)
        redactor = Redactor(secrets, head.secret or old.secret)
        peers = {(p.role, p.environment): peers_for(found, p.role, p.environment) for p in reached}
        sides: dict[str, dict[tuple[str, str], Side]] = {}
        for side in (old, head):   # one side at a time: the unit layer caches one repo's seed
            t0 = time.monotonic()
            sides[side.name] = {(p.role, p.environment): _why_run(side, p, peers[(p.role,
                                p.environment)]) for p in reached}
            say(f"{side.label}: {len(reached)} why-run(s) in {time.monotonic() - t0:.1f}s")
        for pair in reached:
            _settle(pair, sides["base"][(pair.role, pair.environment)],
                    sides["head"][(pair.role, pair.environment)], redactor,
                    peers[(pair.role, pair.environment)])
    return Plan(base, tree.commit, inside + outside, pairs, time.monotonic() - started)


def _load(name: str, root: Path, label: str, fallback_secret: bytes | None) -> SideTree:
    """Load one side; a repo that does not validate is bad input naming the side."""
    try:
        repo = load_repo(root)
    except ValidationError as err:
        raise ValidationError([Problem(f"{label}: {_rel(p.path, root)}", p.message, p.line)
                               for p in err.problems]) from None
    except HarnessError as err:
        raise UsageError(f"{label}: {err}") from None
    secret_file = root / SECRET
    secret = secret_file.read_bytes() if secret_file.is_file() else fallback_secret
    return SideTree(name, root, repo, secret, label)


def _rel(path: str, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path


def _pairs(old: SideTree, head: SideTree, roles: list[str], envs: list[str]) -> list[Pair]:
    """Every role x environment of either side (or the ones asked for)."""
    all_roles = sorted(set(old.repo.roles) | set(head.repo.roles))
    all_envs = sorted(set(old.repo.environments) | set(head.repo.environments))
    for asked, known, what in ((roles, all_roles, "role"), (envs, all_envs, "environment")):
        for name in asked:
            if name not in known:
                raise UsageError(f"no {what} {name!r} at either side (there are: "
                                 f"{', '.join(known)})")
    return [Pair(role, env) for role in (roles or all_roles) for env in (envs or all_envs)]


class _Loaded(Analysis):
    """The matrix's analysis over the head side already loaded (not a second load_repo)."""

    def __init__(self, repo: Repo, specs: list[Spec]) -> None:
        super().__init__(repo.root, specs)
        self._head = repo

    @property
    def repo(self) -> Repo | None:
        return self._head


def _select(head: Repo, pairs: list[Pair], inside: list[str], outside: list[str],
            specs: str) -> None:
    """Mark the pairs the change can reach, with the matrix's reasons: each role x
    environment is a one-role "spec" in that environment."""
    repo_dir = Path(head.root).resolve()
    fake = {f"{p.role}@{p.environment}": p for p in pairs}
    analysis = _Loaded(head, [Spec(key, key, (p.role,), p.environment) for key, p in fake.items()])
    tables = analysis.lookup_tables()
    specs_dir = (repo_dir / specs).resolve()
    specs_rel = specs_dir.relative_to(repo_dir).as_posix() if specs_dir.is_relative_to(
        repo_dir) else specs
    changes = [classify(path, specs_dir=specs_rel, **tables) for path in inside]
    why = select(analysis, changes)
    for path in outside:
        for key in fake:
            why.setdefault(key, []).append(f"{path}: outside {repo_dir.name}/, may affect "
                                           "anything")
    for key, reasons in why.items():
        fake[key].status, fake[key].why = "unchanged", reasons


def _why_run(side: SideTree, pair: Pair, peers: Peers) -> Side:
    """One why-run on one side, as plandiff.Side."""
    if pair.role not in side.repo.roles:
        return Side(absent=f"role {pair.role} does not exist on the {side.name} side")
    if pair.environment not in side.repo.environments:
        return Side(absent=f"environment {pair.environment} does not exist on the "
                           f"{side.name} side")
    try:
        run = converge(f"role[{pair.role}]", environment=pair.environment, repo=side.root,
                       peers=peers.peers, name=peers.node, secret=side.secret)
        versions = _versions(side, pair)
    except HarnessError as err:
        return Side(error=str(err).replace(str(side.root), side.name))
    return Side(_resources(side, run, versions), versions, _attributes(run))


def _store(side: SideTree) -> Store:
    if side.store is None:
        side.store = seed(side.root, repo_backup(side.root)).store()
    return side.store


def _versions(side: SideTree, pair: Pair) -> dict[str, str]:
    """The cookbook versions the environment solves the role's run list to."""
    store = _store(side)
    store.put("node", PLAN_NODE, {"name": PLAN_NODE, "chef_environment": pair.environment,
                                  "run_list": [f"role[{pair.role}]"], "normal": {},
                                  "default": {}, "override": {}, "automatic": {}})
    return dict(store.policy(PLAN_NODE).get("cookbook_versions", {}))


def _resources(side: SideTree, run: UnitRun, versions: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for res in run.resources:
        props = json.loads(json.dumps(res.properties, default=str))
        if res.type == "cookbook_file" and "source_path" in props:
            props["content"] = _cookbook_file(side, props["source_path"], versions)
        out[res.key] = {"action": list(res.action), "properties": props}
    return out


def _cookbook_file(side: SideTree, label: str, versions: dict[str, str]) -> str | None:
    """The bytes a cookbook_file would write (text, or a sha256 line when binary)."""
    name, _, path = label.partition("/")
    if name not in versions:
        return None
    manifest = _store(side).manifest(name, versions[name])
    for entry in manifest.get("files", []):
        if entry["path"] == path:
            data = _store(side).get_file(entry["checksum"])
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                return f"(binary, {len(data)} bytes, sha256 {entry['checksum']})\n"
    return None


def _attributes(run: UnitRun) -> dict[str, Any]:
    merged = json.loads(json.dumps(run.node.attributes, default=str))
    return flatten(merged)


def _settle(pair: Pair, old: Side, new: Side, redactor: Redactor, peers: Peers) -> None:
    pair.node, pair.peers, pair.peers_from = peers.node, peers.names(), peers.spec
    pair.base, pair.head = old.absent or old.error, new.absent or new.error
    if old.error or new.error:
        pair.status = "failed"
        pair.base, pair.head = (redactor.text(old.error) if old.error else None,
                                redactor.text(new.error) if new.error else None)
        return
    if old.absent and new.absent:
        pair.status = "unchanged"
        return
    diff = diff_sides(old, new, redactor)
    if is_empty(diff) and not (old.absent or new.absent):
        pair.status = "unchanged"
    else:
        pair.status, pair.diff = "changed", diff

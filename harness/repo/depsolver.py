"""Cookbook dependency solver: the versions Chef Server (erchef) picks for a run list.

erchef gives the run list, the environment's pins and every cookbook version to dep_selector
(chef-server src/oc_erchef/apps/chef_objects/priv/depselector_rb/depselector.rb), a gecode
model that OPTIMISES rather than taking the first fit (chef/dep-selector
ext/dep_gecode/dep_selector_to_gecode.cpp, `BuildCostVector`). Its cookbooks are every one
reachable from the run list through any allowed version's depends (`trim_unreachable_packages`);
one that nothing requires may be left out (version -1). It maximises, in this order:
1. run-list cookbooks at their newest allowed version (`mark_preferred_to_be_at_latest`),
2. OTHER reachable cookbooks at their newest, unused ones included (an old version's
   dependency counts when its newest fits beside the rest).
"At its newest" is all or nothing: 1.5.0 scores like 1.0.0 when 2.0.0 exists.
depselector.Optimum searches that model as gecode does (the open cookbook with the most live
propagators first, newest value first, a restart after each better answer; gecode's order
among equal degrees is approximated: decision 24). The answer is the run list and the
chosen versions' depends (`trim_solution`). When nothing fits, `_Search` (chef-zero's
first-fit order) finds the first conflict and names its chain in the SolveError.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.errors import SolveError, UsageError
from harness.repo.depselector import Optimum, constraint_of, depends_of
from harness.repo.versions import Constraint, Version

MAX_STEPS = 50_000        # a pathological input fails clearly instead of spinning


@dataclass(frozen=True, slots=True)
class _Req:
    """One constraint on a cookbook and why it exists."""

    cookbook: str
    constraint: Constraint | None
    origin: str          # "environment production" | "required by zookeeper 1.1.0 <- role zk"

    def __str__(self) -> str:
        text = f"{self.cookbook} {self.constraint}" if self.constraint else self.cookbook
        return f"{text} ({self.origin})"


class _Search:
    """The state of one solve: constraints per cookbook, choices, and the first conflict."""

    def __init__(self, available: Mapping[str, Mapping[str, Mapping[str, str]]],
                 pins: Mapping[str, str], env_label: str) -> None:
        self.available = available
        self.pins = pins
        self.env_label = env_label
        self.versions: dict[str, list[tuple[Version, str]]] = {}
        self.reqs: dict[str, list[_Req]] = {}
        self.order: list[str] = []            # cookbooks in the order they were brought in
        self.origin_of: dict[str, str] = {}   # how a cookbook entered: for "<-" chains
        self.chosen: dict[str, str] = {}
        self.options: dict[str, list[tuple[Version, str]]] = {}   # allowed now, newest first
        self.steps = 0
        self.conflict: str | None = None

    def introduce(self, cb: str, origin: str) -> None:
        """Start tracking `cb`, with the environment's pin as its first constraint."""
        self.reqs[cb] = []
        self.order.append(cb)
        self.origin_of[cb] = origin
        self.options[cb] = self.candidates(cb)
        pin = self.pins.get(cb)
        if pin:
            self.require(_Req(cb, constraint_of(pin, self.env_label), self.env_label))

    def forget(self, cb: str) -> None:
        del self.reqs[cb]
        self.order.remove(cb)
        del self.origin_of[cb]
        del self.options[cb]

    def require(self, req: _Req) -> list[tuple[Version, str]]:
        """Add a constraint and narrow the cookbook's options; returns the old options."""
        cb, old = req.cookbook, self.options[req.cookbook]
        self.reqs[cb].append(req)
        if req.constraint is not None:
            allows = req.constraint.allows
            self.options[cb] = [(v, t) for v, t in old if allows(v)]
        return old

    def unrequire(self, req: _Req, old: list[tuple[Version, str]]) -> None:
        self.reqs[req.cookbook].pop()
        self.options[req.cookbook] = old

    def candidates(self, cb: str) -> list[tuple[Version, str]]:
        """(parsed, as written) versions of `cb`, newest first; parsed once per solve."""
        found = self.versions.get(cb)
        if found is None:
            found = []
            for text in self.available.get(cb) or ():
                try:
                    found.append((Version.parse(text), text))
                except UsageError:
                    continue      # a malformed stored version can never be chosen
            found.sort(reverse=True)
            self.versions[cb] = found
        return found

    def fail(self, cb: str, chosen: str | None = None) -> None:
        """Remember the first conflict met (the one on the newest-preferred path)."""
        if self.conflict is not None:
            return
        reqs = self.reqs[cb]
        versions = [t for _, t in sorted(self.candidates(cb))]
        if not versions:
            first = next((r for r in reqs if r.origin != self.env_label), reqs[0])
            self.conflict = f"cannot satisfy {first}: no cookbook {cb!r} is available"
            return
        # name one constraint that alone excludes every version when there is one
        blocking = [r for r in reqs if r.constraint and not any(
            r.constraint.allows(v) for v, _ in self.candidates(cb))]
        shown = blocking[:1] or [r for r in reqs if r.constraint]
        text = " and ".join(str(r) for r in shown)
        if chosen is not None and not blocking:
            text += f", but {cb} {chosen} is already chosen ({self.origin_of[cb]})"
        self.conflict = f"cannot satisfy {text}; available: {', '.join(versions)}"

    def run(self) -> bool:
        """Choose a version for every tracked cookbook; False when none fits."""
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise SolveError(f"cookbook dependencies too complex to solve in {MAX_STEPS} steps")
        cb = next((c for c in self.order if c not in self.chosen), None)   # chef-zero's order
        if cb is None:
            return True
        if not self.options[cb]:
            self.fail(cb)
            return False
        for _, text in self.options[cb]:
            if self.try_version(cb, text):
                return True
        return False

    def try_version(self, cb: str, text: str) -> bool:
        """Choose `cb` `text`, add its depends, search on; undo everything on failure."""
        via = f"required by {cb} {text} <- {self.origin_of[cb].removeprefix('required by ')}"
        added: list[tuple[_Req, list[Any]]] = []
        new_cbs: list[str] = []
        self.chosen[cb] = text
        ok = True
        for dep, dep_constraint in (self.available[cb][text] or {}).items():
            req = _Req(dep, depends_of(dep_constraint, via) if dep_constraint else None, via)
            if dep not in self.reqs:
                self.introduce(dep, via)
                new_cbs.append(dep)
            added.append((req, self.require(req)))
            if dep in self.chosen:
                if req.constraint and not req.constraint.allows(self.chosen[dep]):
                    self.fail(dep, self.chosen[dep])
                    ok = False
                    break
            elif not self.options[dep]:
                self.fail(dep)
                ok = False
                break
        if ok and self.run():
            return True
        del self.chosen[cb]
        for req, old in reversed(added):
            self.unrequire(req, old)
        for dep in reversed(new_cbs):
            self.forget(dep)
        return False


# (cookbook, constraint or None[, origin]); expand_run_list's roots carry the origin
Root = tuple[str, str | None] | tuple[str, str | None, str]


def solve(available: Mapping[str, Mapping[str, Mapping[str, str]]], pins: Mapping[str, str],
          roots: Iterable[Root], *, environment: str | None = None) -> dict[str, str]:
    """{cb: version} for `roots` (cb, constraint|None[, origin]); SolveError naming the chain.

    `available` is {cb: {version: {dep: constraint}}}, `pins` the environment's
    cookbook_versions; `environment` only names the pins in messages.
    """
    search = _Search(available, pins or {}, f"environment {environment}" if environment
                     else "environment pin")
    for root in roots:
        cb, constraint = root[0], root[1]
        origin = root[2] if len(root) > 2 and root[2] else "run list"
        origin = origin if origin.startswith("required by") else f"required by {origin}"
        if cb not in search.reqs:
            search.introduce(cb, origin)
        search.require(_Req(cb, constraint_of(constraint, origin) if constraint else None, origin))
    empty = next((cb for cb in search.order if not search.options[cb]), None)
    if empty is not None:      # dep_selector refuses a run-list item no version matches
        search.fail(empty)
        raise SolveError(search.conflict or "cannot satisfy the run list")
    try:
        best = Optimum(search).solve()
        if best is not None:
            return best
        search.run()           # nothing fits: chef-zero's search names the first conflict
    except RecursionError:
        raise SolveError("cookbook dependency chain too deep to solve") from None
    raise SolveError(search.conflict or "cannot satisfy the run list")

"""dep_selector's optimisation, the model Chef Server (erchef) solves run lists with.

depsolver.py builds the requirements (its `_Search`, chef-zero's first-fit order, also names
the conflict when nothing fits); `Optimum` searches dep_selector's model over them for the
answer Chef Server gives (decision 24). Kept apart so each module stays small.
"""
from __future__ import annotations

from typing import Any

from harness.errors import SolveError, UsageError
from harness.repo.versions import Constraint

OPTIMUM_STEPS = 50_000    # erchef gives dep_selector 2 s, then answers 412


class Optimum:
    """dep_selector's model over bitmasks, one per reachable cookbook: bit 0 is "left out", bit
    k+1 its k-th oldest version the environment allows. Propagation is gecode's: a version whose
    dependency has no version left in range goes; a cookbook down to one version narrows its
    dependencies to their ranges; once an answer is known, what must be at its newest to beat
    it is forced there (`constrain`)."""

    def __init__(self, search: Any) -> None:
        self.search = search
        texts: dict[str, list[str]] = {}     # allowed versions, oldest first
        reach: list[str] = []                # trim_unreachable_packages: depth first
        stack = list(reversed(dict.fromkeys(search.order)))
        while stack:
            cb = stack.pop()
            if cb not in texts:
                reach.append(cb)
                texts[cb] = self.allowed(cb)
                stack.extend(reversed([d for t in texts[cb] for d in search.available[cb][t] or {}]))
        # gecode ids (the tie-break of pick): each package, then its versions' dependencies
        self.names = list(dict.fromkeys(n for cb in reach for n in [cb, *(
            d for t in texts[cb] for d in search.available[cb][t] or {})]))
        self.texts = [texts[cb] for cb in self.names]
        index = {cb: i for i, cb in enumerate(self.names)}
        count = len(self.names)
        self.out: list[dict[int, list[tuple[int, int]]]] = [{} for _ in range(count)]
        self.into: list[list[tuple[int, int, int]]] = [[] for _ in range(count)]
        for i, cb in enumerate(self.names):
            for k, text in enumerate(self.texts[i]):
                for dep, constraint in (search.available[cb][text] or {}).items():
                    c = depends_of(constraint, f"required by {cb} {text}") if constraint else None
                    d = index[dep]
                    mask = sum(2 << j for j, t in enumerate(self.texts[d])
                               if c is None or c.allows(t))
                    self.out[i].setdefault(2 << k, []).append((d, mask))
                    self.into[d].append((i, 2 << k, mask))
        self.roots = [cb in search.order for cb in self.names]
        self.latest = [1 << len(t) if t else 0 for t in self.texts]
        self.dom = [(1 << len(t) + 1) - 1 for t in self.texts]
        for i, cb in enumerate(self.names):
            if self.roots[i]:
                allowed = {t for _, t in search.options[cb]}
                self.dom[i] = sum(2 << k for k, t in enumerate(self.texts[i]) if t in allowed)
        self.trail: list[tuple[int, int]] = []
        self.best: tuple[int, int] | None = None
        self.top = (0, 0)
        self.answer: list[int] = []
        self.steps = 0

    def allowed(self, cb: str) -> list[str]:
        pin = self.search.pins.get(cb)
        keep = constraint_of(pin, self.search.env_label) if pin else None
        return [t for v, t in reversed(self.search.candidates(cb)) if keep is None or keep.allows(v)]

    def solve(self) -> dict[str, str] | None:
        """The optimum, trimmed to the run list and its depends; None when nothing fits."""
        if self.propagate(list(range(len(self.names)))):
            self.top, root = self.bound(), len(self.trail)
            while self.best != self.top and self.branch([]):
                self.undo(root)        # restart from the top with the better bound (gecode's RBS)
        if self.best is None:
            return None
        chosen = {cb: self.texts[i][self.answer[i].bit_length() - 2]
                  for i, cb in enumerate(self.names) if self.answer[i] > 1}
        out = list(dict.fromkeys(self.search.order))
        for cb in out:
            out.extend(d for d in self.search.available[cb][chosen[cb]] or {} if d not in out)
        return {cb: chosen[cb] for cb in out}

    def branch(self, changed: list[int]) -> bool:
        """Depth first, x = newest then x != newest (re-picking), like gecode's INT_VAL_MAX;
        True at the first answer better than the best."""
        while True:
            self.steps += 1
            if self.steps > OPTIMUM_STEPS:
                raise SolveError(f"cookbook dependencies too complex to solve in "
                                 f"{OPTIMUM_STEPS} steps (erchef answers 412 on its timeout)")
            if not (self.propagate(changed) and self.constrain()):
                return False
            i = self.pick()
            if i is None:          # constrain() let only a better answer through
                self.best, self.answer = self.bound(), list(self.dom)
                return True
            bit = 1 << self.dom[i].bit_length() - 1
            mark = len(self.trail)
            if self.narrow(i, bit, changed := []) and self.branch(changed):
                return True
            self.undo(mark)
            if not self.narrow(i, ~bit, changed := []):
                return False

    def pick(self) -> int | None:
        """gecode's INT_VAR_DEGREE_MAX: the open cookbook with the most live propagators."""
        best, chosen = -1, None
        for i, dom in enumerate(self.dom):
            if not dom & (dom - 1):
                continue
            degree = 1 if dom & self.latest[i] else 0
            degree += sum(len(deps) for bit, deps in self.out[i].items() if dom & bit)
            degree += sum(1 for _, _, mask in self.into[i] if dom & mask and dom & ~mask)
            if degree > best:
                best, chosen = degree, i
        return chosen

    def narrow(self, i: int, mask: int, changed: list[int]) -> bool:
        new = self.dom[i] & mask
        if new != self.dom[i]:
            if not new:
                return False
            self.trail.append((i, self.dom[i]))
            self.dom[i] = new
            changed.append(i)
        return True

    def undo(self, mark: int) -> None:
        while len(self.trail) > mark:
            i, dom = self.trail.pop()
            self.dom[i] = dom

    def propagate(self, changed: list[int]) -> bool:
        while changed:
            d = changed.pop()
            dom = self.dom[d]
            for i, bit, mask in self.into[d]:
                if self.dom[i] & bit and not dom & mask and not self.narrow(i, ~bit, changed):
                    return False
            if dom > 1 and not dom & (dom - 1):
                for dep, mask in self.out[d].get(dom, ()):
                    if not self.narrow(dep, mask, changed):
                        return False
        return True

    def bound(self) -> tuple[int, int]:
        """(run-list cookbooks, others) that can still be at their newest allowed version."""
        at = [i for i, top in enumerate(self.latest) if self.dom[i] & top]
        roots = sum(1 for i in at if self.roots[i])
        return roots, len(at) - roots

    def constrain(self) -> bool:
        """Only a strictly better answer may follow the best one (gecode's `constrain`)."""
        while self.best is not None:
            roots, others = self.bound()
            if (roots, others) <= self.best:
                return False
            if roots > self.best[0]:
                return True
            every = others == self.best[1] + 1
            changed = [i for i, top in enumerate(self.latest)
                       if (every or self.roots[i]) and self.dom[i] & top and self.dom[i] != top]
            if not changed:
                return True
            for i in changed:
                self.narrow(i, self.latest[i], [])
            if not self.propagate(changed):
                return False
        return True



def constraint_of(text: str, origin: str) -> Constraint:
    """A pin or run-list constraint; a bad one is a SolveError naming where it came from."""
    try:
        return Constraint.parse(text)
    except UsageError as err:
        raise SolveError(f"{err} ({origin})") from None


def depends_of(text: str, origin: str) -> Constraint:
    """A cookbook's depends: metadata.rb's grammar (a backup may hold Chef's `~> 1`)."""
    try:
        return Constraint.parse_depends(text)
    except UsageError as err:
        raise SolveError(f"{err} ({origin})") from None

"""Longest spec module first under xdist, from each module's last recorded time.

With `--dist loadfile` a worker takes one whole module (one cluster) at a time, in the order
the workers collected them; xdist's own `--loadscope-reorder` sorts by number of tests,
which says little about a module's time (test_mail.py has few tests and the slowest
converge). Starting the longest first (LPT scheduling) keeps one worker from running the
longest module alone at the end. Each run records every module's time (the sum of its
tests' setup, call and teardown: its cluster's bring-up included) in pytest's cache, under
`harness/module-seconds`; the next run's workers order modules by it, modules with no
record first (they may be long). Without a record, or without the cache plugin, the order
stays xdist's. Decision 61.
"""
from __future__ import annotations

from collections import defaultdict

import pytest

CACHE_KEY = "harness/module-seconds"


def recorded(config: pytest.Config) -> dict[str, float]:
    """{module path: seconds} of earlier runs; empty without the cache or a record."""
    cache = getattr(config, "cache", None)
    value = cache.get(CACHE_KEY, {}) if cache is not None else {}
    if not isinstance(value, dict):
        return {}
    return {str(k): float(v) for k, v in value.items() if isinstance(v, (int, float))}


def longest_first(items: list[pytest.Item], seconds: dict[str, float]) -> list[pytest.Item]:
    """items grouped by module, modules by recorded seconds descending (no record: first);
    the order inside a module and between equal modules is kept."""
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    order = sorted(modules, key=lambda m: -seconds.get(m, float("inf")))
    return [item for module in order for item in modules[module]]


class ModuleOrder:
    """Registered by the harness plugin: orders modules on xdist workers, and sums every
    report's duration per module where the reports arrive (the single process or xdist's
    controller), written at the session's end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.seconds: dict[str, float] = defaultdict(float)
        if recorded(config) and getattr(config.option, "dist", "no") == "loadfile":
            config.option.loadscopereorder = False  # xdist would sort by test count again

    @pytest.hookimpl(trylast=True)  # after the platform skips and --attach's deselection
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """On xdist workers only: the order they collect is the order modules go out."""
        if hasattr(self.config, "workerinput") and (seconds := recorded(self.config)):
            items[:] = longest_first(items, seconds)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[report.nodeid.split("::", 1)[0]] += report.duration

    def pytest_sessionfinish(self) -> None:
        cache = getattr(self.config, "cache", None)
        if (cache is None or hasattr(self.config, "workerinput") or not self.seconds
                or self.config.getoption("harness_attach", None)):  # verify-only: not a time
            return
        merged = recorded(self.config)
        merged.update({module: round(s, 2) for module, s in self.seconds.items()})
        cache.set(CACHE_KEY, merged)

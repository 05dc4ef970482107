"""xdist hands out spec modules longest first, from the times the last run recorded."""
from __future__ import annotations

import json
from types import SimpleNamespace

from harness.pytest_order import CACHE_KEY, longest_first

pytest_plugins = ["pytester"]


def items(*nodeids: str) -> list[SimpleNamespace]:
    return [SimpleNamespace(nodeid=n) for n in nodeids]


def test_modules_longest_first_unrecorded_first_inner_order_kept():
    collected = items("a.py::t1", "a.py::t2", "b.py::t1", "c.py::t1", "c.py::t2", "d.py::t")
    ordered = longest_first(collected, {"a.py": 1.0, "b.py": 9.0, "c.py": 4.0})  # d: no record
    assert [i.nodeid for i in ordered] == ["d.py::t", "b.py::t1", "c.py::t1", "c.py::t2",
                                           "a.py::t1", "a.py::t2"]


MODULE = """
import pathlib, time
def test_it():
    with open(pathlib.Path(__file__).parent / "started.txt", "a") as f:
        f.write("{name}\\n")
    time.sleep({seconds})
"""


def test_a_second_run_starts_the_longest_modules_first(pytester):
    """Three one-test modules, so xdist's own reorder (by test count) keeps collection order:
    the first run starts a and b; once their times are recorded, b and c (the longest)."""
    for name, seconds in (("a", 0.0), ("b", 1.0), ("c", 0.6)):
        pytester.makepyfile(**{f"test_{name}": MODULE.format(name=name, seconds=seconds)})
    started = pytester.path / "started.txt"
    args = ("-n", "2", "--dist", "loadfile")
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=3)
    assert set(started.read_text().split()[:2]) == {"a", "b"}
    recorded = json.loads((pytester.path / ".pytest_cache/v" / CACHE_KEY).read_text())
    assert recorded["test_b.py"] > recorded["test_c.py"] > recorded["test_a.py"]
    started.unlink()
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=3)
    assert set(started.read_text().split()[:2]) == {"b", "c"}


def test_a_damaged_record_leaves_the_order_alone(pytester):
    pytester.makepyfile(test_a="def test_a(): pass", test_b="def test_b(): pass")
    record = pytester.path / ".pytest_cache/v" / CACHE_KEY
    record.parent.mkdir(parents=True)
    record.write_text('["not", "a", "mapping"]')
    pytester.runpytest_subprocess("-n", "2", "--dist", "loadfile").assert_outcomes(passed=2)
    assert set(json.loads(record.read_text())) == {"test_a.py", "test_b.py"}

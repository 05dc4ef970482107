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


def module(name: str, seconds: float, tests: int) -> str:
    """A spec-like module: its first test logs (module, worker) and takes `seconds`."""
    first = (
        "import os, pathlib, time\n"
        "def test_0():\n"
        "    with open(pathlib.Path(__file__).parent / 'started.txt', 'a') as f:\n"
        f"        f.write('{name} ' + os.environ['PYTEST_XDIST_WORKER'] + '\\n')\n"
        f"    time.sleep({seconds})\n")
    return first + "".join(f"def test_{n}():\n    pass\n" for n in range(1, tests))


CONFTEST = """
import pathlib
def pytest_collection_finish(session):
    if hasattr(session.config, "workerinput"):  # the order a worker hands to the scheduler
        modules = list(dict.fromkeys(i.nodeid.split("::")[0] for i in session.items))
        (pathlib.Path(__file__).parent / "collected.txt").write_text(" ".join(modules))
"""


def test_a_second_run_hands_out_the_longest_modules_first(pytester):
    """a has the most tests (xdist's own reorder would start it first) and the shortest time.
    Once the first run recorded the times, workers collect b, c, a, and xdist keeps that
    order: a is handed to b's worker as its second module, so it starts after b."""
    sizes = {"a": (0.0, 3), "b": (0.8, 1), "c": (0.4, 2)}
    for name, (seconds, tests) in sizes.items():
        pytester.makepyfile(**{f"test_{name}": module(name, seconds, tests)})
    pytester.makeconftest(CONFTEST)
    args = ("-n", "2", "--dist", "loadfile")
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=6)
    assert (pytester.path / "collected.txt").read_text() == "test_a.py test_b.py test_c.py"
    recorded = json.loads((pytester.path / ".pytest_cache/v" / CACHE_KEY).read_text())
    assert recorded["test_b.py"] > recorded["test_c.py"] > recorded["test_a.py"]
    started = pytester.path / "started.txt"
    started.unlink()
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=6)
    assert (pytester.path / "collected.txt").read_text() == "test_b.py test_c.py test_a.py"
    order = [line.split()[0] for line in started.read_text().splitlines()]
    assert order.index("b") < order.index("a")
    workers = dict(line.split() for line in started.read_text().splitlines())
    assert workers["a"] == workers["b"] != workers["c"]


def test_a_damaged_record_leaves_the_order_alone(pytester):
    pytester.makepyfile(test_a="def test_a(): pass", test_b="def test_b(): pass")
    record = pytester.path / ".pytest_cache/v" / CACHE_KEY
    record.parent.mkdir(parents=True)
    record.write_text('["not", "a", "mapping"]')
    pytester.runpytest_subprocess("-n", "2", "--dist", "loadfile").assert_outcomes(passed=2)
    assert set(json.loads(record.read_text())) == {"test_a.py", "test_b.py"}

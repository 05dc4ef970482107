"""Benchmark: our zookeeper spec against Molecule doing the same job, in one run (issue 12).

Not a test: run it by hand (see bench/README.md) and record the medians in docs/benchmarks.md.

    .venv/bin/python bench/molecule.py [--runs 3] [--warm-up ours|all|none] [--json F]

Each round runs, one after the other and each as a timed subprocess (wall clock):
  ours warm  `pytest role_specs/test_zookeeper.py -p no:cacheprovider --package-layer on`
  ours cold  the same with `--package-layer off`
  molecule   `molecule test` in bench/molecule (create, converge, idempotence, verify, destroy
             of 3 ZooKeeper members; Molecule's venv, see bench/molecule/requirements.txt)
The sides are interleaved so a change in the shared machine's load hits all three alike.
Prints every run's wall (Molecule's phases too), the medians and the ratios
ours-warm/molecule and ours-cold/molecule (targets: warm <= 0.16x, goal 0.12x).
An interrupted run is cleaned up: pytest gets SIGINT (it tears its cluster down), Molecule is
stopped and `molecule destroy` removes its instances and network.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.errors import HarnessError
from harness.nodes.imagedefs import default_images_dir, image_tag
from harness.nodes.platforms import platform_image_dir
from nodes import UP_LINE, LoadSampler, other_containers

SCENARIO = ROOT / "bench" / "molecule"
DEFAULT_VENV = SCENARIO / ".venv"
SPEC = "role_specs/test_zookeeper.py"
LABEL = "bench=molecule-zk"  # molecule.yml labels its instances so
SIDES = {"ours-warm": ["--package-layer", "on"], "ours-cold": ["--package-layer", "off"]}
ALL_SIDES = (*SIDES, "molecule")
VERIFIED = re.compile(r"\d+ (passed|failed)")  # the testinfra verifier's pytest summary
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Molecule 26: "default ➜ converge: Executing" ... "default ➜ converge: Executed: Successful",
# or with NO_COLOR (as the bench runs it) "[default > converge] Executing" ... "Executed: ..."
PHASE = re.compile(r"(?:➜|>) (\w+)(?::|\]) (Executing|Executed)")


class Setup(Exception):
    """Something the bench needs is missing: one line, exit 2."""


def base_image(platform: str) -> str:
    """The platform's node image (harness/base:<tag> for bookworm); it must exist locally."""
    try:
        tag = image_tag(platform_image_dir(default_images_dir(ROOT), platform))
    except HarnessError as err:
        raise Setup(str(err)) from None
    found = subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False)
    if found.returncode != 0:
        raise Setup(f"base image {tag} is missing: build it with `.venv/bin/harness images build "
                    f"--platform {platform}` (or run any role spec once)")
    return tag


def molecule_env(venv: Path, image: str) -> dict[str, str]:
    molecule = venv / "bin" / "molecule"
    if not os.access(molecule, os.X_OK):
        raise Setup(f"no Molecule at {molecule}: python3 -m venv {venv} && {venv}/bin/pip install "
                    f"-r {SCENARIO.relative_to(ROOT)}/requirements.txt")
    return dict(os.environ, PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
                ZK_BENCH_IMAGE=image, NO_COLOR="1", ANSIBLE_NOCOLOR="1", PY_COLORS="0")


class Child:
    """A timed subprocess in its own session, so the bench decides how it is interrupted."""

    def __init__(self, cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, errors="replace",
                                     start_new_session=True)
        self.lines: list[tuple[float, str]] = []

    def run(self) -> tuple[float, int]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append((time.monotonic() - self.started, ANSI.sub("", line.rstrip())))
        code = self.proc.wait()
        return time.monotonic() - self.started, code

    def interrupt(self, sig: int = signal.SIGINT, grace: float = 180) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def tail(self, n: int = 25) -> str:
        return "\n".join(text for _, text in self.lines[-n:])


def phases(lines: list[tuple[float, str]]) -> list[tuple[str, float]]:
    """(phase, seconds) in order, from Molecule's Executing/Executed lines."""
    out, started = [], {}
    for at, text in lines:
        match = PHASE.search(text)
        if match and match[2] == "Executing":
            started[match[1]] = at
        elif match and match[1] in started:
            out.append((match[1], at - started.pop(match[1])))
    return out


def destroy_molecule(env: dict[str, str]) -> None:
    """`molecule destroy` when instances of the scenario are still there."""
    left = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={LABEL}"], check=False,
                          capture_output=True, text=True).stdout.split()
    if left:
        print(f"molecule: {len(left)} instance(s) left; molecule destroy", flush=True)
        subprocess.run(["molecule", "destroy"], cwd=SCENARIO, env=env, capture_output=True,
                       check=False, timeout=600)


def pytest_cmd(side: str, platform: str) -> list[str]:
    pytest = ROOT / ".venv" / "bin" / "pytest"
    base = [str(pytest)] if pytest.exists() else [sys.executable, "-m", "pytest"]
    return [*base, SPEC, "-p", "no:cacheprovider", "-q", "--platform", platform, *SIDES[side]]


def run_side(side: str, menv: dict[str, str], platform: str) -> dict:
    """One timed run of a side; its record for the report and --json."""
    busy = other_containers()
    if side == "molecule":
        destroy_molecule(menv)  # a leftover would make `create` skip and the run not comparable
        child = Child(["molecule", "test"], SCENARIO, menv)
    else:
        child = Child(pytest_cmd(side, platform), ROOT)
    try:
        with LoadSampler() as load:
            wall, code = child.run()
    except BaseException:
        print(f"\n{side}: interrupted; stopping it (and cleaning up)", file=sys.stderr, flush=True)
        child.interrupt(signal.SIGINT if side != "molecule" else signal.SIGTERM)
        if side == "molecule":
            destroy_molecule(menv)
        raise
    record = {"side": side, "wall": round(wall, 2), "ok": code == 0, "exit": code,
              "load": load.describe(), "containers_at_start": busy}
    if side == "molecule":
        record["phases"] = [[name, round(sec, 2)] for name, sec in phases(child.lines)]
        record["summary"] = next((t.strip(" =│") for _, t in reversed(child.lines)
                                  if VERIFIED.search(t)), "no verifier summary")
        destroy_molecule(menv)
    else:
        record["up"] = [f"{m[1]} {m[2]} s" for _, t in child.lines if (m := UP_LINE.search(t))]
        record["summary"] = next((t for _, t in reversed(child.lines) if t.strip()), "")
    if code != 0:
        print(f"{side} exited {code}; last lines:\n{child.tail()}", file=sys.stderr)
    return record


def describe(record: dict) -> str:
    head = f"{record['side']:<10} {record['wall']:7.1f} s  {'ok' if record['ok'] else 'FAILED'}"
    if "phases" in record:
        detail = ", ".join([record["summary"], *(f"{n} {s:.1f}" for n, s in record["phases"]
                                                  if s >= 0.05)])
    else:
        detail = "; ".join([record["summary"], *record["up"]])
    return f"{head}  [{detail}]  {record['load']}; containers at start: " \
           f"{record['containers_at_start']}"


def report(records: list[dict]) -> dict:
    walls = {side: [r["wall"] for r in records if r["side"] == side and r["ok"]]
             for side in ALL_SIDES}
    medians = {side: statistics.median(w) for side, w in walls.items() if w}
    if not medians:
        print("no run completed")
        return {"medians": {}, "ratios": {}}
    print("\nmedians: " + "; ".join(
        f"{side} {medians[side]:.1f} s ({', '.join(f'{w:.1f}' for w in walls[side])})"
        for side in medians))
    ratios = {}
    if "molecule" in medians:
        for side in SIDES:
            if side in medians:
                ratios[f"{side}/molecule"] = round(medians[side] / medians["molecule"], 3)
    if ratios:
        print("ratios of the medians: " + "; ".join(f"{k} {v:.2f}x" for k, v in ratios.items())
              + "   (issue 12: warm <= 0.16x, goal 0.12x)")
    names = list(dict.fromkeys(n for r in records for n, _ in r.get("phases", [])))  # in order
    if names:
        per = {n: [sum(s for m, s in r["phases"] if m == n) for r in records if "phases" in r]
               for n in names}
        print("molecule phases (median s, destroy counts both of `test`'s destroys): " + ", ".join(
            f"{n} {statistics.median(v):.1f}" for n, v in per.items() if max(v) >= 0.05))
    return {"medians": medians, "ratios": ratios}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds of (ours warm, ours cold, "
                        "molecule); default 3")
    parser.add_argument("--warm-up", choices=("ours", "all", "none"), default="ours",
                        help="untimed runs first: ours = one warm spec run (builds the package "
                             "layer when missing; default), all = that and one molecule test")
    parser.add_argument("--sides", nargs="+", choices=ALL_SIDES, default=list(ALL_SIDES),
                        help="what each round runs (default: all three)")
    parser.add_argument("--platform", default="bookworm", help="the platform both sides boot "
                        "(default bookworm, our spec's default)")
    parser.add_argument("--molecule-venv", type=Path, default=DEFAULT_VENV,
                        help=f"venv with bench/molecule/requirements.txt (default {DEFAULT_VENV})")
    parser.add_argument("--json", help="write every run's record and the medians to this file")
    args = parser.parse_args()
    try:
        menv = molecule_env(args.molecule_venv.resolve(), base_image(args.platform))
    except Setup as err:
        print(f"bench/molecule.py: {err}", file=sys.stderr)
        return 2
    # SIGTERM behaves like Ctrl-C: the running side is stopped and cleaned up.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"{datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores; {SPEC} vs molecule test "
          f"({SCENARIO.relative_to(ROOT)}, image {menv['ZK_BENCH_IMAGE']})", flush=True)
    if os.environ.get("HARNESS_APT_PROXY"):
        print("note: HARNESS_APT_PROXY is set: our nodes install through it, Molecule's do not "
              "(unset it for a like-for-like comparison)", flush=True)
    warm_up = {"ours": ["ours-warm"], "all": ["ours-warm", "molecule"], "none": []}[args.warm_up]
    warm_up = [side for side in warm_up if side in args.sides]
    records: list[dict] = []
    try:
        for side in warm_up:
            print(f"warm-up (not counted): {describe(run_side(side, menv, args.platform))}",
                  flush=True)
        for i in range(args.runs):
            for side in [s for s in ALL_SIDES if s in args.sides]:
                records.append(run_side(side, menv, args.platform))
                print(f"run {i + 1}/{args.runs} {describe(records[-1])}", flush=True)
    except KeyboardInterrupt:
        print("bench/molecule.py: interrupted; what ran so far:", file=sys.stderr)
        report(records)
        return 130
    summary = report(records)
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": records, **summary}, indent=1))
    return 0 if all(r["ok"] for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())

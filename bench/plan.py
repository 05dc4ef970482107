"""`harness plan` of the whole example repo: every role x environment, both sides.

    .venv/bin/python bench/plan.py            # 5 runs
    .venv/bin/python bench/plan.py --runs 9

Clones this checkout into a temp dir, changes the base cookbook's motd template (every role
includes role[base], so all 6 roles x 4 environments are reached: 24 why-runs per side),
then times the `harness plan --base HEAD` command end to end (a fresh process: imports, git,
the base tree's extraction, loading both sides, 48 why-runs, rendering) and prints the median
and the range. Target: < 5 s on the 2-core CI machine.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HARNESS = Path(sys.executable).with_name("harness")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        repo = Path(tmp) / "repo"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
        motd = repo / "site-cookbooks/base/templates/motd.j2"
        motd.write_text(motd.read_text() + "Benchmarked by bench/plan.py.\n")
        times, out = [], ""
        for _ in range(args.runs):
            t0 = time.monotonic()
            proc = subprocess.run([str(HARNESS), "plan", "--repo", str(repo), "--format", "json"],
                                  capture_output=True, text=True, check=True)
            times.append(time.monotonic() - t0)
            out = proc.stdout
        reached = out.count('"status": "changed"')
        print(f"harness plan, whole example repo ({reached} role x environment pairs "
              f"changed): median {statistics.median(times):.2f} s over {args.runs} runs "
              f"(min {min(times):.2f}, max {max(times):.2f})")
        print(proc.stderr.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run a GitHub workflow job's steps the way a hosted runner does, as a given local user.

Only what the role-specs spec job uses: `run:` steps (bash with -e and, for `shell: bash`,
-o pipefail, as GitHub documents for its shells), the job's and steps' `env:` with
`${{ matrix.X }}` and `${{ steps.ID.outputs.K }}` expressions, $GITHUB_OUTPUT, and stand-ins
for the `uses:` actions (checkout: the caller prepared the work tree; setup-python: `python`
on PATH; cache: a miss (the cached path starts empty); upload-artifact: the path must exist).
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXPR = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")
KNOWN_ACTIONS = ("actions/checkout@", "actions/setup-python@", "actions/cache@",
                 "actions/upload-artifact@")


@dataclass
class StepResult:
    name: str
    returncode: int
    output: str


@dataclass
class JobRun:
    """A job's context while its steps run."""

    user: str
    workdir: Path
    home: Path
    scratch: Path                  # the step scripts and $GITHUB_OUTPUT files (user-writable)
    path: str                      # PATH for the steps (setup-python's bin dir first)
    matrix: dict[str, Any]
    base_env: dict[str, str]
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    results: list[StepResult] = field(default_factory=list)

    def expand(self, text: str) -> str:
        def one(match: re.Match[str]) -> str:
            expr = match.group(1)
            if expr.startswith("matrix."):
                return str(self.matrix[expr.removeprefix("matrix.")])
            found = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr)
            if found:
                return self.outputs.get(found.group(1), {}).get(found.group(2), "")
            raise AssertionError(f"the test runner does not evaluate ${{{{ {expr} }}}}")
        return EXPR.sub(one, text)

    def run_step(self, step: dict[str, Any], job_env: dict[str, str], timeout: float) -> None:
        name = step.get("name") or step.get("uses") or step["run"].splitlines()[0]
        if "uses" in step:
            self._action(step)
            return
        assert "${{" not in step["run"], f"{name}: expressions belong in env:, not in run:"
        output_file = self.scratch / f"github-output-{len(self.results)}"
        output_file.write_text("")
        output_file.chmod(0o666)
        env = {**self.base_env, "HOME": str(self.home), "PATH": self.path,
               "GITHUB_OUTPUT": str(output_file), "GITHUB_WORKSPACE": str(self.workdir),
               **{k: self.expand(str(v)) for k, v in {**job_env, **step.get("env", {})}.items()}}
        flags = "-eo pipefail" if step.get("shell") == "bash" else "-e"
        script = self.scratch / f"step-{len(self.results)}.sh"
        script.write_text(step["run"])
        script.chmod(0o644)
        cmd = ["runuser", "-u", self.user, "--", "env", "-i",
               *[f"{k}={v}" for k, v in env.items()],
               "bash", "--noprofile", "--norc", *flags.split(), str(script)]
        proc = subprocess.run(cmd, cwd=self.workdir, capture_output=True, text=True,
                              timeout=timeout)
        self.results.append(StepResult(name, proc.returncode, proc.stdout + proc.stderr))
        if proc.returncode != 0:
            raise AssertionError(f"step {name!r} exited {proc.returncode}:\n"
                                 f"{(proc.stdout + proc.stderr)[-4000:]}")
        if step.get("id"):
            pairs = [line.partition("=") for line in output_file.read_text().splitlines()]
            self.outputs[step["id"]] = {k: v for k, sep, v in pairs if sep}

    def _action(self, step: dict[str, Any]) -> None:
        uses = step["uses"]
        assert uses.startswith(KNOWN_ACTIONS), f"no stand-in for {uses}"
        if uses.startswith("actions/upload-artifact@"):
            path = self.workdir / self.expand(step["with"]["path"])
            assert path.exists() and any(path.iterdir()), f"{uses}: nothing at {path}"
        if uses.startswith("actions/cache@") and step.get("id"):
            self.outputs[step["id"]] = {"cache-hit": "false"}
        self.results.append(StepResult(uses, 0, ""))

"""The one seam for running commands: resources call `ctx.run`, tests replace it."""
from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Command = str | Sequence[str]


@dataclass
class Completed:
    """What a command did: exit status and its captured output."""

    rc: int
    out: str = ""
    err: str = ""

    def tail(self, lines: int = 10) -> str:
        """The last lines of output, for failure messages."""
        text = (self.out + ("\n" if self.out and self.err else "") + self.err).strip()
        return "\n".join(text.splitlines()[-lines:])


Runner = Callable[..., Completed]


def run(cmd: Command, *, cwd: str | None = None, env: Mapping[str, str] | None = None,
        user: str | None = None, timeout: float | None = 3600, input: str | None = None
        ) -> Completed:
    """Run a command (a string goes through /bin/sh), capture output, never raise on rc."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    shell = isinstance(cmd, str)
    ids: dict[str, Any] = {}
    if user is not None:
        import pwd  # only needed when switching users
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            return Completed(1, "", f"user {user} does not exist")
        full_env.update(HOME=entry.pw_dir, USER=user, LOGNAME=user)
        ids = {"user": user, "group": entry.pw_gid,
               "extra_groups": os.getgrouplist(user, entry.pw_gid)}
    try:
        proc = subprocess.run(cmd, shell=shell, cwd=cwd, env=full_env, input=input,
                              stdin=None if input is not None else subprocess.DEVNULL,
                              capture_output=True, text=True, errors="replace",
                              timeout=timeout, **ids)
    except FileNotFoundError as exc:
        return Completed(127, "", f"{exc.filename}: command not found")
    except subprocess.TimeoutExpired:
        return Completed(124, "", f"timed out after {timeout}s")
    return Completed(proc.returncode, proc.stdout, proc.stderr)

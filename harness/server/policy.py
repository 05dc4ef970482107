"""Node policies on the server: harness.repo.compile_policy over the store.

Every failure to compile a run list (unknown role, role cycle, versions) is a SolveError,
so the HTTP layer answers 412 for all of them, as Chef's depsolver does.
"""
from __future__ import annotations

from typing import Any

from harness.errors import HarnessError, SolveError
from harness.repo.policy import PolicySource, compile_policy


def compile_for(source: PolicySource, *, name: str, environment: str, run_list: list[str],
                normal: dict[str, Any] | None = None) -> dict[str, Any]:
    """compile_policy; any other HarnessError it raises becomes a SolveError."""
    try:
        return compile_policy(source, name=name, environment=environment, run_list=run_list,
                              normal=normal)
    except SolveError:
        raise
    except HarnessError as err:  # unknown role, role cycle: the run list cannot compile
        raise SolveError(str(err)) from None

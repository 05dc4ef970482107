"""CI support: the per-role-spec matrix and the pre-merge gate.

`compute_matrix` decides which role spec modules a change can affect (one CI job each);
`run_gate` runs validate -> unit -> functional and stops at the first failure.
See docs/ci.md for how teams use them and why they work this way.
"""
from __future__ import annotations

from harness.ci.gate import GateResult, StageResult, run_gate, summary_table
from harness.ci.matrix import Matrix, compute_matrix, render
from harness.ci.specs import Spec, discover_specs

__all__ = ["GateResult", "Matrix", "Spec", "StageResult", "compute_matrix", "discover_specs",
           "render", "run_gate", "summary_table"]

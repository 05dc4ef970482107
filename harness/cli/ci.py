"""`harness matrix | gate`: the per-role-spec CI matrix and the pre-merge gate (docs/ci.md)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.ci.gate import run_gate
from harness.ci.matrix import compute_matrix, render
from harness.cli.common import Subparsers, add_repo, repo_dir


def cmd_matrix(args: argparse.Namespace) -> int:
    matrix = compute_matrix(repo_dir(args), specs=args.specs, changed_since=args.changed_since,
                            platforms=args.platform)
    if args.explain:
        for line in matrix.explanation():
            print(f"harness matrix: {line}", file=sys.stderr)
    sys.stdout.write(render(matrix, args.format, explain=args.explain))
    return 0


def cmd_gate(args: argparse.Namespace) -> int:
    result = run_gate(repo_dir(args), base=args.base, specs=args.specs,
                      reports=Path(args.reports).resolve() if args.reports else None)
    return result.exit_code


def register(sub: Subparsers) -> None:
    p = sub.add_parser("matrix", help="the role specs to run in CI (one job per spec module)")
    p.add_argument("--changed-since", metavar="REF",
                   help="only specs that REF...HEAD plus uncommitted changes can affect")
    p.add_argument("--format", choices=("json", "github"), default="json",
                   help="json: list of entries; github: matrix=/count= lines for $GITHUB_OUTPUT")
    p.add_argument("--explain", action="store_true", help="say why each spec is (not) selected")
    p.add_argument("--platform", action="append", metavar="NAME",
                   help="cross the specs with this platform only (repeatable; default: every "
                        "platform images/ defines)")
    p.add_argument("--specs", default="role_specs", help="role specs directory (default: role_specs)")
    add_repo(p)
    p.set_defaults(handler=cmd_matrix)
    p = sub.add_parser("gate", help="pre-merge gate: validate, unit, functional (affected specs)")
    p.add_argument("--base", metavar="REF", help="run only the role specs REF...HEAD can affect")
    p.add_argument("--reports", help="JUnit XML and logs (default: REPO/.harness/gate)")
    p.add_argument("--specs", default="role_specs", help="role specs directory (default: role_specs)")
    add_repo(p)
    p.set_defaults(handler=cmd_gate)

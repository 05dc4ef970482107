"""`harness plan`: what a change does to every role, before any container starts."""
from __future__ import annotations

import argparse
import sys

from harness.ci.plan import compute_plan
from harness.ci.planrender import render
from harness.cli.common import Subparsers, add_repo, repo_dir


def cmd_plan(args: argparse.Namespace) -> int:
    plan = compute_plan(repo_dir(args), base=args.base, roles=args.role or (),
                        environments=args.env or (), specs=args.specs)
    sys.stdout.write(render(plan, args.format))
    return plan.exit_code


def register(sub: Subparsers) -> None:
    p = sub.add_parser("plan", help="what the change does to every role and environment "
                                    "(why-run at REF and in the working tree, no containers)")
    p.add_argument("--base", metavar="REF", default="HEAD",
                   help="compare with where the branch left REF (default: HEAD, i.e. the "
                        "uncommitted changes)")
    p.add_argument("--role", action="append", metavar="ROLE", help="only this role (repeatable)")
    p.add_argument("--env", action="append", metavar="ENV",
                   help="only this environment (repeatable)")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    p.add_argument("--specs", default="role_specs",
                   help="role specs directory, for each role's peers (default: role_specs)")
    add_repo(p)
    p.set_defaults(handler=cmd_plan)

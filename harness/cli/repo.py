"""`harness validate | show`: the config repo on its own, no server, no nodes."""
from __future__ import annotations

import argparse
import json
import sys

from harness.cli.common import Subparsers, add_repo, repo_dir
from harness.errors import UsageError
from harness.repo import compile_policy, load_repo, repo_backup
from harness.rollout.inventory import policy_source


def cmd_validate(args: argparse.Namespace) -> int:
    repo = load_repo(repo_dir(args))
    for warning in repo.warnings:       # Ruby/ERB that production runs and we do not
        print(f"harness: warning: {warning}", file=sys.stderr)
    print(f"ok: {repo.root}: {len(repo.roles)} roles, {len(repo.environments)} environments, "
          f"{len(repo.cookbooks)} cookbooks, {sum(map(len, repo.data_bags.values()))} data bag items, "
          f"{len(repo.nodes)} nodes")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    repo = load_repo(repo_dir(args))
    if args.role not in repo.roles:
        raise UsageError(f"no role {args.role!r} in {repo.root / 'roles'}")
    env = args.env or "_default"
    if env not in repo.environments:
        raise UsageError(f"no environment {env!r} in {repo.root / 'environments'}")
    # The repo's backup/ (decision 11) supplies the versions production pins.
    policy = compile_policy(policy_source(repo, repo_backup(repo.root)), name=f"{args.role}-1",
                            environment=env,
                            run_list=[f"role[{args.role}]"])
    print(json.dumps(policy, indent=2, sort_keys=True))
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("validate", help="load and validate the config repo")
    add_repo(p)
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser("show", help="print a role's compiled policy as JSON")
    p.add_argument("role")
    p.add_argument("--env", help="environment (default: _default)")
    add_repo(p)
    p.set_defaults(handler=cmd_show)

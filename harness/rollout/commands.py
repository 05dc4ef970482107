"""`harness bump|promote|check|allowlist|flip`: argparse namespace -> library call -> output.

Why a module of its own: cli.py stays a thin edge with one dispatch line for the whole
rollout workflow, and these imports happen only when one of these commands runs.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _repo(args: argparse.Namespace) -> Path:
    return Path(args.repo).resolve()


def _backup(args: argparse.Namespace) -> Path | None:
    """--from-backup, else the repo's own backup/ (harness.repo.backup)."""
    from harness.repo import repo_backup

    explicit = Path(args.from_backup).resolve() if getattr(args, "from_backup", None) else None
    return repo_backup(_repo(args), explicit)


def _warn(line: str) -> None:
    print(f"harness: warning: {line}", file=sys.stderr)


def cmd_bump(args: argparse.Namespace) -> int:
    from harness.rollout.bump import bump

    result = bump(_repo(args), args.cookbook, args.level)
    print(f"{result.path}: {args.cookbook} {result.old} -> {result.new}")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from harness.rollout.promote import promote

    result = promote(_repo(args), args.env, args.cookbook, version=args.version,
                     from_backup=_backup(args), keep_operator=args.keep_operator)
    for line in result.warnings:
        _warn(line)
    print(result.summary)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from harness.rollout.check import check

    print(check(_repo(args), env=args.env, from_backup=_backup(args)))
    return 0


def cmd_allowlist(args: argparse.Namespace) -> int:
    from harness.rollout import allowlist

    edit = allowlist.add_pattern if args.allowlist_command == "add" else allowlist.remove_pattern
    print(edit(_repo(args), args.name, args.pattern, bag=args.bag))
    return 0


def cmd_flip(args: argparse.Namespace) -> int:
    from harness.client import Client
    from harness.errors import UsageError
    from harness.rollout.flip import flip_nodes

    by_search = args.role or args.from_env
    if by_search and args.env is not None:
        raise UsageError("with --role or --from-env give only the target environment")
    if not by_search and args.env is None:
        raise UsageError("flip needs NODE ENV (or --role ROLE ENV, or --from-env A ENV)")
    env = args.target if by_search else args.env
    client = Client.from_token_file(args.server, Path(args.token_file))
    for line in flip_nodes(client, env, node=None if by_search else args.target,
                           role=args.role, from_env=args.from_env, preview_only=args.preview):
        print(line)
    return 0


COMMANDS = {"bump": cmd_bump, "promote": cmd_promote, "check": cmd_check,
            "allowlist": cmd_allowlist, "flip": cmd_flip}


def run(args: argparse.Namespace) -> int:
    """Dispatch on the subcommand name (cli.cmd_rollout calls this)."""
    return COMMANDS[args.command](args)

"""`harness bump | promote | check | allowlist | flip`: environments and rollouts.

Each handler turns the argparse namespace into one harness.rollout call and prints its result
(docs/rollouts.md).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli.common import Parser, Subparsers, add_repo, client, repo_dir
from harness.errors import UsageError
from harness.repo import repo_backup
from harness.rollout.allowlist import add_pattern, remove_pattern
from harness.rollout.bump import bump
from harness.rollout.check import check
from harness.rollout.flip import flip_nodes
from harness.rollout.promote import promote


def _backup(args: argparse.Namespace) -> Path | None:
    """--from-backup, else the repo's own backup/ (harness.repo.backup)."""
    explicit = Path(args.from_backup).resolve() if getattr(args, "from_backup", None) else None
    return repo_backup(repo_dir(args), explicit)


def _warn(line: str) -> None:
    print(f"harness: warning: {line}", file=sys.stderr)


def cmd_bump(args: argparse.Namespace) -> int:
    result = bump(repo_dir(args), args.cookbook, args.level)
    print(f"{result.path}: {args.cookbook} {result.old} -> {result.new}")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    result = promote(repo_dir(args), args.env, args.cookbook, version=args.version,
                     from_backup=_backup(args), keep_operator=args.keep_operator,
                     pin_unpinned=args.pin_unpinned)
    for line in result.warnings:
        _warn(line)
    print(result.summary)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    print(check(repo_dir(args), env=args.env, from_backup=_backup(args)))
    return 0


def cmd_allowlist(args: argparse.Namespace) -> int:
    edit = add_pattern if args.allowlist_command == "add" else remove_pattern
    print(edit(repo_dir(args), args.name, args.pattern, bag=args.bag))
    return 0


def cmd_flip(args: argparse.Namespace) -> int:
    by_search = args.role or args.from_env
    if by_search and args.env is not None:
        raise UsageError("with --role or --from-env give only the target environment")
    if not by_search and args.env is None:
        raise UsageError("flip needs NODE ENV (or --role ROLE ENV, or --from-env A ENV)")
    env = args.target if by_search else args.env
    for line in flip_nodes(client(args), env, node=None if by_search else args.target,
                           role=args.role, from_env=args.from_env, preview_only=args.preview):
        print(line)
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("bump", help="raise a cookbook's version in its metadata")
    p.add_argument("cookbook")
    p.add_argument("level", nargs="?", default="patch", metavar="major|minor|patch|X.Y.Z",
                   help="which part to raise, or the new version (default: patch)")
    add_repo(p)
    p.set_defaults(handler=cmd_bump)
    p = sub.add_parser("promote", help="pin a cookbook version in an environment")
    p.add_argument("env")
    p.add_argument("cookbook")
    p.add_argument("--version", help="version to pin (default: the repo's current one)")
    p.add_argument("--keep-operator", action="store_true",
                   help="keep the pin's operator (e.g. ~>) instead of writing =")
    p.add_argument("--pin-unpinned", action="store_true",
                   help="allow the first pin in an environment that pins nothing")
    p.add_argument("--from-backup", help="a backup directory whose versions also count")
    add_repo(p)
    p.set_defaults(handler=cmd_promote)
    p = sub.add_parser("check", help="every pin exists; every role solves in every environment")
    p.add_argument("--env", help="check only this environment")
    p.add_argument("--from-backup", help="a backup directory whose versions also count")
    add_repo(p)
    p.set_defaults(handler=cmd_check)
    p = sub.add_parser("allowlist", help="add or remove a host pattern of an allowlist")
    asub = p.add_subparsers(dest="allowlist_command", required=True, parser_class=Parser)
    for name in ("add", "remove"):
        a = asub.add_parser(name, help=f"{name} a host pattern (shell wildcards)")
        a.add_argument("name", help="allowlist (data bag item) name")
        a.add_argument("pattern", help="fqdn pattern: *, ?, [...]; case-sensitive")
        a.add_argument("--bag", default="allowlist", help="data bag (default: allowlist)")
        add_repo(a)
        a.set_defaults(handler=cmd_allowlist)
    p = sub.add_parser("flip", help="move nodes to another environment on the config server")
    p.add_argument("target", metavar="NODE|ENV",
                   help="the node's name or fqdn (or, with --role/--from-env, ENV)")
    p.add_argument("env", nargs="?", metavar="ENV", help="the target environment")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--role", help="flip every node that has this role")
    g.add_argument("--from-env", help="flip every node of this environment")
    p.add_argument("--preview", action="store_true",
                   help="only list the cookbook versions that would change")
    p.add_argument("--server", required=True, help="config server URL")
    p.add_argument("--token-file", required=True, help="file holding the admin token")
    p.set_defaults(handler=cmd_flip)

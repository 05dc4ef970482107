"""`harness` command line: the thin argparse edge.

It parses arguments, calls one library function per command and maps every HarnessError to
one line on stderr and its exit code. Imports are lazy so `harness validate` does not pay for
the Docker SDK or aiohttp.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.errors import HarnessError, UsageError, ValidationError
from harness.nodes.ramdisk import NODE_DISKS


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad arguments already; keep its message to one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"harness: {message} (see harness {self.prog.split()[-1]} --help)\n")


def _repo(args: argparse.Namespace) -> Path:
    return Path(args.repo).resolve()


def cmd_validate(args: argparse.Namespace) -> int:
    from harness.repo import load_repo

    repo = load_repo(_repo(args))
    print(f"ok: {repo.root}: {len(repo.roles)} roles, {len(repo.environments)} environments, "
          f"{len(repo.cookbooks)} cookbooks, {sum(map(len, repo.data_bags.values()))} data bag items, "
          f"{len(repo.nodes)} nodes")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from harness.repo import compile_policy, load_repo, repo_backup
    from harness.rollout.inventory import policy_source

    repo = load_repo(_repo(args))
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


def cmd_serve(args: argparse.Namespace) -> int:
    from harness.server.serve import serve_forever

    serve_forever(repo_dir=_repo(args) if args.repo else None, host=args.host, port=args.port,
                  token_file=Path(args.token_file))
    return 0


def _client(args: argparse.Namespace):
    from harness.client import Client

    return Client.from_token_file(args.server, Path(args.token_file))


def cmd_restore(args: argparse.Namespace) -> int:
    from harness.restore import restore

    summary = restore(_client(args), _repo(args),
                      from_backup=Path(args.from_backup) if args.from_backup else None,
                      progress=print)
    print(summary)
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from harness.restore import backup

    print(backup(_client(args), Path(args.to)))
    return 0


def cmd_images_build(args: argparse.Namespace) -> int:
    from harness.nodes.images import build_images

    for tag in build_images(Path(args.images), progress=print, force=args.force):
        print(tag)
    return 0


def cmd_nodes(args: argparse.Namespace) -> int:
    from harness.nodes import commands

    return commands.run(args)


def cmd_rollout(args: argparse.Namespace) -> int:
    from harness.rollout import commands

    return commands.run(args)


def cmd_matrix(args: argparse.Namespace) -> int:
    from harness.ci.matrix import compute_matrix, render

    matrix = compute_matrix(_repo(args), specs=args.specs, changed_since=args.changed_since)
    if args.explain:
        for line in matrix.explanation():
            print(f"harness matrix: {line}", file=sys.stderr)
    sys.stdout.write(render(matrix, args.format, explain=args.explain))
    return 0


def cmd_gate(args: argparse.Namespace) -> int:
    from harness.ci.gate import run_gate

    result = run_gate(_repo(args), base=args.base, specs=args.specs,
                      reports=Path(args.reports).resolve() if args.reports else None)
    return result.exit_code


def _add_repo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo", default=".", help="config repo directory (default: .)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="harness", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("validate", help="load and validate the config repo")
    _add_repo(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("show", help="print a role's compiled policy as JSON")
    p.add_argument("role")
    p.add_argument("--env", help="environment (default: _default)")
    _add_repo(p)
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("serve", help="run the config server in the foreground")
    p.add_argument("--repo", help="restore this repo at start")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--token-file", required=True, help="admin token; written (0600) if missing")
    p.set_defaults(func=cmd_serve)

    for name, helptext, func in (("restore", "wipe the server, upload the repo", cmd_restore),
                                 ("backup", "dump the server in knife-backup's layout", cmd_backup)):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--server", required=True, help="config server URL")
        p.add_argument("--token-file", required=True, help="file holding the admin token")
        if name == "restore":
            _add_repo(p)
            p.add_argument("--from-backup", help="a backup directory restored first")
        else:
            p.add_argument("--to", required=True, help="backup directory to write")
        p.set_defaults(func=func)

    p = sub.add_parser("images", help="node images")
    isub = p.add_subparsers(dest="images_command", required=True, parser_class=_Parser)
    b = isub.add_parser("build", help="build node images (rebuilds only on change)")
    b.add_argument("--images", default="images", help="images directory (default: images)")
    b.add_argument("--force", action="store_true", help="rebuild even when the tag exists")
    b.set_defaults(func=cmd_images_build)

    p = sub.add_parser("up", help="start a cluster: server + nodes, bootstrap, converge")
    p.add_argument("roles", nargs="+", metavar="ROLE[=COUNT]")
    p.add_argument("--env", default="_default")
    p.add_argument("--image", help="node image (default: the base image, built if needed)")
    p.add_argument("--node-disk", choices=NODE_DISKS, default="auto",
                   help="where nodes keep what they write to /usr and /var (default: auto, "
                        "ram when the engine's host has 7 GiB or more)")
    _add_repo(p)
    p.set_defaults(func=cmd_nodes)
    for name, helptext in (("converge", "re-run the agent on a node"),
                           ("login", "open a shell on a node")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("node")
        p.set_defaults(func=cmd_nodes)
    for name, helptext in (("down", "remove the running cluster"),
                           ("clean", "remove leftovers of dead sessions")):
        p = sub.add_parser(name, help=helptext)
        p.set_defaults(func=cmd_nodes)

    # Environments and rollouts (harness/rollout): bump, promote, check, allowlist, flip.
    p = sub.add_parser("bump", help="raise a cookbook's version in its metadata")
    p.add_argument("cookbook")
    p.add_argument("level", nargs="?", default="patch", metavar="major|minor|patch|X.Y.Z",
                   help="which part to raise, or the new version (default: patch)")
    _add_repo(p)
    p.set_defaults(func=cmd_rollout)
    p = sub.add_parser("promote", help="pin a cookbook version in an environment")
    p.add_argument("env")
    p.add_argument("cookbook")
    p.add_argument("--version", help="version to pin (default: the repo's current one)")
    p.add_argument("--keep-operator", action="store_true",
                   help="keep the pin's operator (e.g. ~>) instead of writing =")
    p.add_argument("--from-backup", help="a backup directory whose versions also count")
    _add_repo(p)
    p.set_defaults(func=cmd_rollout)
    p = sub.add_parser("check", help="every pin exists; every role solves in every environment")
    p.add_argument("--env", help="check only this environment")
    p.add_argument("--from-backup", help="a backup directory whose versions also count")
    _add_repo(p)
    p.set_defaults(func=cmd_rollout)
    p = sub.add_parser("allowlist", help="add or remove a host pattern of an allowlist")
    asub = p.add_subparsers(dest="allowlist_command", required=True, parser_class=_Parser)
    for name in ("add", "remove"):
        a = asub.add_parser(name, help=f"{name} a host pattern (shell wildcards)")
        a.add_argument("name", help="allowlist (data bag item) name")
        a.add_argument("pattern", help="fqdn pattern: *, ?, [...]; case-sensitive")
        a.add_argument("--bag", default="allowlist", help="data bag (default: allowlist)")
        _add_repo(a)
        a.set_defaults(func=cmd_rollout)
    p = sub.add_parser("flip", help="move nodes to another environment on the config server")
    p.add_argument("target", metavar="NODE|ENV", help="the node (or, with --role/--from-env, ENV)")
    p.add_argument("env", nargs="?", metavar="ENV", help="the target environment")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--role", help="flip every node that has this role")
    g.add_argument("--from-env", help="flip every node of this environment")
    p.add_argument("--preview", action="store_true",
                   help="only list the cookbook versions that would change")
    p.add_argument("--server", required=True, help="config server URL")
    p.add_argument("--token-file", required=True, help="file holding the admin token")
    p.set_defaults(func=cmd_rollout)

    # CI (harness/ci): the per-role-spec matrix and the pre-merge gate (docs/ci.md).
    p = sub.add_parser("matrix", help="the role specs to run in CI (one job per spec module)")
    p.add_argument("--changed-since", metavar="REF",
                   help="only specs that REF...HEAD plus uncommitted changes can affect")
    p.add_argument("--format", choices=("json", "github"), default="json",
                   help="json: list of entries; github: matrix=/count= lines for $GITHUB_OUTPUT")
    p.add_argument("--explain", action="store_true", help="say why each spec is (not) selected")
    p.add_argument("--specs", default="role_specs", help="role specs directory (default: role_specs)")
    _add_repo(p)
    p.set_defaults(func=cmd_matrix)
    p = sub.add_parser("gate", help="pre-merge gate: validate, unit, functional (affected specs)")
    p.add_argument("--base", metavar="REF", help="run only the role specs REF...HEAD can affect")
    p.add_argument("--reports", help="JUnit XML and logs (default: REPO/.harness/gate)")
    p.add_argument("--specs", default="role_specs", help="role specs directory (default: role_specs)")
    _add_repo(p)
    p.set_defaults(func=cmd_gate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `harness` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValidationError as err:
        for problem in err.problems:
            print(f"harness: {problem}", file=sys.stderr)
        return err.exit_code
    except HarnessError as err:
        print(f"harness: {err.with_log()}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

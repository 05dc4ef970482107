"""`harness` command line: the thin argparse edge.

It parses arguments, calls one library function per command and maps every HarnessError to
one line on stderr and its exit code. Nothing in the harness imports this package: it is the
top of the dependency graph (docs/contracts.md).
"""
from __future__ import annotations

from harness.cli.exits import run_handler
from harness.cli.parser import build_parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `harness` console script."""
    args = build_parser().parse_args(argv)
    return run_handler(args.handler, args)


__all__ = ["build_parser", "main"]

"""The `harness` argument parser: one subparser per command, each bound to its handler.

Every command family registers its own subcommands (`set_defaults(handler=...)`); the order
here is the order `harness --help` lists them in.
"""
from __future__ import annotations

import argparse

from harness.cli import ci, images, loop, nodes, plan, repo, rollout, server
from harness.cli.common import Parser

DESCRIPTION = "`harness` command line: the thin argparse edge."
FAMILIES = (repo, server, images, nodes, loop, rollout, ci, plan)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="harness", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for family in FAMILIES:
        family.register(sub)
    return parser

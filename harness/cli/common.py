"""What every command family shares: the one-line argparse parser and the --repo helpers."""
from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeAlias

if TYPE_CHECKING:
    from harness.client import Client

Handler = Callable[[argparse.Namespace], int]
# What add_subparsers() returns; argparse names the class only privately, and it is generic
# only in typeshed (subscripting it at runtime is a TypeError).
if TYPE_CHECKING:
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Subparsers = argparse._SubParsersAction


class Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad arguments already; keep its message to one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"harness: {message} (see {self.prog} --help)\n")


def add_repo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo", default=".", help="config repo directory (default: .)")


def repo_dir(args: argparse.Namespace) -> Path:
    return Path(args.repo).resolve()


def client(args: argparse.Namespace) -> Client:
    """The admin client of --server with the token in --token-file."""
    # Lazy: urllib3 and http.client, which `harness validate` and `harness show` must not pay
    # for (decision 21).
    from harness.client import Client

    return Client.from_token_file(args.server, Path(args.token_file))

"""`harness serve | restore | backup`: the config server in the foreground, and its contents.

`serve_forever` lives here, not in harness/server: it composes the server with restore and the
client, and the server package must not import either.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from harness.cli.common import Subparsers, add_repo, client, repo_dir


def serve_forever(repo_dir: Path | None, host: str, port: int, token_file: Path) -> None:
    """`harness serve`: restore repo_dir (if given), print the URL, serve until SIGINT/SIGTERM."""
    # Lazy: aiohttp, which `harness validate` must not pay for (decision 21).
    from harness.agent.build import agent_zipapp_bytes
    from harness.client import Client
    from harness.restore import restore
    from harness.server.serve import ConfigServer, admin_token

    token = admin_token(Path(token_file))
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    # built on the first download, as before the server stopped importing the builder
    server = ConfigServer(host, port, admin_token=token, agent_pyz=agent_zipapp_bytes)
    try:
        server.start()
        if repo_dir is not None:
            summary = restore(Client(server.url, token), Path(repo_dir))
            print(summary, file=sys.stderr, flush=True)
        print(server.url, flush=True)
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def cmd_serve(args: argparse.Namespace) -> int:
    serve_forever(repo_dir=repo_dir(args) if args.repo else None, host=args.host, port=args.port,
                  token_file=Path(args.token_file))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    # Lazy: harness.restore brings the client (urllib3), which `harness validate` must not pay
    # for (decision 21).
    from harness.restore import restore

    summary = restore(client(args), repo_dir(args),
                      from_backup=Path(args.from_backup) if args.from_backup else None,
                      progress=print)
    print(summary)
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from harness.restore import backup  # lazy: see cmd_restore

    print(backup(client(args), Path(args.to)))
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("serve", help="run the config server in the foreground")
    p.add_argument("--repo", help="restore this repo at start")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--token-file", required=True, help="admin token; written (0600) if missing")
    p.set_defaults(handler=cmd_serve)

    for name, helptext, handler in (
            ("restore", "wipe the server, upload the repo", cmd_restore),
            ("backup", "dump the server in knife-backup's layout", cmd_backup)):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--server", required=True, help="config server URL")
        p.add_argument("--token-file", required=True, help="file holding the admin token")
        if name == "restore":
            add_repo(p)
            p.add_argument("--from-backup", help="a backup directory restored first")
        else:
            p.add_argument("--to", required=True, help="backup directory to write")
        p.set_defaults(handler=handler)

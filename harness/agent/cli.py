"""`agent.pyz register|converge`: the command line nodes run (see docs/contracts.md)."""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import AGENT_VERSION
from .api import Api
from .errors import AgentError, ConfigError, NotFound, ServerError

DEFAULT_CONFIG = "/etc/harness/agent.json"
ITEM_SPLIT = re.compile(r"[,\s]+")


def load_config(path: str) -> dict[str, Any]:
    """The agent's config file, with defaults; every problem is one clear ConfigError."""
    try:
        config = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"config file {path}: expected a JSON object")
    missing = [k for k in ("server_url", "node_name") if not config.get(k)]
    if missing:
        raise ConfigError(f"config file {path}: missing {', '.join(missing)}")
    config.setdefault("token_file", "/etc/harness/client.token")
    config.setdefault("secret_file", None)
    config.setdefault("cache_dir", "/var/cache/harness")
    return config


def read_token(path: str, what: str) -> str:
    try:
        token = Path(path).read_text().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror}") from None
    if not token:
        raise ConfigError(f"{what} {path} is empty")
    return token


def register(config: dict[str, Any], validator_token_file: str, environment: str, run_list: str) -> int:
    """Create this node's client and node object; a token file already there means done."""
    name, token_path = config["node_name"], Path(config["token_file"])
    items = [i for i in ITEM_SPLIT.split(run_list) if i]
    if token_path.exists() and token_path.read_text().strip():
        print(f"{name} is already registered ({token_path} exists)", flush=True)
        token = token_path.read_text().strip()
    else:
        validator = Api(config["server_url"], read_token(validator_token_file, "validator token"))
        try:
            answer = validator.post("/clients", {"name": name})
        except ServerError as exc:
            if exc.status == 409:
                raise ConfigError(f"client {name} already exists on the server but {token_path} "
                                  "is missing; delete the client or restore the token") from None
            raise
        token_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(f"{token_path}.tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(answer["token"] + "\n")
        os.replace(f"{token_path}.tmp", token_path)
        token = answer["token"]
        print(f"registered client {name}; token in {token_path}", flush=True)
    api = Api(config["server_url"], token)
    try:
        node = api.get(f"/nodes/{name}")
    except NotFound:
        node = {"name": name, "normal": {}, "default": {}, "override": {}, "automatic": {}}
    if node.get("chef_environment") != environment or node.get("run_list") != items:
        node.update(chef_environment=environment, run_list=items)
        try:
            api.put(f"/nodes/{name}", node)
        except ServerError as exc:
            if exc.status == 403:  # Chef Server: only the client that created a node updates it
                raise ConfigError(f"node {name} already exists on the server and client {name} "
                                  "did not create it, so it may not update it (as on Chef "
                                  "Server); delete the node, then register again") from None
            raise
        print(f"node {name}: environment {environment}, run list {', '.join(items)}",
              flush=True)
    return 0


def converge(config: dict[str, Any], *, why_run: bool, as_json: bool) -> int:
    """One run, one report; the exit status says whether it worked."""
    token = read_token(config["token_file"], "node token")
    secret = None
    if config.get("secret_file"):
        try:
            secret = Path(config["secret_file"]).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read secret file {config['secret_file']}: "
                              f"{exc.strerror}") from None
    from . import backup
    from .cookbooks import FileCache  # here, not at the top: `register` needs no jinja2
    from .runner import Run

    # Chef's client.rb settings of the same names, where file resources keep backups and
    # content refused by `verify`; without them backup.py's defaults (chef-config's for root)
    for key, name in (("file_backup_path", "FILE_BACKUP_PATH"),
                      ("file_cache_path", "FILE_CACHE_PATH")):
        if config.get(key):
            setattr(backup, name, str(config[key]))

    cache_dir = Path(config["cache_dir"])
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / "run.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("another agent run holds the lock; waiting", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        run = Run(Api(config["server_url"], token), config["node_name"], why_run=why_run,
                  secret=secret, cache=FileCache(cache_dir / "checksums"))
        report = run.execute()
        try:
            run.post_report(report)
        except ServerError as exc:
            print(f"WARNING: could not post the report: {exc}", file=sys.stderr, flush=True)
    if as_json:
        print(json.dumps(report, sort_keys=True), flush=True)
    failure = report["failure"]
    if failure:
        message = failure["message"]
        if "\n" in message:
            print(message, file=sys.stderr)
        one_line = " | ".join(line.strip() for line in message.splitlines() if line.strip())
        print(f"FAILED: {failure['resource']}: {one_line}", file=sys.stderr, flush=True)
        return 1
    return 0


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS,
                        help=f"agent config (default {DEFAULT_CONFIG})")
    top = argparse.ArgumentParser(prog="agent.pyz", parents=[common],
                                  description="harness node agent " + AGENT_VERSION)
    sub = top.add_subparsers(dest="command", required=True)
    reg = sub.add_parser("register", parents=[common], help="create this node's client")
    reg.add_argument("--validator-token-file", required=True)
    reg.add_argument("--environment", default="_default")
    reg.add_argument("--run-list", required=True, help="items, comma separated")
    conv = sub.add_parser("converge", parents=[common], help="converge the run list once")
    conv.add_argument("--why-run", action="store_true", help="list what would run")
    conv.add_argument("--json", action="store_true", help="last stdout line: the report")
    sub.add_parser("version", help="print the agent version")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "version":
        print(AGENT_VERSION)
        return 0
    try:
        config = load_config(getattr(args, "config", DEFAULT_CONFIG))
        if args.command == "register":
            return register(config, args.validator_token_file, args.environment, args.run_list)
        return converge(config, why_run=args.why_run, as_json=args.json)
    except AgentError as exc:
        print(f"harness-agent: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code
    except KeyboardInterrupt:
        print("harness-agent: interrupted", file=sys.stderr, flush=True)
        return 130

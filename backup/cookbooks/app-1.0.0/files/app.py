#!/usr/bin/python3
"""The company's small HTTP service (shipped by the `app` cookbook).

GET /        -> 200, JSON naming the node that answered, its environment and the release;
                plus "greeting" when the configuration has one (nodes in the new_greeting
                allowlist)
GET /health  -> 200 "ok" when the configuration (including the database credentials) loaded

Standard library only. Reads an INI file (default /etc/app/app.conf) with sections [app]
(node, environment, release, listen, port, optional greeting) and [database] (host, name,
user, password). The password is never logged or served.
"""
from __future__ import annotations

import argparse
import configparser
import json
import logging
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger("app")


def load_config(path: str) -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    with open(path, encoding="utf-8") as fh:
        config.read_file(fh)
    for section, key in (("app", "node"), ("app", "port"), ("database", "password")):
        if not config.get(section, key, fallback=""):
            raise SystemExit(f"app: {path}: [{section}] {key} is missing")
    return config


def make_handler(config: configparser.ConfigParser) -> type[BaseHTTPRequestHandler]:
    identity = {
        "node": config.get("app", "node"),
        "environment": config.get("app", "environment", fallback=""),
        "release": config.get("app", "release", fallback=""),
    }
    greeting = config.get("app", "greeting", fallback="")
    if greeting:
        identity["greeting"] = greeting

    class Handler(BaseHTTPRequestHandler):
        server_version = "app/" + (identity["release"] or "0")

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path = self.path.split("?", 1)[0]
            if path == "/":
                self._send(200, "application/json", json.dumps(identity) + "\n")
            elif path == "/health":
                self._send(200, "text/plain", "ok\n")
            else:
                self._send(404, "text/plain", "not found\n")

        def do_HEAD(self) -> None:  # noqa: N802
            self.do_GET()

        def _send(self, status: int, ctype: str, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype + "; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def log_message(self, fmt: str, *args) -> None:
            log.info("%s %s", self.address_string(), fmt % args)

    return Handler


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="/etc/app/app.conf")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(message)s")
    config = load_config(args.config)
    listen = config.get("app", "listen", fallback="0.0.0.0")
    port = config.getint("app", "port")
    server = ThreadingHTTPServer((listen, port), make_handler(config))
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, _stop)
    log.info("listening on %s:%d as node %s", listen, port, config.get("app", "node"))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

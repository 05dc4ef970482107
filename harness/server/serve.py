"""Run the config server in a background thread (ConfigServer); `harness serve` wraps it.

ConfigServer gives aiohttp its own event loop in a daemon thread, so tests and the cluster
can start one per spec without owning an event loop; start() returns once it listens.
"""
from __future__ import annotations

import asyncio
import os
import secrets
import stat
import threading
from pathlib import Path

from aiohttp import web

from harness.errors import UsageError
from harness.repo.limits import MIN_TOKEN
from harness.server.api import AgentSource
from harness.server.app import build_app
from harness.server.store import Store
from harness.server.wire import JsonErrorServer


class ConfigServer:
    """An in-memory config server listening on host:port (port 0 picks a free one).

    agent_pyz: the agent zipapp nodes download, as bytes or a function building it on the
    first download (harness.agent.build.agent_zipapp_bytes); None serves none (404). The
    caller chooses, so the server never imports the agent builder.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, admin_token: str | None = None,
                 agent_pyz: AgentSource = None) -> None:
        self.host = host
        self.port = port
        self.admin_token = admin_token or secrets.token_urlsafe(32)
        self.store = Store()
        self._agent_pyz = agent_pyz
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> ConfigServer:
        """Listen, then return self; UsageError when the address cannot be bound."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._listen())
            except BaseException as err:  # reported to start()'s caller below
                failure.append(err)
                loop.close()
                ready.set()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                if self._runner is not None:  # set by _listen, which succeeded
                    loop.run_until_complete(self._runner.cleanup())
                loop.close()

        self._thread = threading.Thread(target=run, name=f"config-server:{self.port}", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            err = failure[0]
            reason = err.strerror if isinstance(err, OSError) and err.strerror else err
            raise UsageError(f"cannot listen on {self.host}:{self.port}: {reason}") from None
        return self

    async def _listen(self) -> None:
        app = build_app(self.store, self.admin_token, self._agent_pyz)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        # parser errors (a URL over 8190 bytes) answered in JSON too: see JsonErrorServer
        server = self._runner.server
        if server is not None:
            server.__class__ = JsonErrorServer
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except BaseException:
            await self._runner.cleanup()
            raise
        self.port = self._runner.addresses[0][1]

    def listen_also(self, host: str) -> None:
        """Listen on host too, on the same port when it is free there (else a free one); `url`
        names host from then on. A cluster restores its server on the loopback while its
        network is being created, then opens it to the nodes on the network's gateway."""
        loop, runner = self._loop, self._runner
        if loop is None or runner is None:
            raise UsageError("listen_also() needs a started server")

        async def add(port: int) -> int:
            await web.TCPSite(runner, host, port).start()
            return int(runner.addresses[-1][1])  # the newest site's socket comes last

        for port in (self.port, 0):
            try:
                bound = asyncio.run_coroutine_threadsafe(add(port), loop).result()
            except OSError as err:
                if port:
                    continue  # the port is taken on that address: any free one
                raise UsageError(f"cannot listen on {host}: {err.strerror or err}") from None
            self.host, self.port = host, bound
            return

    def stop(self) -> None:
        """Stop listening and end the thread (idempotent)."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        self._thread = None

    def __enter__(self) -> ConfigServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def admin_token(token_file: Path) -> str:
    """Read the admin token, or write a fresh random one (mode 0600) when the file is missing.

    An existing file must be readable by its owner only and hold at least MIN_TOKEN
    characters, as ssh refuses a private key others can read ("UNPROTECTED PRIVATE KEY
    FILE"): the admin token may wipe the server and read every secret on it."""
    try:
        with open(token_file, encoding="utf-8") as f:
            mode = os.fstat(f.fileno()).st_mode
            token = f.read().strip()
    except FileNotFoundError:
        token, mode = "", 0
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise UsageError(f"cannot read token file: {reason}", path=str(token_file)) from None
    if token:
        if mode & 0o077:
            raise UsageError(f"token file is readable by others (mode {stat.S_IMODE(mode):04o}): "
                             "chmod 600 it", path=str(token_file))
        if len(token) < MIN_TOKEN:
            raise UsageError(f"admin token is {len(token)} characters; use at least "
                             f"{MIN_TOKEN} (or delete the file: serve writes a random one)",
                             path=str(token_file))
        return token
    token = secrets.token_urlsafe(32)
    try:
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
    except OSError as err:
        raise UsageError(f"cannot write token file: {err.strerror}", path=str(token_file)) from None
    return token

"""One long-lived shell per node for testinfra's commands: one exec, many commands.

A role spec runs a hundred or more short commands per node, and each API exec costs ~55 ms
(create, start, inspect; runc starting a process); docker's CLI ~70 ms. Here one exec runs
`/bin/sh -s` in the node and every command is a line written to its stdin; each still runs
as its own `/bin/sh -c COMMAND`, as the docker:// backend does: same user, same environment,
working directory `/`, stdin `/dev/null`. Its stdout and stderr go to two files in a private
`mktemp -d` directory under the node's /tmp (so a background child that keeps writing cannot
mix into the next answer; made again when a boot's tmpfiles or a test emptied /tmp), then the
session prints `TOKEN rc out-size err-size` and both files.
A command costs ~5-7 ms of transport (decision 58 has the figures).
"""
from __future__ import annotations

import secrets
import shlex
import threading
from collections.abc import Callable, Iterator
from typing import NoReturn, Protocol

from harness.errors import NodeError

STDERR = 2
# Run once when the session starts: the private directory goes when stdin closes.
PRELUDE = b"trap 'rm -rf \"$d\"' EXIT\n"


class Shell(Protocol):
    """Where a node's testinfra commands run: `run` is `/bin/sh -c command` in the node."""

    closed: bool

    def run(self, command: str) -> tuple[int, bytes, bytes]: ...
    def close(self) -> None: ...


class OneShotShell:
    """One exec per command (the fake backend's shell, and the fallback when the engine's
    connection cannot carry a session)."""

    def __init__(self, exec_split: Callable[..., tuple[int, bytes, bytes]], container: str,
                 user: str = "") -> None:
        self._exec_split, self.container, self.user = exec_split, container, user
        self.closed = False

    def run(self, command: str) -> tuple[int, bytes, bytes]:
        return self._exec_split(self.container, ["/bin/sh", "-c", command], user=self.user)

    def close(self) -> None:
        """Nothing stays open between commands."""


def command_line(token: str, command: str) -> bytes:
    """What the session shell reads for one command (one logical line, quoted as a whole)."""
    return ('[ -d "$d" ] || d=$(mktemp -d) || exit 1; '  # again if a boot or a test emptied /tmp
            f"/bin/sh -c {shlex.quote(command)} </dev/null >\"$d/o\" 2>\"$d/e\"; "
            f"set -- $? $(wc -c <\"$d/o\") $(wc -c <\"$d/e\"); "
            f"printf '{token} %s %s %s\\n' \"$1\" \"$2\" \"$3\"; cat \"$d/o\" \"$d/e\"\n"
            ).encode("utf-8", "surrogateescape")


class SessionShell:
    """`/bin/sh -s` in a node over one attached exec; commands run one at a time (a lock).

    `send` writes to the exec's stdin; `frames` yields its (stream, payload) frames. When the
    exec ends (the container stopped), the running command fails with NodeError and the
    shell is closed: the owner opens a new one for the next command.
    """

    def __init__(self, container: str, send: Callable[[bytes], None],
                 frames: Iterator[tuple[int, bytes]], close: Callable[[], None]) -> None:
        self.container = container
        self._send, self._frames, self._close = send, frames, close
        self._token, self._count = secrets.token_hex(16), 0
        self._buffer = bytearray()
        self._noise = bytearray()  # the session shell's own stderr, for error messages
        self._lock = threading.Lock()
        self.closed = False
        self._write(PRELUDE, "")

    def run(self, command: str) -> tuple[int, bytes, bytes]:
        if "\0" in command:  # an argv cannot carry NUL either: docker exec refuses it too
            raise NodeError(f"command for {self.container} contains a NUL byte: {command!r}")
        with self._lock:
            self._count += 1
            token = f"{self._token}-{self._count}"  # each answer names its command
            try:
                self._write(command_line(token, command), command)
                header = self._read_line(command)
                parts = header.decode("ascii", "replace").split()
                if len(parts) != 4 or parts[0] != token or not all(
                        p.lstrip("-").isdigit() for p in parts[1:]):
                    self._fail(f"unexpected answer {header[:80]!r}", command)
                rc, out_size, err_size = (int(p) for p in parts[1:])
                body = self._read_exact(out_size + err_size, command)
            except BaseException:  # Ctrl-C mid-answer too: the rest of it must not be read
                self.close()        # as the next command's; the next command opens a new one
                raise
            return rc, body[:out_size], body[out_size:]

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._close()

    def _write(self, data: bytes, command: str) -> None:
        try:
            self._send(data)
        except OSError as err:
            self._fail(f"cannot write to its shell ({err})", command)

    def _fill(self, command: str) -> None:
        try:
            for kind, payload in self._frames:
                if kind == STDERR:
                    self._noise.extend(payload)
                    continue
                self._buffer.extend(payload)
                return
        except OSError as err:
            self._fail(f"its shell's connection failed ({err})", command)
        self._fail("its shell ended (did the container stop?)", command)

    def _read_line(self, command: str) -> bytes:
        while (end := self._buffer.find(b"\n")) < 0:
            self._fill(command)
        line = bytes(self._buffer[:end])
        del self._buffer[:end + 1]
        return line

    def _read_exact(self, size: int, command: str) -> bytes:
        while len(self._buffer) < size:
            self._fill(command)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _fail(self, why: str, command: str) -> NoReturn:
        self.close()
        noise = self._noise.decode(errors="replace").strip()
        raise NodeError(f"{self.container}: {why}" + (f" running {command!r}" if command else "")
                        + (f"; shell said: {noise[-300:]}" if noise else ""))

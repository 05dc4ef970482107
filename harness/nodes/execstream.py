"""An exec's output from the Docker API, without losing the bytes that come with the headers.

docker-py 7 reads a started exec's output from the raw socket *below* http.client's buffered
reader (`response.raw._fp.fp.raw`), so whatever the buffer took in together with the response
headers is dropped. That happens when the command answers before the reading thread runs again,
i.e. under load: reproduced here with 4 empty outputs in 600 `stat` execs while two Python
threads kept the GIL busy (docker/docker-py#2042 and #3332, open), and seen once as an empty
`stat` in a role spec. Here the exec starts without asking for a connection upgrade: the engine
then answers 200 with the multiplexed stream as a body that ends when it closes the connection,
and the body is read through the buffered response, so nothing is skipped.
"""
from __future__ import annotations

import codecs
import socket
import struct
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from docker.errors import DockerException

from harness.errors import NodeError
from harness.nodes.shell import OneShotShell, SessionShell, Shell

STDOUT, STDERR = 1, 2
HEADER = struct.Struct(">BxxxL")  # stream type, 3 padding bytes, payload size (big endian)


def frames(raw: Any) -> Iterator[tuple[int, bytes]]:
    """(stream type, payload) of each frame of a multiplexed stream, until it ends."""
    while True:
        header = _read_exact(raw, HEADER.size)
        if len(header) < HEADER.size:
            return
        kind, size = HEADER.unpack(header)
        yield kind, _read_exact(raw, size)


def _read_exact(raw: Any, size: int) -> bytes:
    parts, left = [], size
    while left:
        chunk = raw.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def start_exec(api: Any, exec_id: str) -> Iterator[tuple[int, bytes]]:
    """Start a created exec (no TTY) and yield its output frames as they arrive.

    No timeout, as docker-py does for exec streams: a converge may print nothing for minutes.
    """
    response = api.post(api._url("/exec/{0}/start", exec_id),
                        json={"Detach": False, "Tty": False}, stream=True)
    try:
        api._raise_for_status(response)
        yield from frames(response.raw)
    finally:
        response.close()


def collect(chunks: Iterable[bytes], stream: Callable[[str], None] | None) -> str:
    """Join output chunks; hand complete lines to stream as they arrive."""
    parts: list[str] = []
    pending = ""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")  # UTF-8 split by frames
    for chunk in chunks:
        text = decoder.decode(chunk)
        parts.append(text)
        if stream:
            pending += text
            *lines, pending = pending.split("\n")
            for line in lines:
                stream(line)
    parts.append(tail := decoder.decode(b"", final=True))
    pending += tail
    if stream and pending:
        stream(pending)
    return "".join(parts)


def exec_merged(api: Any, container: str, cmd: list[str], env: dict[str, str] | None,
                user: str, stream: Callable[[str], None] | None) -> tuple[int, str]:
    """Run cmd in the container; stdout+stderr merged, fed line by line to stream.

    The merge happens in the container (`2>&1`), so lines keep their order: a script's last
    line is its last line even when it went to stderr.
    """
    merged = ["/bin/sh", "-c", 'exec "$@" 2>&1', "sh", *cmd]
    try:
        exec_id = api.exec_create(container, merged, environment=env, user=user)["Id"]
        output = collect((data for _, data in start_exec(api, exec_id)), stream)
        rc = api.exec_inspect(exec_id).get("ExitCode")
    except (DockerException, OSError) as err:
        raise NodeError(f"exec {cmd[0]} in {container} failed: {err}") from None
    return (rc if rc is not None else -1), output


def exec_split(api: Any, container: str, cmd: list[str],
               user: str) -> tuple[int, bytes, bytes]:
    """Run cmd; (exit code, stdout, stderr) kept apart (the testinfra hosts' transport)."""
    out, err = bytearray(), bytearray()
    try:
        exec_id = api.exec_create(container, cmd, user=user)["Id"]
        for kind, data in start_exec(api, exec_id):
            (err if kind == STDERR else out).extend(data)
        rc = api.exec_inspect(exec_id).get("ExitCode")
    except (DockerException, OSError) as error:
        raise NodeError(f"exec {cmd[0]} in {container} failed: {error}") from None
    return (rc if rc is not None else -1), bytes(out), bytes(err)


def open_shell(api: Any, container: str, user: str) -> Shell:
    """A session shell (shell.py) over one attached exec; per-command execs when the engine's
    connection is not a socket (docker-py hands out a paramiko channel for ssh:// hosts).

    Unlike exec_split's start, this one asks for the connection upgrade: stdin needs the raw
    socket. Nothing is lost with the upgrade's headers (docker-py#2042): the shell prints
    nothing before it reads its first command, which is sent after the upgrade.
    """
    try:
        exec_id = api.exec_create(container, ["/bin/sh", "-s"], stdin=True, user=user)["Id"]
        sock = api.exec_start(exec_id, socket=True)
    except (DockerException, OSError) as err:
        raise NodeError(f"cannot open a shell in {container}: {err}") from None
    raw = getattr(sock, "_sock", sock)  # a SocketIO's socket; TLS: the ssl socket itself
    if not isinstance(raw, socket.socket):  # ssh:// gives a paramiko channel
        sock.close()
        return OneShotShell(lambda c, cmd, user="": exec_split(api, c, cmd, user), container,
                            user)
    reader = raw.makefile("rb")

    def close() -> None:
        for part in (reader, sock, raw):
            try:
                part.close()
            except OSError:
                pass
    return SessionShell(container, raw.sendall, frames(reader), close)

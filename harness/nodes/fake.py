"""An in-memory Backend for unit tests of everything above the container seam.

It records what the harness asked for (networks, containers, files, commands) and answers
commands through handlers a test installs, so cluster logic is tested without Docker.
"""
from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from harness.errors import EngineError, NodeError
from harness.nodes.backend import Backend, ContainerInfo, NetworkInfo, StreamFn
from harness.nodes.bootstrap import BOOT_LINE, BOOT_THEN, BOOTED, FAILED_LINE, NOT_BOOTED, unit_names
from harness.nodes.labels import SESSION
from harness.nodes.shell import OneShotShell, Shell

Handler = Callable[[str, list[str]], tuple[int, str]]


@dataclass
class FakeContainer:
    name: str
    image: str
    hostname: str
    network: str
    aliases: list[str]
    labels: dict[str, str]
    ip: str
    files: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    running: bool = True
    ram_dirs: tuple[str, ...] = ()


class FakeBackend:
    """Backend double: state in dicts; `on(pattern, handler)` scripts command answers."""

    def __init__(self) -> None:
        self.images: set[str] = set()
        self.image_labels: dict[str, dict[str, str]] = {}
        self.files_in_images: dict[str, dict[str, bytes]] = {}  # image -> {path: bytes}
        self.output_in_images: dict[tuple[str, str], str] = {}  # (image, argv) -> stdout
        self.image_runs: list[tuple[str, list[str]]] = []
        self.builds: list[tuple[str, str, str, list[str]]] = []  # (base, script, tag, changes)
        self.networks: dict[str, dict[str, str]] = {}
        self.containers: dict[str, FakeContainer] = {}
        self.execs: list[tuple[str, list[str]]] = []
        self.removed: list[str] = []
        self.handlers: list[tuple[re.Pattern[str], Handler]] = []
        self.lock = threading.Lock()
        self.memory_bytes = 16 * 2**30  # the engine host's RAM (--node-disk auto)
        self._ips = itertools.count(2)
        self.on(r"systemctl is-system-running", lambda c, cmd: (0, "running\n"))
        self.on(r"^systemctl --failed", lambda c, cmd: (0, ""))

    def on(self, pattern: str, handler: Handler) -> None:
        """Answer commands whose space-joined argv matches pattern (latest handler wins)."""
        self.handlers.insert(0, (re.compile(pattern), handler))

    def ping(self) -> None:
        pass

    def memory(self) -> int:
        return self.memory_bytes

    def image_exists(self, tag: str) -> bool:
        return tag in self.images

    def import_image(self, stream: IO[bytes], tag: str, changes: list[str]) -> None:
        stream.read()
        self.images.add(tag)

    def create_network(self, name: str, labels: dict[str, str]) -> NetworkInfo:
        with self.lock:
            if name in self.networks:
                raise EngineError(f"network {name} exists")
            self.networks[name] = dict(labels)
        return NetworkInfo(name=name, id=name, gateway="127.0.0.1", subnet="127.0.0.0/8")

    def run_node(self, image: str, container_name: str, hostname: str, network: str,
                 aliases: list[str], labels: dict[str, str],
                 ram_dirs: tuple[str, ...] = ()) -> ContainerInfo:
        with self.lock:
            if network not in self.networks:
                raise NodeError(f"no network {network}", node=hostname)
            ip = f"10.0.0.{next(self._ips)}"
            self.containers[container_name] = FakeContainer(
                container_name, image, hostname, network, list(aliases), dict(labels), ip,
                ram_dirs=tuple(ram_dirs))
        return ContainerInfo(name=container_name, id=container_name, ip=ip)

    def exec(self, container: str, cmd: list[str], env: dict[str, str] | None = None,
             stream: StreamFn | None = None, user: str = "root") -> tuple[int, str]:
        if container not in self.containers:
            raise NodeError(f"exec {cmd[0]} in {container} failed: no such container")
        if not self.containers[container].running:
            raise NodeError(f"exec {cmd[0]} in {container} failed: container is not running")
        with self.lock:
            self.execs.append((container, list(cmd)))
        if cmd[:3] == ["sh", "-c", BOOT_THEN]:
            rc, out = self._boot_then(container, cmd[4:])
        else:
            rc, out = self._answer(container, cmd)
        if stream:
            for text in out.splitlines():
                stream(text)
        return rc, out

    def _answer(self, container: str, cmd: list[str]) -> tuple[int, str]:
        line = " ".join(cmd)
        for pattern, handler in self.handlers:
            if pattern.search(line):
                return handler(container, list(cmd))
        return 0, ""

    def _boot_then(self, container: str, cmd: list[str]) -> tuple[int, str]:
        """What bootstrap.BOOT_THEN does in a node (its shell is tested for real): the boot
        state and failed units from the handlers, then the command as an exec of its own."""
        state = (self._answer(container, ["systemctl", "is-system-running", "--wait"])[1]
                 .strip().splitlines() or [""])[-1]
        out = f"{BOOT_LINE}{state}\n"
        if state not in BOOTED:
            return NOT_BOOTED, out
        if state == "degraded":
            _, listing = self._answer(container, ["systemctl", "--failed", "--plain",
                                                  "--no-legend"])
            out += "".join(f"{FAILED_LINE}{unit}\n" for unit in unit_names(listing))
        rc, more = self.exec(container, cmd)
        return rc, out + more

    def exec_split(self, container: str, cmd: list[str],
                   user: str = "") -> tuple[int, bytes, bytes]:
        rc, out = self.exec(container, cmd, user=user or "root")
        return rc, out.encode(), b""

    def open_shell(self, container: str, user: str = "") -> Shell:
        return OneShotShell(self.exec_split, container, user)

    def put_file(self, container: str, path: str, data: bytes, mode: int = 0o644) -> None:
        self.put_files(container, [(path, data, mode)])

    def put_files(self, container: str, files: list[tuple[str, bytes, int]]) -> None:
        if container not in self.containers:
            raise NodeError(f"cannot copy {files[0][0]} into {container}: no such container")
        for path, data, mode in files:
            self.containers[container].files[path] = (data, mode)

    def logs(self, container: str, tail: int = 100) -> str:
        return f"(fake logs of {container})"

    def remove(self, container: str) -> None:
        with self.lock:
            if self.containers.pop(container, None) is not None:
                self.removed.append(container)

    def remove_network(self, name: str) -> None:
        with self.lock:
            self.networks.pop(name, None)

    def stop_by_labels(self, labels: dict[str, str]) -> int:
        with self.lock:
            stopped = [c for c in self.containers.values()
                       if c.running and _match(labels, c.labels)]
            for c in stopped:
                c.running = False
        return len(stopped)

    def remove_by_labels(self, labels: dict[str, str]) -> tuple[int, int]:
        containers = [n for n, c in list(self.containers.items()) if _match(labels, c.labels)]
        for name in containers:
            self.remove(name)
        networks = [n for n, lab in list(self.networks.items()) if _match(labels, lab)]
        for name in networks:
            self.remove_network(name)
        return len(containers), len(networks)

    def labelled(self) -> list[dict[str, str]]:
        found = [dict(c.labels, kind="container", id=n) for n, c in self.containers.items()
                 if SESSION in c.labels]
        found += [dict(lab, kind="network", id=n) for n, lab in self.networks.items()
                  if SESSION in lab]
        return found


    # images of the package layer: `commit_script` answers through the same handlers as
    # exec, with the container name "build:<image>" and argv ["sh", "-c", script]
    def image_attrs(self, image: str) -> dict[str, Any]:
        if image not in self.images:
            raise EngineError(f"cannot inspect image {image}: no such image")
        return {"Id": "sha256:" + image, "Config": {"Cmd": ["/sbin/init"]},
                "Labels": self.image_labels.get(image, {})}

    def image_files(self, image: str, paths: list[str]) -> dict[str, bytes]:
        return {p: d for p, d in self.files_in_images.get(image, {}).items()
                if any(p == top or p.startswith(top.rstrip("/") + "/") for top in paths)}

    def image_output(self, image: str, argv: list[str]) -> str:
        with self.lock:
            self.image_runs.append((image, list(argv)))
        return self.output_in_images.get((image, " ".join(argv)), "")

    def commit_script(self, image: str, script: str, tag: str, changes: list[str],
                      labels: dict[str, str]) -> tuple[int, str]:
        with self.lock:
            self.builds.append((image, script, tag, list(changes)))
        for pattern, handler in self.handlers:
            if pattern.search(script):
                rc, out = handler(f"build:{image}", ["sh", "-c", script])
                break
        else:
            rc, out = 0, ""
        if rc == 0:
            with self.lock:
                self.images.add(tag)
                self.image_labels[tag] = dict(labels)
        return rc, out

    def list_images(self, label: str) -> list[dict[str, Any]]:
        return [{"id": "sha256:" + tag, "tags": [tag], "labels": labels, "size": 0,
                 "created": 0} for tag, labels in self.image_labels.items() if label in labels]

    def remove_image(self, image: str) -> bool:
        if any(c.image == image for c in self.containers.values()):
            return False
        self.images.discard(image)
        self.image_labels.pop(image, None)
        return True


def _match(wanted: dict[str, str], have: dict[str, str]) -> bool:
    return all(have.get(k) == v for k, v in wanted.items())


if TYPE_CHECKING:  # mypy proves the double has the seam's every method and signature
    _IS_A_BACKEND: Backend = FakeBackend()

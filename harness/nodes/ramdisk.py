"""Nodes keep what they write to /usr and /var in RAM: an overlay on a tmpfs, set up before init.

Why: a converge writes tens of thousands of files there, and the engine deletes a container's
disk layer file by file when it is removed; on a disk that discards freed blocks that takes
seconds per JDK node at every teardown, while freeing a tmpfs takes none (decision 19 has the
figures). The node still runs the image's own init as PID 1 (`exec`), sees the same
files, and the overlay is gone with the container's mounts. If a mount fails (no SYS_ADMIN,
a kernel without overlayfs), the node boots on its disk as before and says so in its log.
"""
from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

from harness.errors import UsageError

NODE_DISKS = ("auto", "ram", "disk")
RAM_DIRS = ("/usr", "/var")
# auto: RAM when the engine's host has this much; below it a suite with -n 2 would meet the
# OOM killer (decision 19 has the measured peak).
AUTO_MIN_MEMORY = 7 * 2**30
RAM_MOUNT = "/.harness-rw"  # a tmpfs the engine mounts; the overlays' upper and work dirs
# The engine's tmpfs defaults (noexec, nosuid) do not reach files seen through the overlay:
# its own mount decides, and setuid binaries installed there work (tested).
RAM_MOUNT_OPTIONS = "rw,mode=0700"
DEFAULT_INIT = ["/sbin/init"]


def check_node_disk(node_disk: str) -> str:
    if node_disk not in NODE_DISKS:
        raise UsageError(f"node disk must be one of {', '.join(NODE_DISKS)}, not {node_disk!r}")
    return node_disk


def ram_dirs(node_disk: str, engine_memory: Callable[[], int]) -> tuple[str, ...]:
    """The directories a node keeps in RAM for a `--node-disk` value; the engine's RAM is
    asked for (one API call) only by `auto`."""
    if check_node_disk(node_disk) == "auto":
        node_disk = "ram" if engine_memory() >= AUTO_MIN_MEMORY else "disk"
    return RAM_DIRS if node_disk == "ram" else ()


def init_script(dirs: tuple[str, ...]) -> str:
    """sh script: one overlay per directory (lower = the image's, upper in RAM), then init.

    A directory with a mount below it (an image VOLUME under /var) stays on disk: an overlay
    on top would hide that mount."""
    lines = []
    for path in dirs:
        quoted, below = shlex.quote(path), shlex.quote(path.rstrip("/") + "/")
        top = shlex.quote(f"{RAM_MOUNT}{path}")
        says = f"echo \"harness: {path} stays on the container's disk"
        lines.append(
            f"if awk -v d={below} 'index($5, d) == 1 {{m = 1}} END {{exit !m}}' "
            f"/proc/self/mountinfo; then {says} (mounts below it)\" >&2\n"
            f"else mkdir -p {top}/upper {top}/work && "
            f"mount -t overlay overlay -o lowerdir={quoted},upperdir={top}/upper,"
            f"workdir={top}/work {quoted} || {says} (overlay failed)\" >&2; fi")
    lines.append('exec "$@"')
    return "\n".join(lines)


def ram_dir_of(path: str, dirs: tuple[str, ...]) -> str | None:
    """The RAM dir holding path, if any: the engine's archive copy lands below its overlay."""
    return next((top for top in dirs if path == top or path.startswith(top + "/")), None)


def entrypoint(dirs: tuple[str, ...], image_config: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(entrypoint, command) for a node: the script, then the image's own entrypoint + cmd."""
    init = list(image_config.get("Entrypoint") or []) + list(image_config.get("Cmd") or [])
    return ["/bin/sh", "-c", init_script(dirs), "harness-node-init"], init or DEFAULT_INIT

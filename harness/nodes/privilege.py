"""Root for the few image-build steps that need it, and nothing else.

Hosted CI runners are a non-root user with passwordless sudo and the docker group. debootstrap,
chroot and reading or deleting the root-owned tree they leave need root; talking to the engine
(`docker import`, running nodes) needs only the docker group. So the builder runs exactly those
commands through `sudo -n` when it is not root, and the rest of the harness stays unprivileged.
"""
from __future__ import annotations

import os
import shutil
import subprocess

from harness.errors import ImageBuildError

# sudo resets the environment; what the build steps need is passed explicitly through env(1).
ROOT_ENV = {"DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}


def is_root() -> bool:
    return os.geteuid() == 0


def as_root(cmd: list[str], path: str) -> list[str]:
    """cmd as root: unchanged when we are root, else `sudo -n env PATH=... cmd`.

    `-n`: never prompt. A runner without passwordless sudo fails at once (check_root names it)
    instead of hanging on a password prompt in a CI log.
    """
    if is_root():
        return list(cmd)
    env = [f"{k}={v}" for k, v in {**ROOT_ENV, "PATH": path}.items()]
    return ["sudo", "-n", "env", *env, *cmd]


def check_root(tag: str) -> None:
    """Raise ImageBuildError unless we are root or may use sudo without a password."""
    if is_root():
        return
    why = "sudo is not installed"
    if shutil.which("sudo"):
        probe = subprocess.run(["sudo", "-n", "true"], capture_output=True, text=True)
        if probe.returncode == 0:
            return
        why = (probe.stderr.strip().splitlines() or ["sudo -n true failed"])[-1]
    raise ImageBuildError(f"building {tag} needs root for debootstrap and chroot: run as root "
                          f"or give user {_user()} passwordless sudo ({why})")


def _user() -> str:
    try:
        import pwd
        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return str(os.geteuid())

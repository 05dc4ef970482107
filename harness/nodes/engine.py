"""Find the Docker engine, or install and start one (root on a fresh Debian CI machine).

A CI machine starts with no dockerd; a developer machine has one. Both must work with the same
`pytest` command, so the harness does what the setup docs would otherwise ask a human to do.
Two xdist workers may get here at once: an fcntl lock makes the second wait and reuse.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tenacity import RetryError, retry, retry_if_exception_type, stop_after_delay, wait_fixed

from harness.errors import EngineError
from harness.nodes.backend import Backend, DockerBackend

Progress = Callable[[str], None]
DOCKERD_LOG = Path("/var/log/harness-dockerd.log")
DEFAULT_SOCKET = "/var/run/docker.sock"
START_TIMEOUT = 60.0
# dockerd and the iptables it calls live in sbin, which a CI job's PATH may lack.
SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])


@contextmanager
def file_lock(name: str) -> Iterator[None]:
    """Exclusive lock shared by every harness process of this user on this machine.

    Per user: a lock directory made by root (mkdir's mode is cut by the umask) or a lock file
    another user created cannot be opened by a CI runner's non-root user.
    """
    lock_dir = Path(tempfile.gettempdir()) / f"harness-locks-{os.getuid()}"
    lock_dir.mkdir(mode=0o700, exist_ok=True)
    with open(lock_dir / f"{name}.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _connect(base_url: str | None) -> Backend:
    DockerBackend(base_url=base_url, timeout=5).ping()  # short timeout: fail fast
    return DockerBackend(base_url=base_url)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _install_docker(progress: Progress) -> None:
    progress("engine: dockerd is not installed; installing Debian's docker.io (apt-get)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update"],
                ["apt-get", "install", "-y", "--no-install-recommends", "docker.io", "iptables"]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
            raise EngineError(f"installing docker.io failed: {' '.join(cmd)} exited "
                              f"{proc.returncode}", log_tail=tail)


def _start_dockerd(progress: Progress) -> Backend:
    """Start dockerd detached (own session, survives us) and wait until it answers."""
    progress(f"engine: starting dockerd (log: {DOCKERD_LOG})")
    with open(DOCKERD_LOG, "ab") as log:
        proc = subprocess.Popen([shutil.which("dockerd", path=SBIN_PATH) or "dockerd"],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                env=dict(os.environ, PATH=SBIN_PATH),
                                start_new_session=True, close_fds=True)

    @retry(stop=stop_after_delay(START_TIMEOUT), wait=wait_fixed(0.2),
           retry=retry_if_exception_type(EngineError), reraise=True)
    def wait_answer() -> Backend:
        if proc.poll() is not None:
            raise RuntimeError(f"dockerd exited with status {proc.returncode}")
        return _connect(None)

    try:
        backend = wait_answer()
    except (EngineError, RetryError, RuntimeError) as err:
        raise EngineError(f"dockerd did not come up within {START_TIMEOUT:.0f} s: {err}",
                          log_tail=_tail(DOCKERD_LOG)) from None
    progress(f"engine: dockerd is up (pid {proc.pid})")
    return backend


def ensure_engine(progress: Progress = print) -> Backend:
    """Return a Backend (a DockerBackend) on a live engine.

    Uses DOCKER_HOST or the default socket. When nothing answers, we are root and DOCKER_HOST is
    unset, installs docker.io if needed and starts dockerd. Otherwise raises EngineError.
    """
    docker_host = os.environ.get("DOCKER_HOST")
    try:
        return _connect(None)
    except EngineError as err:
        first_error = err
    if docker_host:
        raise EngineError(f"no Docker engine answers at DOCKER_HOST={docker_host} "
                          f"({first_error.message.split(': ', 1)[-1]})")
    if os.geteuid() != 0:
        raise EngineError(f"no Docker engine answers at {DEFAULT_SOCKET} and we are not root "
                          "to start one: start dockerd or set DOCKER_HOST")
    with file_lock("engine"):
        try:  # another worker may have started it while we waited for the lock
            return _connect(None)
        except EngineError:
            pass
        if not shutil.which("dockerd", path=SBIN_PATH):
            _install_docker(progress)
            try:  # the package's postinst may have started it already
                return _connect(None)
            except EngineError:
                pass
        return _start_dockerd(progress)

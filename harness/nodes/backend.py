"""The container seam: with its image mixin (dockerimages.py), the ONLY code that imports the
docker SDK.

Everything else (cluster, images, reaper, commands) talks to a `Backend`, so unit tests swap in a
fake and the rest of the harness never sees docker-py types or exceptions.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any, Protocol

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound

from harness.errors import EngineError, NodeError
from harness.nodes import ramdisk
from harness.nodes.archive import tar_files
from harness.nodes.dockerimages import DockerImageOps
from harness.nodes.execstream import exec_merged, exec_split, open_shell
from harness.nodes.labels import SESSION
from harness.nodes.shell import Shell

LABEL_PREFIX = "harness."
# Flags systemd needs as PID 1 in a container; the cgroup ones depend on the host (cgroup_flags).
SYSTEMD_TMPFS = {"/run": "rw,exec", "/run/lock": "rw", "/tmp": "rw,exec"}
SYSTEMD_CAPS = ["SYS_ADMIN", "SYS_PTRACE"]
# No seccomp filter, as on a real host (and as kitchen-dokken's usual `privileged: true`): runc
# compiles Docker's default profile for every start and exec (~30 ms and ~20 ms here), and it
# can only refuse what production allows; with SYS_ADMIN it adds no barrier (decision 63).
SYSTEMD_SECURITY = ["seccomp=unconfined"]
# The loopback has ::1, as on a Debian host: Docker turns IPv6 off in containers on an IPv4
# network, and a daemon whose packaged config listens on ::1 (trixie's memcached) then
# fails at boot, which no production host sees (decision 68).
NODE_SYSCTLS = {"net.ipv6.conf.lo.disable_ipv6": "0"}
STOP_SIGNAL = "SIGRTMIN+3"

StreamFn = Callable[[str], None]


@dataclass
class NetworkInfo:
    """What a cluster needs to know about its network."""

    name: str
    id: str
    gateway: str
    subnet: str


@dataclass
class ContainerInfo:
    """A started node container."""

    name: str
    id: str
    ip: str


class Backend(Protocol):
    """The operations the harness needs from a container engine."""

    def ping(self) -> None: ...
    def image_exists(self, tag: str) -> bool: ...
    def memory(self) -> int: ...
    def import_image(self, stream: IO[bytes], tag: str, changes: list[str]) -> None: ...
    def create_network(self, name: str, labels: dict[str, str]) -> NetworkInfo: ...
    def run_node(self, image: str, container_name: str, hostname: str, network: str,
                 aliases: list[str], labels: dict[str, str],
                 ram_dirs: tuple[str, ...] = ()) -> ContainerInfo: ...
    def exec(self, container: str, cmd: list[str], env: dict[str, str] | None = None,
             stream: StreamFn | None = None, user: str = "root") -> tuple[int, str]: ...
    def exec_split(self, container: str, cmd: list[str],
                   user: str = "") -> tuple[int, bytes, bytes]: ...
    def open_shell(self, container: str, user: str = "") -> Shell: ...
    def put_file(self, container: str, path: str, data: bytes, mode: int = 0o644) -> None: ...
    def put_files(self, container: str, files: list[tuple[str, bytes, int]]) -> None: ...
    def logs(self, container: str, tail: int = 100) -> str: ...
    def remove(self, container: str) -> None: ...
    def remove_network(self, name: str) -> None: ...
    def stop_by_labels(self, labels: dict[str, str]) -> int: ...
    def remove_by_labels(self, labels: dict[str, str]) -> tuple[int, int]: ...
    def labelled(self) -> list[dict[str, str]]: ...
    # images of the package layer (dockerimages.py)
    def image_attrs(self, image: str) -> dict[str, Any]: ...
    def image_files(self, image: str, paths: list[str]) -> dict[str, bytes]: ...
    def image_output(self, image: str, argv: list[str]) -> str: ...
    def commit_script(self, image: str, script: str, tag: str, changes: list[str],
                      labels: dict[str, str]) -> tuple[int, str]: ...
    def list_images(self, label: str) -> list[dict[str, Any]]: ...
    def remove_image(self, image: str) -> bool: ...


def _cgroup_v2() -> bool:
    return os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def cgroup_flags(v2: bool) -> dict[str, Any]:
    """docker-run keywords that let systemd run as PID 1 under the host's cgroup version.

    v1: the host's hierarchy read-only (systemd only needs to see its own cgroup there).
    v2 (hosted CI runners, Docker Desktop): systemd must create its own sub-cgroups, so the
    unified hierarchy is mounted read-write in the host's cgroup namespace, as kitchen-dokken
    documents for cgroup v2 (`cgroupns_host: true`, `/sys/fs/cgroup:/sys/fs/cgroup:rw`) and
    Molecule's systemd guides do (`cgroupns_mode: host`). Decision in docs/decisions.md.
    """
    flags: dict[str, Any] = {"volumes": {"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup",
                                                            "mode": "rw" if v2 else "ro"}}}
    if v2:
        flags["cgroupns"] = "host"
    return flags


def _selector(labels: dict[str, str]) -> list[str]:
    return [f"{k}={v}" for k, v in labels.items()]


class DockerBackend(DockerImageOps):
    """`Backend` on the Docker Engine API (docker SDK 7)."""

    def __init__(self, base_url: str | None = None, timeout: int = 900) -> None:
        try:
            if base_url:
                self.client = docker.DockerClient(base_url=base_url, timeout=timeout)
            else:
                self.client = docker.from_env(timeout=timeout)
        except DockerException as err:
            raise EngineError(f"cannot use the Docker engine: {err}") from None
        self.api = self.client.api
        self._images: dict[str, dict[str, Any]] = {}  # image -> its Config (entrypoint, cmd)
        self._ram_dirs: dict[str, tuple[str, ...]] = {}  # container -> dirs kept in RAM

    @property
    def base_url(self) -> str:
        return str(self.api.base_url)

    def ping(self) -> None:
        """Raise EngineError unless the engine answers."""
        try:
            self.api.ping()
        except (DockerException, OSError) as err:
            raise EngineError(f"Docker engine at {self.base_url} does not answer: {err}") from None

    def memory(self) -> int:
        """Bytes of RAM of the engine's host (what nodes kept in RAM share)."""
        try:
            return int(self.api.info().get("MemTotal") or 0)
        except (DockerException, OSError) as err:
            raise EngineError(f"Docker engine at {self.base_url} does not answer: {err}") from None

    # images ------------------------------------------------------------------------------
    def image_exists(self, tag: str) -> bool:
        try:
            self.client.images.get(tag)
            return True
        except ImageNotFound:
            return False

    def import_image(self, stream: IO[bytes], tag: str, changes: list[str]) -> None:
        repo, _, version = tag.rpartition(":")
        try:
            self.api.import_image(src=stream, repository=repo, tag=version, changes=changes,
                                  stream_src=True)
        except DockerException as err:
            raise EngineError(f"docker import of {tag} failed: {err}") from None

    # networks ------------------------------------------------------------------------------
    def create_network(self, name: str, labels: dict[str, str]) -> NetworkInfo:
        try:
            net = self.client.networks.create(name, driver="bridge", labels=labels,
                                              check_duplicate=True)  # inspected: IPAM is in
        except DockerException as err:
            raise EngineError(f"cannot create network {name}: {err}") from None
        config = (net.attrs.get("IPAM", {}).get("Config") or [{}])[0]
        gateway = config.get("Gateway", "")
        if not gateway:
            raise EngineError(f"network {name} has no gateway address: {net.attrs.get('IPAM')}")
        return NetworkInfo(name=name, id=net.id or "", gateway=gateway, subnet=config.get("Subnet", ""))

    def remove_network(self, name: str) -> None:
        try:
            self.client.networks.get(name).remove()
        except NotFound:
            pass
        except APIError as err:
            raise EngineError(f"cannot remove network {name}: {err}") from None

    # containers ----------------------------------------------------------------------------
    def run_node(self, image: str, container_name: str, hostname: str, network: str,
                 aliases: list[str], labels: dict[str, str],
                 ram_dirs: tuple[str, ...] = ()) -> ContainerInfo:
        """Start a systemd container; systemd needs tmpfs /run, the cgroup fs and caps.

        ram_dirs (e.g. /usr, /var) become overlays on a tmpfs before init starts (ramdisk.py).
        """
        kwargs: dict[str, Any] = cgroup_flags(_cgroup_v2())
        tmpfs = dict(SYSTEMD_TMPFS)
        try:
            if ram_dirs:
                tmpfs[ramdisk.RAM_MOUNT] = ramdisk.RAM_MOUNT_OPTIONS
                kwargs["entrypoint"], kwargs["command"] = ramdisk.entrypoint(
                    ram_dirs, self._image_config(image))
                self._ram_dirs[container_name] = ram_dirs
            container = self.client.containers.run(
                image, name=container_name, hostname=hostname, detach=True, labels=labels,
                tmpfs=tmpfs, cap_add=list(SYSTEMD_CAPS), stop_signal=STOP_SIGNAL,
                security_opt=list(SYSTEMD_SECURITY), sysctls=dict(NODE_SYSCTLS),
                network=network,
                networking_config={network: self.api.create_endpoint_config(aliases=aliases)},
                environment={"container": "docker"}, **kwargs)
            container.reload()
        except DockerException as err:
            raise NodeError(f"cannot start container {container_name}: {err}",
                            node=hostname) from None
        ip = container.attrs["NetworkSettings"]["Networks"].get(network, {}).get("IPAddress", "")
        return ContainerInfo(name=container_name, id=container.id or "", ip=ip)

    def _image_config(self, image: str) -> dict[str, Any]:
        if image not in self._images:
            self._images[image] = self.client.images.get(image).attrs.get("Config") or {}
        return self._images[image]

    def exec(self, container: str, cmd: list[str], env: dict[str, str] | None = None,
             stream: StreamFn | None = None, user: str = "root") -> tuple[int, str]:
        """Run cmd in the container; stdout+stderr merged in order (execstream.exec_merged)."""
        return exec_merged(self.api, container, cmd, env, user, stream)

    def exec_split(self, container: str, cmd: list[str],
                   user: str = "") -> tuple[int, bytes, bytes]:
        """Run cmd; (exit code, stdout, stderr) kept apart (the testinfra hosts' transport)."""
        return exec_split(self.api, container, cmd, user)

    def open_shell(self, container: str, user: str = "") -> Shell:
        """A shell that runs many `/bin/sh -c` commands over one exec (the testinfra hosts)."""
        return open_shell(self.api, container, user)

    def put_file(self, container: str, path: str, data: bytes, mode: int = 0o644) -> None:
        """Copy bytes to path (parent directories are created) with mode, owned by root."""
        self.put_files(container, [(path, data, mode)])

    def put_files(self, container: str, files: list[tuple[str, bytes, int]]) -> None:
        """Copy (path, bytes, mode) files in one archive: one API call, not one per file.

        The archive lands on the container's disk layer, below a RAM dir's overlay: refused."""
        for path, _, _ in files:
            if top := ramdisk.ram_dir_of(path, self._ram_dirs.get(container, ())):
                raise NodeError(f"cannot copy {path} into {container}: {top} is kept in RAM "
                                "there (an overlay); write it from inside the node")
        try:
            self.api.put_archive(container, "/", tar_files(files))
        except DockerException as err:
            names = ", ".join(path for path, _, _ in files)
            raise NodeError(f"cannot copy {names} into {container}: {err}") from None

    def logs(self, container: str, tail: int = 100) -> str:
        try:
            return self.api.logs(container, tail=tail).decode(errors="replace")
        except DockerException as err:
            return f"(no logs: {err})"

    def remove(self, container: str) -> None:
        try:
            self.api.remove_container(container, force=True, v=True)
        except NotFound:
            pass
        except APIError as err:
            if err.status_code != 409:  # 409: removal already in progress
                raise EngineError(f"cannot remove container {container}: {err}") from None

    # labels ----------------------------------------------------------------------------
    def stop_by_labels(self, labels: dict[str, str]) -> int:
        """Kill the running containers carrying all these labels; how many.

        The fast half of a teardown: nothing runs any more. Removing the stopped containers
        and their network (remove_by_labels) is the slow half (decisions 15 and 19).
        """
        try:
            running = self.api.containers(filters={"label": _selector(labels)})
            with ThreadPoolExecutor(max_workers=max(1, min(8, len(running)))) as pool:
                list(pool.map(self._kill, [c["Id"] for c in running]))
        except DockerException as err:
            raise EngineError(f"cannot stop containers labelled {labels}: {err}") from None
        return len(running)

    def _kill(self, container: str) -> None:
        try:
            self.api.kill(container)
        except NotFound:
            pass
        except APIError as err:
            if err.status_code != 409:  # 409: not running any more
                raise EngineError(f"cannot stop container {container}: {err}") from None

    def remove_by_labels(self, labels: dict[str, str]) -> tuple[int, int]:
        """Remove every container and network carrying all these labels.

        Containers in parallel (deleting a disk layer is slow, decision 15). Each network goes
        alongside them: its containers are disconnected from it first, so its bridge and
        rules go while the containers die (decision 62). A network still in use after that
        (a disconnect lost a race) is removed again once the containers are gone.
        """
        selector = {"label": _selector(labels)}
        try:
            containers = self.api.containers(all=True, filters=selector)
            networks = self.api.networks(filters=selector)
            ids = [c["Id"] for c in containers]
            with ThreadPoolExecutor(max_workers=max(1, min(8, len(ids) + len(networks)))) as pool:
                jobs = [pool.submit(self.remove, cid) for cid in ids]
                nets = [pool.submit(self._detach_and_remove, n["Id"], ids) for n in networks]
                for job in jobs:
                    job.result()
                left = [n["Id"] for n, job in zip(networks, nets, strict=True) if not job.result()]
            for net in left:
                self.remove_network(net)
        except DockerException as err:
            raise EngineError(f"cannot remove resources labelled {labels}: {err}") from None
        return len(containers), len(networks)

    def _detach_and_remove(self, network: str, containers: list[str]) -> bool:
        """Disconnect the containers from network, then remove it; False if still in use."""
        def detach(cid: str) -> None:
            try:
                self.api.disconnect_container_from_network(cid, network, force=True)
            except APIError:
                pass  # not connected, already gone, or being removed: the removal decides

        with ThreadPoolExecutor(max_workers=max(1, min(8, len(containers)))) as pool:
            list(pool.map(detach, containers))
        try:
            self.api.remove_network(network)
        except NotFound:
            return True
        except APIError:
            return False  # still has endpoints: removed again after the containers
        return True

    def labelled(self) -> list[dict[str, str]]:
        """Labels of every harness container and network (the reaper's and clean's view)."""
        selector = {"label": [SESSION]}
        try:
            found = [dict(c.get("Labels") or {}, kind="container", id=c["Id"])
                     for c in self.api.containers(all=True, filters=selector)]
            found += [dict(n.get("Labels") or {}, kind="network", id=n["Id"])
                      for n in self.api.networks(filters=selector)]
        except DockerException as err:
            raise EngineError(f"cannot list harness resources: {err}") from None
        return found


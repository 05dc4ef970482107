"""The package layer: a node image with its policy's Debian packages already installed.

dpkg is the one thing identical run after run that costs most (~31 s of a ZooKeeper node's
64 s), so we memoize it: `apt-get install` of the packages a why-run of the node's policy
declares, on top of the platform's base image, in a throwaway container (no init, no RAM
overlay), committed with apt's archives removed (its lists kept: decision 59), labelled,
and tagged by a hash of (base image, sorted package list, apt sources). The node still runs
the production bootstrap and the whole converge; its package resources find their packages
and report up to date.
"""
from __future__ import annotations

import hashlib
import json
import re
import shlex
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from harness.agent.packages import APT_ENV, APT_OPTS
from harness.errors import ImageBuildError
from harness.nodes.backend import Backend
from harness.nodes.engine import file_lock
from harness.nodes.labels import LAYER, LAYER_BASE, LAYER_PACKAGES

Progress = Callable[[str], None]
REPOSITORY = "harness/layer"
BUILDER_VERSION = "3"  # bump when install_script changes what a layer contains
APT_SOURCES = ["/etc/apt/sources.list", "/etc/apt/sources.list.d", "/etc/apt/preferences.d"]
# The agent's package resource (harness/agent/packages.py): same environment and flags.
APT_INSTALL = ["apt-get", "install", *APT_OPTS]
INSTALL_ACTIONS = ("install", "upgrade")
TICK = 15.0  # seconds between progress lines of a build
# Resources after which a package's install may differ from a plain `apt-get install`: debconf
# answers, apt sources, pins, keys, architectures. Packages declared after one stay out of the
# layer. A file in apt.conf.d is one only when it sets what apt installs (recommends,
# suggests, the default release; or its text is unknown): most tune apt otherwise (update
# stamps, proxies), and the conffile policy is the agent's own flags, as Chef's.
APT_PATHS = ("/etc/apt/sources.list", "/etc/apt/preferences", "/etc/apt/trusted.gpg",
             "/etc/apt/keyrings/", "/usr/share/keyrings/", "/var/cache/debconf/")
APT_CONF_D = "/etc/apt/apt.conf.d/"
APT_CONF_CHOICES = re.compile(r"install-recommends|install-suggests|default-release", re.I)
APT_COMMANDS = re.compile(r"debconf-set-selections|apt-key|add-apt-repository|--add-architecture"
                          r"|apt\.conf")


def _barrier(entry: dict[str, Any]) -> bool:
    kind, _, name = entry["resource"].partition("[")
    props = entry.get("properties") or {}
    if kind == "execute":
        command = props.get("command") or name.rstrip("]")
        text = command if isinstance(command, str) else " ".join(map(str, command))
        return bool(APT_COMMANDS.search(text))
    path = str(props.get("path") or name.rstrip("]"))
    if kind != "package" and path.startswith(APT_CONF_D):
        content = props.get("content")  # the why-run gives it (layerplan asks for it)
        return not isinstance(content, str) or bool(APT_CONF_CHOICES.search(content))
    return kind != "package" and path.startswith(APT_PATHS)


def package_list(plan: Iterable[dict[str, Any]]) -> list[str]:
    """Sorted `pkg` / `pkg=version` specs a why-run plan installs, as the agent would name them.

    Only install and upgrade actions of unguarded package resources without extra options
    count, none that notifies or is subscribed to (its "installed" must fire them), and none
    declared after a resource that changes how apt installs (debconf answers, apt sources or
    keys): those install during the converge, as in production. A multi-package resource
    (package_name a list) gives each of its names, pinned by the version at the same index
    (a version list, or one version for the first name: Chef's `[version].flatten`).
    """
    plan = list(plan)
    watched = {sub[1] for entry in plan
               for sub in (entry.get("properties") or {}).get("subscribes") or []}
    specs: set[str] = set()
    for entry in plan:
        if _barrier(entry):
            break
        kind, _, name = entry["resource"].partition("[")
        props = entry.get("properties") or {}
        if kind != "package" or entry["action"] not in INSTALL_ACTIONS:
            continue
        if props.get("options") or props.get("notifies") or entry["resource"] in watched \
                or "only_if" in props or "not_if" in props:
            continue
        given, versions = props.get("package_name"), props.get("version")
        names = given if isinstance(given, list) else [given or name.rstrip("]")]
        versions = versions if isinstance(versions, list) else [versions]
        for index, pkg in enumerate(names):
            version = versions[index] if index < len(versions) else None
            specs.add(f"{pkg}={version}" if version else str(pkg))
    return sorted(specs)


def layer_key(base_id: str, packages: Iterable[str], sources: Mapping[str, bytes]) -> str:
    """Hash of what decides a layer's content: base image id, package list, apt sources."""
    digest = hashlib.sha256(BUILDER_VERSION.encode())
    digest.update(json.dumps({"base": base_id, "packages": sorted(set(packages)),
                              "sources": {p: hashlib.sha256(d).hexdigest()
                                          for p, d in sorted(sources.items())}},
                             sort_keys=True).encode())
    return digest.hexdigest()[:16]


def layer_tag(key: str) -> str:
    return f"{REPOSITORY}:{key}"


def install_script(packages: list[str], apt_proxy: str | None = None) -> str:
    """sh: install packages without starting daemons (policy-rc.d), then drop apt's archives.

    apt's lists stay (decision 59): the converge's own `apt-get update` then refreshes them
    from the mirror instead of downloading them whole, ~1.2 s less per node."""
    proxy = f" -o Acquire::http::Proxy={shlex.quote(apt_proxy)}" if apt_proxy else ""
    downgrades = " --allow-downgrades" if any("=" in p for p in packages) else ""
    policy = "/usr/sbin/policy-rc.d"
    return "\n".join([
        "set -e",
        f"if [ ! -e {policy} ]; then printf '#!/bin/sh\\nexit 101\\n' > {policy}; "
        f"chmod 755 {policy}; trap 'rm -f {policy}' EXIT; fi",
        "export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in APT_ENV.items()),
        f"apt-get update -q{proxy}",
        f"{shlex.join(APT_INSTALL)}{downgrades}{proxy} {shlex.join(packages)}",
        "apt-get clean",
    ])


def failed_package(output: str, packages: list[str]) -> str:
    """The package apt's output blames, else the whole list (for the one-line error)."""
    names = {p.partition("=")[0]: p for p in packages}
    for line in reversed(output.splitlines()):
        if line.startswith(("E:", "dpkg:")):
            for word in re.findall(r"[a-z0-9][a-z0-9+.-]+", line):
                if word in names:
                    return names[word]
    return " ".join(packages)


def image_changes(base_config: Mapping[str, Any], labels: Mapping[str, str]) -> list[str]:
    """Dockerfile lines that give the committed layer the base image's Entrypoint and Cmd
    (the build container overrode them) and the layer's labels."""
    entrypoint = base_config.get("Entrypoint")
    changes = [f"ENTRYPOINT {json.dumps(entrypoint)}"] if entrypoint else []
    return [*changes, f"CMD {json.dumps(base_config.get('Cmd') or [])}",
            *(f"LABEL {k}={json.dumps(v)}" for k, v in sorted(labels.items()))]


def ensure_layer(backend: Backend, base: str, packages: list[str], progress: Progress,
                 apt_proxy: str | None = None) -> str:
    """Tag of base + packages, built on first use; concurrent builders of one tag wait for
    the first (file lock) and reuse its image."""
    attrs = backend.image_attrs(base)
    sources = backend.image_files(base, APT_SOURCES)
    tag = layer_tag(layer_key(str(attrs["Id"]), packages, sources))
    if backend.image_exists(tag):
        return tag
    with file_lock("layer-" + tag.replace("/", "_").replace(":", "_")):
        if backend.image_exists(tag):  # another worker built it while we waited
            progress(f"package layer: {tag} was built by another worker")
            return tag
        _build(backend, base, attrs, packages, tag, progress, apt_proxy)
    return tag


def _build(backend: Backend, base: str, attrs: Mapping[str, Any], packages: list[str],
           tag: str, progress: Progress, apt_proxy: str | None) -> None:
    started = time.monotonic()
    progress(f"package layer: building {tag} on {base}: apt-get install {' '.join(packages)}")
    labels = {LAYER: tag.rpartition(":")[2], LAYER_PACKAGES: " ".join(packages),
              LAYER_BASE: base}
    done = threading.Event()
    ticker = threading.Thread(target=_tick, args=(done, tag, started, progress), daemon=True)
    ticker.start()
    try:
        rc, output = backend.commit_script(
            base, install_script(packages, apt_proxy), tag,
            image_changes(attrs.get("Config") or {}, labels), labels)
    finally:
        done.set()
    if rc != 0:
        raise ImageBuildError(
            f"package layer on {base}: apt-get install {failed_package(output, packages)} "
            f"failed (exit {rc}); `--package-layer off` installs during the converge instead",
            log_tail="\n".join(output.splitlines()[-15:]))
    progress(f"package layer: built {tag} ({len(packages)} packages) in "
             f"{time.monotonic() - started:.0f} s")


def _tick(done: threading.Event, tag: str, started: float, progress: Progress) -> None:
    """A line every TICK seconds while apt works: a JDK layer takes a minute or more."""
    while not done.wait(TICK):
        progress(f"package layer: {tag}: apt-get still at work "
                 f"({time.monotonic() - started:.0f} s)")


def list_layers(backend: Backend, now: float | None = None) -> list[dict[str, Any]]:
    """Every package layer on the engine, newest first: tag, base, packages, size, age (s)."""
    now = time.time() if now is None else now
    rows = [{"tag": next((t for t in image["tags"] if t.startswith(REPOSITORY + ":")),
                         image["id"][:19]),
             "base": image["labels"].get(LAYER_BASE, ""),
             "packages": image["labels"].get(LAYER_PACKAGES, "").split(),
             "size": image["size"], "age": max(0.0, now - image["created"])}
            for image in backend.list_images(LAYER)]
    return sorted(rows, key=lambda row: row["age"])


def prune_layers(backend: Backend, older_than: float = 0.0,
                 progress: Progress = print) -> tuple[list[str], list[str]]:
    """Remove the layers no container uses (the engine refuses those in use) that are older
    than `older_than` seconds; (removed tags, tags kept because a container uses them)."""
    removed, in_use = [], []
    for row in list_layers(backend):
        if row["age"] < older_than:
            continue
        if backend.remove_image(row["tag"]):
            removed.append(row["tag"])
            progress(f"package layer: removed {row['tag']} ({human_size(row['size'])})")
        else:
            in_use.append(row["tag"])
    return removed, in_use


def human_size(size: float) -> str:
    """Bytes as `docker images` shows them (powers of 1000)."""
    units = ["B", "kB", "MB", "GB"]
    while size >= 1000 and len(units) > 1:
        size, units = size / 1000, units[1:]
    return f"{size:.0f} B" if units[0] == "B" else f"{size:.1f} {units[0]}"


def human_age(seconds: float) -> str:
    for unit, length in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= length:
            return f"{seconds / length:.0f} {unit}"
    return f"{seconds:.0f} s"

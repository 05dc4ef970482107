"""Which image each node of a cluster boots from when the package layer is on.

Per role, a why-run of the role's policy (the real agent, in-process, against the cluster's
own restored server, with the facts a node of the base image reports where they differ from
this machine's: platform, lsb, virtualization) names the packages the converge will
install; layers.ensure_layer builds or finds base + those packages. A why-run that fails
leaves the role on the base image: its converge then fails (or not) where production's
would, and nothing is hidden.
"""
from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.agent import ohai
from harness.agent.errors import AgentError
from harness.agent.runner import why_run
from harness.errors import HarnessError
from harness.nodes.backend import Backend
from harness.nodes.bootstrap import Node
from harness.nodes.configserver import ServerUp
from harness.nodes.layers import APT_CONF_D, Progress, ensure_layer, package_list

OS_RELEASE = "/usr/lib/os-release"  # /etc/os-release is a link to it on Debian
LSB_RELEASE = "/usr/bin/lsb_release"


def platform_facts(os_release: bytes) -> dict[str, str]:
    """platform, platform_version, platform_family as the agent's ohai reports them on a node
    of that image (ohai.collect's rules, fed the image's os-release)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "os-release"
        path.write_bytes(os_release)
        release = ohai.read_os_release(path)
    if not release:
        return {}
    return {"platform": release.get("ID", ""), "platform_version": release.get("VERSION_ID", ""),
            "platform_family": (release.get("ID_LIKE") or release.get("ID", "")).split()[0]}


def node_facts(backend: Backend, base: str) -> dict[str, Any]:
    """The facts a node of `base` reports that this machine's would get wrong: the platform
    (the image's os-release), `lsb` (Ohai's lsb plugin: {} without lsb_release, else its
    output, run once in the image) and `virtualization` (every node is a Docker guest; this
    machine may be a Docker host). A recipe choosing packages by them gets the node's
    answer, so the layer holds what the node's converge installs, not this machine's."""
    files = backend.image_files(base, [OS_RELEASE, LSB_RELEASE])
    facts: dict[str, Any] = platform_facts(files.get(OS_RELEASE, b""))
    facts["lsb"] = ohai.parse_lsb(backend.image_output(base, ["lsb_release", "-a"])) \
        if LSB_RELEASE in files else {}
    with tempfile.TemporaryDirectory() as tmp:  # what ohai finds in a container Docker made
        (Path(tmp) / ".dockerenv").touch()
        facts["virtualization"] = ohai.virtualization(Path(tmp))
    return facts


def policy_plan(up: ServerUp, node: Node, environment: str, facts: dict[str, Any],
                secret: bytes | None) -> list[dict[str, Any]]:
    """why-run of `node` as its bootstrap will register it (role run list, environment); the
    node object exists only for the why-run, so the bootstrap registers it as production does."""
    doc = {"name": node.name, "chef_environment": environment, "run_list": [f"role[{node.role}]"],
           "normal": {}, "default": {}, "override": {}, "automatic": {}}
    up.client.post("/nodes", doc)
    try:
        return why_run(up.server.url, up.server.admin_token, node.name, secret=secret,
                       contents_under=(APT_CONF_D,), node_facts=facts)
    finally:
        up.client.delete(f"/nodes/{node.name}")


def node_images(backend: Backend, base: str, up: ServerUp, nodes: Mapping[str, Node],
                environment: str, secret: bytes | None, progress: Progress,
                apt_proxy: str | None = None) -> dict[str, str]:
    """{node name: image}: each role's package layer, or `base` when there is nothing to
    layer. Raises ImageBuildError when a layer's `apt-get install` fails."""
    facts = node_facts(backend, base)
    images: dict[str, str] = {}
    for node in nodes.values():
        if node.role not in images:
            images[node.role] = _role_image(backend, base, up, node, environment, facts,
                                            secret, progress, apt_proxy)
    return {name: images[node.role] for name, node in nodes.items()}


def _role_image(backend: Backend, base: str, up: ServerUp, node: Node, environment: str,
                facts: dict[str, Any], secret: bytes | None, progress: Progress,
                apt_proxy: str | None) -> str:
    started = time.monotonic()
    try:
        packages = package_list(policy_plan(up, node, environment, dict(facts), secret))
    except (AgentError, HarnessError) as err:
        progress(f"package layer: role {node.role}: why-run failed ({err}); its nodes boot "
                 f"from {base} and install everything during the converge")
        return base
    if not packages:
        progress(f"package layer: role {node.role}: its why-run installs no package; its "
                 f"nodes boot from {base}")
        return base
    image = ensure_layer(backend, base, packages, progress, apt_proxy)
    progress(f"package layer: role {node.role}: {image} ({len(packages)} packages: "
             f"{' '.join(packages)}; {time.monotonic() - started:.1f} s)")
    return image

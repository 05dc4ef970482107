"""pytest edge of the harness (registered through the `pytest11` entry point).

A role spec module declares its cluster with a module marker::

    pytestmark = pytest.mark.cluster(zookeeper=3, env="production")

The module-scoped `cluster` fixture brings that cluster up once (one network, one config
server, one container per node) and tears it down after the module. Tests asking for `host`
or `node` run once per node. Everything else lives in harness.nodes; this file only knows pytest.
"""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from harness import pytest_fixtures
from harness.errors import HarnessError, UsageError
from harness.nodes.layermode import HELP as LAYER_HELP
from harness.nodes.layermode import MODES as LAYER_MODES
from harness.nodes.platforms import check_platform_name, left_out, pop_marker_platforms
from harness.nodes.ramdisk import NODE_DISKS
from harness.nodes.removals import Removals
from harness.nodes.spec import DEFAULT_PLATFORM, ClusterSpec
from harness.pytest_fixtures import CLUSTERS, FAILED, REFUSED, REMOVALS, NodeFixtures, repo_dir
from harness.pytest_order import ModuleOrder
from harness.repo import repo_backup

if TYPE_CHECKING:  # the cluster module loads only when a module asks for a cluster (below)
    from harness.nodes.running import RunningCluster


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "role harness")
    group.addoption("--repo", default=None, help="config repo directory (default: the rootdir)")
    group.addoption("--env", dest="harness_env", default=None,
                    help="run every spec in this environment instead of its marker's")
    group.addoption("--destroy", dest="harness_destroy", default="always",
                    choices=("passing", "always", "never"),
                    help="when to remove a module's cluster (Kitchen's names; default always); "
                         "a kept one stays usable by `harness converge|verify|login|down`")
    group.addoption("--keep-failed", dest="harness_destroy", action="store_const",
                    const="passing", help="the same as --destroy passing")
    group.addoption("--attach", dest="harness_attach", default=None, metavar="CLUSTER",
                    help="run the specs against this running cluster (`harness verify`)")
    group.addoption("--attach-matching", dest="harness_attach_matching", action="store_true",
                    help="with --attach: deselect modules with other roles instead of stopping")
    group.addoption("--image", dest="harness_image", default=None,
                    help="node image to use instead of the base image built from images/")
    group.addoption("--node-disk", dest="harness_node_disk", default="auto", choices=NODE_DISKS,
                    help="where nodes keep what they write to /usr and /var: ram (an overlay on "
                         "a tmpfs, fast teardown), disk (the container's layer) or auto (ram "
                         "when the engine's host has 7 GiB or more; default)")
    # platforms (README "Platforms", harness/nodes/platforms.py) ------------------------
    group.addoption("--platform", dest="harness_platform", default=None, metavar="NAME",
                    help="the platform every cluster's nodes run (an images/ definition, e.g. "
                         f"trixie; default: {DEFAULT_PLATFORM})")
    group.addoption("--package-layer", dest="harness_package_layer", default="auto",
                    choices=LAYER_MODES, help=LAYER_HELP)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cluster(**roles, env=..., from_backup=..., "
                            "platforms=[...]): the cluster a role spec module brings up, e.g. "
                            "cluster(zookeeper=3, env='production')")
    config.stash[CLUSTERS] = {}
    config.stash[FAILED] = set()
    config.stash[REMOVALS] = Removals()
    config.pluginmanager.register(NodeFixtures(), "harness-node-fixtures")
    config.pluginmanager.register(pytest_fixtures, "harness-fixtures")
    config.pluginmanager.register(ModuleOrder(config), "harness-module-order")


def cluster_spec(marker: pytest.Mark, config: pytest.Config, where: str) -> ClusterSpec:
    """Validate a cluster marker: role=count pairs, env, optional from_backup."""
    kwargs = dict(marker.kwargs)
    backup = kwargs.pop("from_backup", None)
    pop_marker_platforms(kwargs, where)  # validated here; excluded modules are skipped below
    return ClusterSpec.from_marker(marker.args, kwargs, where=where,
                                   env_override=config.getoption("harness_env"),
                                   from_backup=repo_backup(repo_dir(config), backup),
                                   platform=platform(config))


# platforms ---------------------------------------------------------------------------------
def platform(config: pytest.Config) -> str:
    """--platform, else the default; one clear line for a bad name."""
    name = config.getoption("harness_platform", None) or DEFAULT_PLATFORM
    try:
        return check_platform_name(name, "--platform")
    except UsageError as err:
        raise pytest.UsageError(str(err)) from None


def _skip_other_platforms(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the tests of a module whose marker's `platforms=[...]` leaves this platform out."""
    current = platform(config)
    for item in items:
        marker = item.get_closest_marker("cluster")
        reason = marker and left_out(marker.kwargs, current)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


def _module_spec(item: pytest.Item | pytest.Module, config: pytest.Config) -> ClusterSpec | None:
    marker = item.get_closest_marker("cluster")
    return cluster_spec(marker, config, str(item.path)) if marker else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Platforms first (a module may leave this one out), then `--attach`."""
    _skip_other_platforms(config, items)
    _attached_only(config, items)


def _attached_only(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With --attach, only modules whose cluster marker has the live cluster's roles run."""
    name = config.getoption("harness_attach")
    if not name:
        return
    from harness.nodes.state import select

    def refuse(message: str) -> NoReturn:
        config.stash[REFUSED] = message  # `harness verify` prints it as its one line
        pytest.exit(f"harness: {message}", returncode=2)

    try:
        state = select(name)
    except UsageError as err:
        refuse(str(err))
    keep, drop = [], []
    for item in items:
        try:
            spec = _module_spec(item, config)
        except UsageError as err:
            refuse(str(err))
        if spec is not None and spec.roles == state["roles"]:
            keep.append(item)
        elif config.getoption("harness_attach_matching"):
            drop.append(item)
        else:
            roles = spec.roles if spec else "no cluster marker"
            refuse(f"{item.path}: spec roles {roles} do not match cluster {name}'s "
                   f"{state['roles']}")
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Wait for the containers of the last clusters: nothing may outlive the run."""
    removals = session.config.stash.get(REMOVALS, None)
    if removals is None:  # configured without this plugin's configure hook
        return
    waited = removals.finish()
    removals.close()
    if waited >= 0.5:
        _progress(session.config)(f"removed the last clusters' containers ({waited:.1f} s)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test asking for `host` or `node` runs once per node of its module's cluster."""
    if "harness_node_name" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("cluster")
    if marker is None:
        return  # plain testinfra module: `host` falls back to testinfra's own choice
    try:
        names = cluster_spec(marker, metafunc.config, str(metafunc.definition.path)).node_names()
    except UsageError as err:
        pytest.fail(str(err), pytrace=False)
    metafunc.parametrize("harness_node_name", names, ids=names, scope="function")


def _progress(config: pytest.Config) -> Callable[[str], None]:
    capture = config.pluginmanager.getplugin("capturemanager")

    def say(line: str) -> None:
        """Long operations show what they do, even while pytest captures output."""
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            sys.stderr.write(f"[harness] {line}\n")
            sys.stderr.flush()
    return say


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest) -> Iterator[RunningCluster]:
    """The module's running cluster (harness.nodes.cluster.Cluster; with --attach, the live
    cluster's harness.nodes.running.RunningCluster)."""
    config = request.config
    try:
        spec = _module_spec(request.node, config)
    except UsageError as err:
        pytest.fail(str(err), pytrace=False)
    if spec is None:
        pytest.fail(f"{request.node.path}: no cluster marker; add "
                    "pytestmark = pytest.mark.cluster(ROLE=COUNT, env=ENV)", pytrace=False)
    if config.getoption("harness_attach"):  # `harness verify`: attached, not owned
        from harness.nodes.attach import attach_named

        try:
            live = attach_named(config.getoption("harness_attach"), _progress(config))
        except HarnessError as err:
            pytest.fail(f"{type(err).__name__}: {err}", pytrace=False)
        try:
            yield config.stash[CLUSTERS].setdefault(request.node.nodeid, live)
        finally:
            live.close_hosts()
        return
    # Lazy: aiohttp, the docker SDK and restore are paid only by a pytest process (and xdist
    # worker) that brings up a cluster (decision 21)
    from harness.nodes.cluster import Cluster

    name = Path(str(request.node.path)).stem.removeprefix("test_").replace("_", "-")
    destroy = config.getoption("harness_destroy")
    the_cluster = Cluster(name, spec, repo_dir=repo_dir(config),
                          image=config.getoption("harness_image"), progress=_progress(config),
                          keep_failed=destroy != "always",
                          node_disk=config.getoption("harness_node_disk"),
                          removals=config.stash[REMOVALS],
                          package_layer=config.getoption("harness_package_layer"))
    modid = request.node.nodeid
    config.stash[CLUSTERS][modid] = the_cluster
    try:
        try:
            the_cluster.up()
        except HarnessError as err:
            config.stash[FAILED].add(modid)
            pytest.fail(f"{type(err).__name__}: {err.with_log()}", pytrace=False)
        yield the_cluster
    finally:
        keep = destroy == "never" or (destroy == "passing" and modid in config.stash[FAILED])
        if keep and the_cluster.server is not None:
            from harness.nodes.handover import hand_over

            hand_over(the_cluster, _progress(config))
        elif keep:  # it failed before its server was up: nothing to converge or verify
            the_cluster.keep()
            _progress(config)(f"kept the containers of cluster {the_cluster.name}; "
                              "`harness clean` removes them")
        else:
            the_cluster.down(wait=False)  # disk layers go in the background: REMOVALS
        config.stash[CLUSTERS].pop(modid, None)

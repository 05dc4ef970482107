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
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import testinfra
from pluggy import Result

from harness.errors import HarnessError, UsageError
from harness.nodes.layermode import HELP as LAYER_HELP
from harness.nodes.layermode import MODES as LAYER_MODES
from harness.nodes.ramdisk import NODE_DISKS
from harness.nodes.removals import Removals
from harness.nodes.spec import ClusterSpec
from harness.repo import repo_backup

if TYPE_CHECKING:  # the cluster module loads only when a module asks for a cluster (below)
    from harness.nodes.cluster import Cluster

CLUSTERS = pytest.StashKey[dict[str, "Cluster"]]()   # module nodeid -> Cluster
FAILED = pytest.StashKey[set[str]]()                 # module nodeids with a failed test
REMOVALS = pytest.StashKey[Removals]()               # the clusters' background removals


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "role harness")
    group.addoption("--repo", default=None, help="config repo directory (default: the rootdir)")
    group.addoption("--env", dest="harness_env", default=None,
                    help="run every spec in this environment instead of its marker's")
    group.addoption("--keep-failed", action="store_true",
                    help="keep the containers of a cluster with a failed test and print how to log in")
    group.addoption("--image", dest="harness_image", default=None,
                    help="node image to use instead of the base image built from images/")
    group.addoption("--node-disk", dest="harness_node_disk", default="auto", choices=NODE_DISKS,
                    help="where nodes keep what they write to /usr and /var: ram (an overlay on "
                         "a tmpfs, fast teardown), disk (the container's layer) or auto (ram "
                         "when the engine's host has 7 GiB or more; default)")
    group.addoption("--package-layer", dest="harness_package_layer", default="auto",
                    choices=LAYER_MODES, help=LAYER_HELP)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cluster(**roles, env=..., from_backup=...): the cluster a role "
                            "spec module brings up, e.g. cluster(zookeeper=3, env='production')")
    config.stash[CLUSTERS] = {}
    config.stash[FAILED] = set()
    config.stash[REMOVALS] = Removals()
    config.pluginmanager.register(NodeFixtures(), "harness-node-fixtures")


def repo_dir(config: pytest.Config) -> Path:
    return Path(config.getoption("--repo") or config.rootpath).resolve()


def cluster_spec(marker: pytest.Mark, config: pytest.Config, where: str) -> ClusterSpec:
    """Validate a cluster marker: role=count pairs, env, optional from_backup."""
    kwargs = dict(marker.kwargs)
    backup = kwargs.pop("from_backup", None)
    return ClusterSpec.from_marker(marker.args, kwargs, where=where,
                                   env_override=config.getoption("harness_env"),
                                   from_backup=repo_backup(repo_dir(config), backup))


def _module_spec(item: pytest.Item | pytest.Module, config: pytest.Config) -> ClusterSpec | None:
    marker = item.get_closest_marker("cluster")
    return cluster_spec(marker, config, str(item.path)) if marker else None


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
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """The module's running cluster (harness.nodes.cluster.Cluster)."""
    # aiohttp, the docker SDK, restore: ~0.5 s more per pytest process (and xdist worker),
    # paid only by a run that brings up a cluster
    from harness.nodes.cluster import Cluster

    config = request.config
    try:
        spec = _module_spec(request.node, config)
    except UsageError as err:
        pytest.fail(str(err), pytrace=False)
    if spec is None:
        pytest.fail(f"{request.node.path}: no cluster marker; add "
                    "pytestmark = pytest.mark.cluster(ROLE=COUNT, env=ENV)", pytrace=False)
    name = Path(str(request.node.path)).stem.removeprefix("test_").replace("_", "-")
    the_cluster = Cluster(name, spec, repo_dir=repo_dir(config),
                          image=config.getoption("harness_image"), progress=_progress(config),
                          keep_failed=config.getoption("--keep-failed"),
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
        keep = config.getoption("--keep-failed") and modid in config.stash[FAILED]
        if keep:
            the_cluster.keep()
            say = _progress(config)
            say(f"kept cluster {the_cluster.name} after a failure; log in with:")
            for node in the_cluster.nodes.values():
                say(f"  docker exec -it {node.container} bash    # node {node.name}")
        else:
            the_cluster.down(wait=False)  # disk layers go in the background: REMOVALS
        config.stash[CLUSTERS].pop(modid, None)


class NodeFixtures:
    """`host`, `node` and their parameter, registered at configure time.

    pytest-testinfra also defines `host`; a plugin registered later wins, and testinfra's entry
    point loads after ours. In a module without a cluster marker `host` keeps testinfra's
    meaning (`--hosts`, `testinfra_hosts`, else local), restricted to the first host.
    """

    @pytest.fixture
    def harness_node_name(self, request: pytest.FixtureRequest) -> str | None:
        """Parametrised by pytest_generate_tests in cluster modules; None elsewhere."""
        return getattr(request, "param", None)

    @pytest.fixture
    def node(self, request: pytest.FixtureRequest, harness_node_name: str | None) -> Any:
        """The Node (name, role, ip, container) this test run is about."""
        if harness_node_name is None:
            pytest.fail(f"{request.node.path}: `node` needs a cluster marker", pytrace=False)
        return request.getfixturevalue("cluster").nodes[harness_node_name]

    @pytest.fixture
    def host(self, request: pytest.FixtureRequest, harness_node_name: str | None) -> Any:
        """The testinfra Host of this test run's node."""
        if harness_node_name is None:
            config = request.config
            spec = (config.option.hosts.split(",")[0] if getattr(config.option, "hosts", None)
                    else (getattr(request.module, "testinfra_hosts", None) or ["local://"])[0])
            return testinfra.get_host(spec)
        return request.getfixturevalue("hosts")[harness_node_name]


@pytest.fixture(scope="module")
def hosts(cluster: Cluster) -> dict[str, Any]:
    """{node name: testinfra Host} for every node of the cluster."""
    return dict(sorted(cluster.hosts().items()))


@pytest.fixture(scope="module")
def hosts_by_role(cluster: Cluster, hosts: dict[str, Any]) -> dict[str, list[Any]]:
    """{role: [testinfra Host, ...]} in node-name order."""
    out: dict[str, list[Any]] = {}
    for name in sorted(cluster.nodes):
        out.setdefault(cluster.nodes[name].role, []).append(hosts[name])
    return out


@pytest.fixture
def report(cluster: Cluster, harness_node_name: str) -> dict[str, Any]:
    """The node's last converge report."""
    return cluster.reports[harness_node_name][-1]


@pytest.fixture
def policy(cluster: Cluster, harness_node_name: str) -> dict[str, Any]:
    """The node's compiled policy, as the config server computes it now."""
    assert cluster.client is not None  # the fixture yields a cluster that is up
    doc: dict[str, Any] = cluster.client.get(f"/nodes/{harness_node_name}/policy")
    return doc


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, Result[pytest.TestReport], None]:
    """On failure, attach each affected node's diagnostics to the report."""
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed or item.get_closest_marker("cluster") is None:
        return
    modid = item.nodeid.split("::")[0]
    item.config.stash[FAILED].add(modid)
    the_cluster = item.config.stash[CLUSTERS].get(modid)
    if the_cluster is None:
        return
    callspec = getattr(item, "callspec", None)
    name = callspec.params.get("harness_node_name") if callspec else None
    for node_name in [name] if name else sorted(the_cluster.nodes):
        try:
            text = the_cluster.diagnostics(node_name)
        except HarnessError as err:  # the node may be gone; say so instead of hiding the failure
            text = f"(no diagnostics: {err})"
        rep.sections.append((f"harness diagnostics: {node_name}", text))

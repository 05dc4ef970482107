"""The fixtures role specs use, and the failure report hook (registered by harness.pytest_plugin).

`cluster` itself lives in the plugin (it brings clusters up and down); everything here only
reads the cluster a module got: testinfra hosts, the node, its last report and policy, and
`unit_converge` for container-free tests.
"""
from __future__ import annotations

from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import testinfra
from pluggy import Result

from harness.errors import HarnessError
from harness.nodes.removals import Removals

if TYPE_CHECKING:
    from harness.nodes.running import RunningCluster
    from harness.unit import UnitRun

CLUSTERS = pytest.StashKey[dict[str, "RunningCluster"]]()  # module nodeid -> its cluster
FAILED = pytest.StashKey[set[str]]()                 # module nodeids with a failed test
REMOVALS = pytest.StashKey[Removals]()               # the clusters' background removals
REFUSED = pytest.StashKey[str]()                     # --attach: why the run was refused


def repo_dir(config: pytest.Config) -> Path:
    return Path(config.getoption("--repo") or config.rootpath).resolve()


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
def hosts(cluster: RunningCluster) -> dict[str, Any]:
    """{node name: testinfra Host} for every node of the cluster."""
    return dict(sorted(cluster.hosts().items()))


@pytest.fixture(scope="module")
def hosts_by_role(cluster: RunningCluster, hosts: dict[str, Any]) -> dict[str, list[Any]]:
    """{role: [testinfra Host, ...]} in node-name order."""
    out: dict[str, list[Any]] = {}
    for name in sorted(cluster.nodes):
        out.setdefault(cluster.nodes[name].role, []).append(hosts[name])
    return out


@pytest.fixture
def report(cluster: RunningCluster, harness_node_name: str) -> dict[str, Any]:
    """The node's last converge report."""
    return cluster.reports[harness_node_name][-1]


@pytest.fixture
def policy(cluster: RunningCluster, harness_node_name: str) -> dict[str, Any]:
    """The node's compiled policy, as the config server computes it now."""
    assert cluster.client is not None  # the fixture yields a cluster that is up
    doc: dict[str, Any] = cluster.client.get(f"/nodes/{harness_node_name}/policy")
    return doc


@pytest.fixture
def unit_converge(request: pytest.FixtureRequest) -> Callable[..., UnitRun]:
    """harness.unit.converge with repo= this session's repo (--repo, default the rootdir):
    no containers. Imported here, not at module level: 0.2 s that cluster specs never need."""
    from harness.unit import converge

    def run(run_list: str | list[str], **kwargs: Any) -> UnitRun:
        kwargs.setdefault("repo", repo_dir(request.config))
        return converge(run_list, **kwargs)
    return run


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

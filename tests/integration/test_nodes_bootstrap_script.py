"""The production bootstrap's failures in a real node: each one clear line, non-zero exit."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import BootstrapError
from harness.nodes import bootstrap as nb
from tests.integration.nodes_support import bare_session

pytestmark = pytest.mark.docker
SCRIPT = (Path(__file__).resolve().parents[2] / "bootstrap" / "bootstrap.sh").read_bytes()


@pytest.fixture(scope="module")
def box(engine, base_image):
    """One booted node on its own labelled network, with the bootstrap script copied in."""
    with bare_session(engine, "it-bootstrap") as session:
        node = session.node(base_image, "lonely-1")
        nb.wait_systemd(engine, node)
        yield engine, node, session.net


def install(engine, node) -> None:
    """What an operator copies to a fresh host: the script and the validator token."""
    engine.put_file(node.container, nb.BOOTSTRAP_PATH, SCRIPT, 0o755)
    engine.put_file(node.container, nb.VALIDATOR_TOKEN_PATH, b"not-a-real-token\n", 0o600)


def run(engine, node, *args: str) -> tuple[int, str]:
    install(engine, node)
    return engine.exec(node.container, ["bash", nb.BOOTSTRAP_PATH, *args])


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


def test_unreachable_server_is_one_clear_line(box):
    engine, node, net = box
    url = f"http://{net.gateway}:9"  # discard port: nothing listens
    cmd = nb.bootstrap_command(url, node, "_default")
    install(engine, node)
    with pytest.raises(BootstrapError) as info:
        nb.run_bootstrap(engine, node, cmd)
    err = info.value
    assert err.node == "lonely-1"
    assert f"bootstrap: cannot reach {url}" in str(err) and "\n" not in str(err)
    assert f"downloading the agent from {url}" in err.log_tail


def test_refused_token_says_so(box):
    from harness.server.serve import ConfigServer

    engine, node, net = box
    with ConfigServer(host=net.gateway, port=0) as server:
        rc, out = run(engine, node, "--server", server.url, "--node", node.name,
                      "--role", "lonely", "--validator-token-file", nb.VALIDATOR_TOKEN_PATH)
    assert rc == 1
    assert last_line(out) == ("bootstrap: the server refused the agent download (HTTP 401): "
                              "check the validator token")


@pytest.mark.parametrize("args, message", [
    ((), "bootstrap: missing --server URL"),
    (("--server", "http://x", "--node", "n"), "bootstrap: missing --run-list ITEMS or --role ROLE"),
    (("--server", "http://x", "--node", "n", "--role", "r", "--run-list", "recipe[a]"),
     "bootstrap: give --run-list or --role, not both"),
    (("--server", "http://x", "--node", "n", "--role", "r", "--validator-token-file", "/nope"),
     "bootstrap: cannot read validator token file /nope"),
    (("--bogus",), "bootstrap: unknown argument: --bogus (see --help)"),
])
def test_bad_arguments(box, args, message):
    engine, node, _ = box
    rc, out = run(engine, node, *args)
    assert rc != 0 and last_line(out) == message


def test_apt_proxy_is_written_and_env_vars_work(box):
    engine, node, _ = box
    install(engine, node)
    rc, out = engine.exec(node.container, ["bash", nb.BOOTSTRAP_PATH], env={
        "HARNESS_SERVER": "http://127.0.0.1:9", "HARNESS_NODE": "n", "HARNESS_ROLE": "r",
        "HARNESS_VALIDATOR_TOKEN_FILE": nb.VALIDATOR_TOKEN_PATH,
        "HARNESS_APT_PROXY": "http://proxy.invalid:3142"})
    assert rc == 1 and "cannot reach http://127.0.0.1:9" in last_line(out)
    conf = engine.exec(node.container, ["cat", "/etc/apt/apt.conf.d/01proxy"])[1]
    assert conf.strip() == 'Acquire::http::Proxy "http://proxy.invalid:3142";'
    engine.exec(node.container, ["rm", "/etc/apt/apt.conf.d/01proxy"])

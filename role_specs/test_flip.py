"""Etsy's knife flip, end to end: try the repo's app 1.1.0 on one production node, then put
it back.

Production pins app 1.0.0, a version only the production backup has (`backup/`, restored
under the repo in every cluster); `testing` pins nothing, so a node flipped there runs the
repo's 1.1.0, whose answer also names the address that answered. The node serves 1.0.0;
`cluster.flip` moves it to testing (the server's depsolver says app goes 1.0.0 -> 1.1.0), a
converge installs 1.1.0 and the answer over HTTP changes; flipping back and converging
serves 1.0.0 again. Every HTTP request goes from the test process to the node's address.

The steps are separate tests that run in file order (pytest keeps a module's order) and
each starts from the state the previous one left: when one fails, the later ones fail too,
so read the first failure. The base checks (imported below) run first, on the freshly
converged cluster.
"""
from __future__ import annotations

import pytest

from harness.waits import eventually
from role_specs.base_checks import *  # noqa: F401,F403  (base checks on every node)
from role_specs.support import data_bag_item, http_get, http_json

pytestmark = pytest.mark.cluster(app=1, env="production")

NODE = "app-1"
PORT = 8080
CONFIG = "/etc/app/app.conf"
# What a version change of the app cookbook must touch: code, config, a restart.
APP_RESOURCES = {"cookbook_file[/usr/local/lib/app/app.py]", f"template[{CONFIG}]",
                 "service[app]"}


def served(ip: str) -> tuple[dict, str]:
    """(JSON answer of GET /, Server header), once the service accepts connections."""
    def get() -> tuple[dict, str]:
        answer = http_json(ip, PORT)
        return answer, http_get(ip, PORT)[2]["server"]
    return eventually(get, timeout=30, what=f"app on {ip}:{PORT}")


def environment_on_server(cluster) -> str:
    return cluster.client.get(f"/nodes/{NODE}")["chef_environment"]


def diff_lines(log: str, path: str) -> list[str] | None:
    """The diff the agent logged under `- update content of PATH`; None when not updated."""
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith(f"- update content of {path} "):
            diff = []
            for following in lines[i + 1:]:
                if not following.startswith(" " * 8):
                    break
                diff.append(following.strip())
            return diff
    return None


def assert_password_file_logged_without_diff(log: str) -> None:
    """app.conf is `sensitive`: its update is logged without a diff (motd, which is not, has
    one, so the agent did log diffs in this run) and the password appears nowhere."""
    assert diff_lines(log, CONFIG) == [], f"{CONFIG} (sensitive) was logged with a diff"
    assert diff_lines(log, "/etc/motd"), f"no diff logged for /etc/motd:\n{log}"
    assert data_bag_item("app", "secrets")["db_password"] not in log


def test_production_serves_app_1_0_0(cluster):
    ip = cluster.nodes[NODE].ip
    policy = cluster.client.get(f"/nodes/{NODE}/policy")
    assert (policy["chef_environment"], policy["cookbook_versions"]["app"]) == \
        ("production", "1.0.0")
    answer, server = served(ip)
    assert answer == {"node": NODE, "environment": "production", "release": "1.0.0"}
    assert server.startswith("app/1.0.0 "), server


def test_flip_to_testing_then_converge_serves_app_1_1_0(cluster):
    ip = cluster.nodes[NODE].ip
    assert cluster.flip(NODE, "testing") == [("app", "1.0.0", "1.1.0")]
    assert environment_on_server(cluster) == "testing"
    # Nothing happens on the node until its agent runs.
    assert served(ip)[0]["release"] == "1.0.0"

    report = cluster.converge(NODE)
    assert report["status"] == "success", report["failure"]
    assert APP_RESOURCES <= set(report["changed"]), report["changed"]
    assert_password_file_logged_without_diff(cluster.logs[NODE])

    answer, server = served(ip)
    assert answer == {"node": NODE, "environment": "testing", "release": "1.1.0",
                      "address": ip}
    assert server.startswith("app/1.1.0 "), server


def test_testing_converges_again_without_changes(cluster):
    assert environment_on_server(cluster) == "testing"
    report = cluster.converge(NODE)
    assert (report["status"], report["changed"]) == ("success", [])


def test_flip_back_to_production_then_converge_serves_app_1_0_0(cluster):
    ip = cluster.nodes[NODE].ip
    assert cluster.flip(NODE, "production") == [("app", "1.1.0", "1.0.0")]
    assert environment_on_server(cluster) == "production"

    report = cluster.converge(NODE)
    assert report["status"] == "success", report["failure"]
    assert APP_RESOURCES <= set(report["changed"]), report["changed"]
    assert_password_file_logged_without_diff(cluster.logs[NODE])

    answer, server = served(ip)
    assert answer == {"node": NODE, "environment": "production", "release": "1.0.0"}
    assert server.startswith("app/1.0.0 "), server


def test_production_converges_again_without_changes(cluster):
    assert environment_on_server(cluster) == "production"
    report = cluster.converge(NODE)
    assert (report["status"], report["changed"]) == ("success", [])

"""Role app: our HTTP service answers with the node's name; its database password comes
from an encrypted data bag item and sits in a file only the service user can read."""
from __future__ import annotations

import pytest

from harness.repo.encrypted import is_encrypted
from harness.waits import eventually
from role_specs.base_checks import *  # noqa: F401,F403  (base checks on every node)
from role_specs.support import data_bag_item, http_get, http_json

pytestmark = pytest.mark.cluster(app=1, env="production")

PORT = 8080
CONFIG = "/etc/app/app.conf"


def test_http_200_with_the_node_name(node, policy):
    answer = eventually(lambda: http_json(node.ip, PORT), timeout=30, what="app on 8080")
    # Production pins app 1.0.0 (from backup/); the repo's 1.1.0 is test_flip.py's.
    assert policy["cookbook_versions"]["app"] == "1.0.0"
    assert answer == {"node": node.name, "environment": policy["chef_environment"],
                      "release": "1.0.0"}


def test_health_and_unknown_paths(node):
    status, body, _ = http_get(node.ip, PORT, "/health")
    assert (status, body) == (200, "ok\n")
    assert http_get(node.ip, PORT, "/nope")[0] == 404


def test_config_file_owned_by_the_service_user(host):
    config = host.file(CONFIG)
    assert (config.user, config.group, config.mode) == ("app", "app", 0o600)
    directory = host.file("/etc/app")
    assert (directory.user, directory.group, directory.mode) == ("root", "app", 0o750)


def test_password_comes_from_the_encrypted_item(host, cluster):
    # On the config server the item is stored encrypted (Chef v3); the node decrypted it.
    assert is_encrypted(cluster.client.get("/data/app/secrets"))
    password = data_bag_item("app", "secrets")["db_password"]
    assert f"password = {password}" in host.file(CONFIG).content_string.splitlines()


def test_password_is_not_world_readable(host):
    assert host.file(CONFIG).mode & 0o007 == 0
    for other in ("nobody", "ops"):
        denied = host.run("runuser -u %s -- cat %s", other, CONFIG)
        assert denied.rc != 0 and "Permission denied" in denied.stderr, other


def test_service_runs_as_the_app_user(host):
    service = host.service("app")
    assert service.is_running and service.is_enabled
    pid = host.check_output("systemctl show -p MainPID --value app")
    assert host.check_output("ps -o user= -p %s", pid) == "app"
    app_user = host.user("app")
    assert app_user.shell == "/usr/sbin/nologin" and app_user.uid < 1000

"""Issue 14 items 2, 6 and 7 at the server's door and in the server/backup CLI: no bad string
poisons the store, what the server stores backup can write, and the smaller holes (garbage
multipart, long URLs, the open health check, token files, unbounded reports, tracebacks)."""
from __future__ import annotations

import json
import os
import stat
import warnings

import pytest

from harness.cli import main
from harness.client import Client
from harness.errors import ServerError, UsageError
from harness.nodes.bootstrap import read_bootstrap_inputs
from harness.repo import load_secret
from harness.repo.limits import MAX_REPORT_BYTES, MAX_REPORTS, MIN_TOKEN
from harness.restore import backup
from harness.server import serve
from harness.server.serve import ConfigServer


@pytest.fixture
def server():
    with ConfigServer(agent_pyz=b"PYZ") as srv:
        yield srv



def send(http, server, method, path, body=b"", token=None, **headers):
    token = server.admin_token if token is None else token
    response = http.request(method, server.url + path, body=body or None,
                            headers={"Authorization": f"Bearer {token}", **headers})
    return response.status, response.headers.get("Content-Type", ""), response.data


# --- item 2 ------------------------------------------------------------------------------------
@pytest.mark.parametrize("path, body", [
    ("/nodes/n", b'{"normal": {"x": "\\ud800"}}'),
    ("/nodes/n", b'{"normal": {"\\udfff": 1}}'),
    ("/data/bag/n", b'{"id": "n", "x": ["\\ud800"]}'),
    ("/roles/n", b'{"description": "\\ud800"}'),
])
def test_a_lone_surrogate_is_refused_before_anything_is_stored(server, http, tmp_path, path,
                                                               body):
    server.store.create_bag("bag")
    status, kind, data = send(http, server, "PUT", path, body)
    assert status == 400 and "lone surrogate" in json.loads(data)["error"][0]
    assert send(http, server, "GET", path)[0] == 404
    assert send(http, server, "GET", "/search/node?q=*:*")[0] == 200
    backup(Client(server.url, server.admin_token), tmp_path / "backup")


def test_a_lone_surrogate_in_a_bulk_body_changes_nothing(server, http):
    body = b'{"roles": {"ok": {}}, "nodes": {"n": {"normal": {"x": "\\ud800"}}}}'
    status, _, data = send(http, server, "POST", "/_bulk", body)
    assert status == 400 and "lone surrogate" in data.decode()
    assert server.store.names("role") == []


# --- item 7 ------------------------------------------------------------------------------------
@pytest.mark.parametrize("body, content_type", [
    (b"garbage", "multipart/form-data"),
    (b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\nabc", "multipart/form-data; boundary=x"),
    (b"\x00\xff" * 100, 'multipart/mixed; boundary=""'),
])
def test_a_garbage_multipart_upload_is_a_400(server, http, body, content_type):
    status, kind, data = send(http, server, "POST", "/file_store", body,
                              **{"Content-Type": content_type})
    assert status == 400 and kind.startswith("application/json"), data
    assert send(http, server, "GET", "/")[0] == 200


@pytest.mark.parametrize("path, headers", [
    ("/roles/" + "a" * 9000, {}),
    ("/roles", {"X-Long": "b" * 9000}),
])
def test_a_request_line_over_8190_bytes_is_a_json_400(server, http, path, headers):
    status, kind, data = send(http, server, "GET", path, **headers)
    assert status == 400 and kind.startswith("application/json")
    assert json.loads(data) == {"error": ["request line or header longer than 8190 bytes"]}
    assert send(http, server, "GET", "/")[0] == 200


def test_the_health_check_is_open_whatever_the_token(server, http):
    """contracts.md: `GET /` is open to anyone; a stale token does not close it."""
    assert send(http, server, "GET", "/", token="stale")[0] == 200
    assert send(http, server, "GET", "/roles", token="stale")[0] == 401


def test_reports_are_bounded_in_size_and_number(server):
    store = server.store
    with pytest.raises(UsageError, match="limit is"):
        store.add_report("web1", {"log": "x" * MAX_REPORT_BYTES})
    for i in range(MAX_REPORTS * 3):
        store.add_report("web1", {"n": i})
    assert len(store.reports("web1")) == MAX_REPORTS


def test_serve_refuses_a_token_file_others_can_read(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("a-long-enough-admin-token\n")
    token_file.chmod(0o644)
    with pytest.raises(UsageError, match="readable by others .mode 0644.: chmod 600"):
        serve.admin_token(token_file)
    token_file.chmod(0o600)
    assert serve.admin_token(token_file) == "a-long-enough-admin-token"


def test_serve_refuses_a_short_token(tmp_path, capsys):
    token_file = tmp_path / "token"
    token_file.write_text("x\n")
    token_file.chmod(0o600)
    assert main(["serve", "--token-file", str(token_file)]) == 2
    assert f"use at least {MIN_TOKEN}" in capsys.readouterr().err
    fresh = tmp_path / "fresh"
    assert len(serve.admin_token(fresh)) >= MIN_TOKEN
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


@pytest.mark.parametrize("target", ["/proc/x", "loop"])
def test_backup_into_an_impossible_place_is_one_line(server, tmp_path, capsys, target):
    token = tmp_path / "token"
    token.write_text(server.admin_token)
    if target == "loop":
        os.symlink("loop", tmp_path / "loop")
        target = str(tmp_path / "loop")
    code = main(["backup", "--server", server.url, "--token-file", str(token), "--to", target])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1 and target in err


@pytest.mark.parametrize("url", ["not-a-url", "ftp://host", "http://"])
def test_a_bad_server_url_is_a_usage_error(tmp_path, capsys, url):
    token = tmp_path / "token"
    token.write_text("t" * 20)
    code = main(["flip", "web1", "prod", "--server", url, "--token-file", str(token)])
    assert code == 2 and capsys.readouterr().err == \
        f"harness: bad server URL {url!r}: want http://HOST:PORT\n"
    with pytest.raises(UsageError):
        Client(url, "t")


def test_a_readable_secret_is_warned_about_at_use(tmp_path):
    secret = tmp_path / ".chef" / "encrypted_data_bag_secret"
    secret.parent.mkdir()
    secret.write_bytes(b"s3cret\n")
    (tmp_path / "bootstrap").mkdir()
    (tmp_path / "bootstrap/bootstrap.sh").write_text("#!/bin/sh\n")
    secret.chmod(0o644)
    with pytest.warns(UserWarning, match="readable by group or others .mode 0644.; chmod 600"):
        assert load_secret(secret) == b"s3cret"
    with pytest.warns(UserWarning, match="chmod 600"):
        assert read_bootstrap_inputs(tmp_path)[1] == b"s3cret\n"
    secret.chmod(0o600)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_secret(secret)


def test_ordinary_unicode_text_is_stored(server):
    """The checks above refuse only what breaks a limit: a normal node with unicode text."""
    client = Client(server.url, server.admin_token)
    client.put("/nodes/n", {"normal": {"motd": "héllo ✓ \U0001F600"}})
    assert client.get("/nodes/n")["normal"]["motd"] == "héllo ✓ \U0001F600"
    with pytest.raises(ServerError, match="404"):
        client.get("/nodes/missing")

"""HTTP routes: the auth matrix, bad requests answered in JSON, and the server keeps serving."""
from __future__ import annotations

import hashlib
import json

import pytest
import urllib3

from harness.server.serve import ConfigServer

FILE = b"print('hello')\n"
SHA = hashlib.sha256(FILE).hexdigest()
MANIFEST = {"metadata": {"depends": {}}, "files": [
    {"path": "recipes/default.py", "checksum": SHA, "size": len(FILE)}]}
ANON, VALIDATOR, WEB1, WEB2, WEB3, ADMIN = "anon", "validator", "web1", "web2", "web3", "admin"
EVERYONE = {ANON, VALIDATOR, WEB1, WEB2, WEB3, ADMIN}
READ = {WEB1, WEB2, WEB3, ADMIN}


@pytest.fixture
def server():
    with ConfigServer(agent_pyz=b"PYZ") as srv:
        srv.tokens = {ADMIN: srv.admin_token, ANON: None,
                      VALIDATOR: srv.store.create_client("validator", validator=True),
                      **{n: srv.store.create_client(n) for n in (WEB1, WEB2, WEB3)}}
        yield srv



def call(http, server, method, path, body=None, who=ADMIN, raw=None):
    headers = {"Authorization": f"Bearer {server.tokens[who]}"} if server.tokens.get(who) else {}
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    response = http.request(method, server.url + path, body=data, headers=headers)
    try:
        doc = json.loads(response.data)
    except ValueError:
        doc = response.data
    return response.status, doc


def _setup(store) -> None:
    """Fresh content for each principal's attempt (wipe keeps the clients and their tokens)."""
    store.wipe()
    for name in set(store.names("client")) - {VALIDATOR, WEB1, WEB2, WEB3}:
        store.delete("client", name)
    store.create_client("extra")
    store.put("role", "web", {"run_list": ["recipe[base]"]})
    store.put("environment", "prod", {})
    store.put("node", "web1", {"chef_environment": "prod", "run_list": ["role[web]"]})
    store.create_bag("users")
    store.put_item("users", "u1", {"id": "u1"})
    store.put_file(SHA, FILE)
    store.put_manifest("base", "1.0.0", MANIFEST)


MATRIX = [
    ("GET", "/", None, EVERYONE),
    ("GET", "/roles", None, READ),
    ("GET", "/roles/web", None, READ),
    ("POST", "/roles", {"name": "new"}, {ADMIN}),
    ("PUT", "/roles/web", {}, {ADMIN}),
    ("DELETE", "/roles/web", None, {ADMIN}),
    ("GET", "/environments/prod", None, READ),
    ("PUT", "/environments/prod", {}, {ADMIN}),
    ("POST", "/environments/prod/cookbook_versions", {"run_list": ["recipe[base]"]}, READ),
    ("GET", "/nodes", None, READ),
    ("GET", "/nodes/web1", None, READ),
    ("PUT", "/nodes/web1", {"chef_environment": "prod"}, {WEB1, ADMIN}),
    ("POST", "/nodes", {"name": "web3"}, {WEB3, ADMIN}),
    ("DELETE", "/nodes/web1", None, {ADMIN}),
    ("GET", "/nodes/web1/policy", None, {WEB1, ADMIN}),
    ("GET", "/clients", None, {ADMIN}),
    ("GET", "/clients/web1", None, {ADMIN}),
    ("POST", "/clients", {"name": "new1"}, {VALIDATOR, ADMIN}),
    ("POST", "/clients", {"name": "new2", "validator": True}, {ADMIN}),
    ("PUT", "/clients/extra", {"validator": False}, {ADMIN}),
    ("DELETE", "/clients/extra", None, {ADMIN}),
    ("GET", "/data", None, READ),
    ("POST", "/data", {"name": "newbag"}, {ADMIN}),
    ("GET", "/data/users", None, READ),
    ("POST", "/data/users", {"id": "u2"}, {ADMIN}),
    ("DELETE", "/data/users", None, {ADMIN}),
    ("GET", "/data/users/u1", None, READ),
    ("PUT", "/data/users/u1", {"id": "u1"}, {ADMIN}),
    ("DELETE", "/data/users/u1", None, {ADMIN}),
    ("GET", "/cookbooks", None, READ),
    ("GET", "/cookbooks/base", None, READ),
    ("GET", "/cookbooks/base/1.0.0", None, READ),
    ("PUT", "/cookbooks/base/1.0.0", MANIFEST, {ADMIN}),
    ("DELETE", "/cookbooks/base/1.0.0", None, {ADMIN}),
    ("POST", "/file_store/missing", {"checksums": [SHA]}, {ADMIN}),
    ("PUT", f"/file_store/{SHA}", FILE, {ADMIN}),
    ("GET", f"/file_store/{SHA}", None, READ),
    ("GET", "/search", None, READ),
    ("GET", "/search/node?q=role:web", None, READ),
    ("POST", "/reports/nodes/web1/runs", {"status": "success"}, {WEB1, ADMIN}),
    ("GET", "/reports/nodes/web1/runs", None, {ADMIN}),
    ("GET", "/agent/agent.pyz", None, {VALIDATOR, WEB1, WEB2, WEB3, ADMIN}),
    ("POST", "/_wipe", {}, {ADMIN}),
    ("POST", "/_restore", {}, {ADMIN}),
    ("POST", "/_restore/x/bulk", {}, {ADMIN}),
    ("POST", "/_restore/x/commit", {}, {ADMIN}),
    ("DELETE", "/_restore/x", None, {ADMIN}),
    ("GET", "/_snapshot", None, {ADMIN}),
]


@pytest.mark.parametrize("method, path, body, allowed", MATRIX,
                         ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_auth_matrix(server, http, method, path, body, allowed):
    for who in sorted(EVERYONE):
        _setup(server.store)
        raw = body if isinstance(body, bytes) else None
        status, doc = call(http, server, method, path, None if raw else body, who, raw)
        if who in allowed:  # a staged restore "x" does not exist: the admin gets past auth
            assert status < 300 or (status == 404 and "/_restore/x" in path), (who, status, doc)
        else:
            assert status == (401 if who == ANON else 403), (who, status, doc)
            assert isinstance(doc["error"], list) and doc["error"][0]


def test_unknown_token_is_401(server, http):
    response = http.request("GET", server.url + "/roles", headers={"Authorization": "Bearer x"})
    assert response.status == 401 and json.loads(response.data) == {"error": ["unknown token"]}


def test_validator_registers_a_node_and_gets_its_token(server, http):
    status, doc = call(http, server, "POST", "/clients", {"name": "db1"}, VALIDATOR)
    assert status == 201 and set(doc) == {"name", "token"}
    server.tokens["db1"] = doc["token"]
    assert call(http, server, "PUT", "/nodes/db1", {"run_list": []}, "db1")[0] == 201
    assert call(http, server, "PUT", "/nodes/web1", {}, "db1")[0] == 403  # not its own
    assert call(http, server, "POST", "/clients", {"name": "db1"}, VALIDATOR)[0] == 409


@pytest.mark.parametrize("method, path, raw, status, message", [
    ("PUT", "/roles/web", b"{not json", 400, "malformed JSON"),
    ("PUT", "/roles/web", b"\xff\xfe", 400, "malformed JSON"),
    ("PUT", "/roles/web", b"[" * 100000 + b"]" * 100000, 400, ""),
    ("PUT", "/roles/web", b'{"x": NaN}', 400, "NaN"),
    ("PUT", "/roles/web", b"[]", 400, "must be an object"),
    ("PUT", "/roles/web", b'{"run_list": {"a": 1}}', 400, "must be an array"),
    ("PUT", "/roles/%2e%2e", b"{}", 400, "bad role name"),
    ("PUT", "/roles/a%2Fb", b"{}", 400, "bad role name"),
    ("GET", "/nodes/..%2Fetc", None, 400, "bad node name"),
    ("PUT", "/data/users/%2E%2E", b'{"id": ".."}', 400, "bad item name"),
    ("PUT", "/roles/web", b'{"x": "' + b"a" * (4 * 1024 * 1024) + b'"}', 413, "larger than"),
    ("PUT", "/file_store/" + "0" * 64, b"x", 400, "checksum mismatch"),
    ("GET", "/search/node?q=role:", None, 400, "bad search query"),
    ("GET", "/search/node?rows=x", None, 400, "rows must be an integer"),
    ("POST", "/environments/_default/cookbook_versions", b'{"run_list": ["recipe[nope]"]}',
     412, "nope"),
    ("GET", "/no/such/route", None, 404, "Not Found"),
    ("PATCH", "/roles/web", b"{}", 405, "Method Not Allowed"),
    ("GET", "/roles/nope", None, 404, "no role 'nope'"),
    ("PUT", "/cookbooks/base/1.0.0", b'{"files": [{"path": "../x", "checksum": "%s"}]}'
     % SHA.encode(), 400, "bad cookbook file path"),
])
def test_bad_requests_get_json_errors_and_the_server_keeps_serving(
        server, http, method, path, raw, status, message):
    got, doc = call(http, server, method, path, raw=raw)
    assert got == status, doc
    assert isinstance(doc, dict) and len(doc["error"]) == 1 and message in doc["error"][0]
    assert call(http, server, "GET", "/")[0] == 200


def test_oversized_file_body_is_413(server, http):
    big = b"\0" * (64 * 1024 * 1024 + 1)
    status, doc = call(http, server, "PUT", "/file_store/" + "0" * 64, raw=big)
    assert status == 413 and doc["error"]
    assert call(http, server, "GET", "/")[0] == 200


def test_frozen_cookbook_put_with_other_content_is_409(server, http):
    _setup(server.store)
    assert call(http, server, "PUT", "/cookbooks/base/1.0.0?freeze=true", MANIFEST)[0] == 200
    other = {**MANIFEST, "metadata": {"description": "changed"}}
    status, doc = call(http, server, "PUT", "/cookbooks/base/1.0.0", other)
    assert status == 409 and "frozen" in doc["error"][0]
    assert call(http, server, "PUT", "/cookbooks/base/1.0.0", MANIFEST)[0] == 200


def test_missing_checksums_are_named(server, http):
    other = hashlib.sha256(b"other").hexdigest()
    manifest = {"files": [{"path": "a", "checksum": other}]}
    status, doc = call(http, server, "PUT", "/cookbooks/base/1.0.0", manifest)
    assert status == 400 and other in doc["error"][0]


def test_search_answers_total_start_rows(server, http):
    _setup(server.store)
    status, doc = call(http, server, "GET", "/search/node?q=chef_environment:prod&rows=5")
    assert status == 200 and doc["total"] == 1 and doc["start"] == 0
    assert doc["rows"][0]["name"] == "web1"


def test_agent_zipapp_is_built_lazily_once(http):
    calls = []

    def build() -> bytes:
        calls.append(1)
        return b"ZIPAPP"

    with ConfigServer(agent_pyz=build) as srv:
        srv.tokens = {ADMIN: srv.admin_token}
        for _ in range(2):
            assert call(http, srv, "GET", "/agent/agent.pyz") == (200, b"ZIPAPP")
    assert calls == [1]


def test_a_server_without_an_agent_answers_404(http):
    with ConfigServer() as srv:
        srv.tokens = {ADMIN: srv.admin_token}
        status, doc = call(http, srv, "GET", "/agent/agent.pyz")
    assert status == 404 and "without an agent.pyz" in doc["error"][0]


def _multipart(files: dict[str, bytes]) -> tuple[bytes, str]:
    return urllib3.encode_multipart_formdata([(c, (c, d, "application/octet-stream"))
                                              for c, d in files.items()])


@pytest.mark.parametrize("who", sorted(EVERYONE))
def test_bulk_and_multipart_upload_are_admin_only(server, http, who):
    expected = 200 if who == ADMIN else 401 if who == ANON else 403
    assert call(http, server, "POST", "/_bulk", {"roles": {"r": {}}}, who)[0] == expected
    body, content_type = _multipart({SHA: FILE})
    headers = {"Content-Type": content_type}
    if server.tokens.get(who):
        headers["Authorization"] = f"Bearer {server.tokens[who]}"
    response = http.request("POST", server.url + "/file_store", body=body, headers=headers)
    assert response.status == (201 if who == ADMIN else expected)


def test_multipart_upload_checks_every_file(server, http, monkeypatch):
    body, content_type = _multipart({SHA: FILE, "0" * 64: b"not that"})
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {server.admin_token}"}
    response = http.request("POST", server.url + "/file_store", body=body, headers=headers)
    assert response.status == 400 and b"checksum mismatch" in response.data
    assert server.store.missing_files([SHA]) == [SHA]
    status, doc = call(http, server, "POST", "/file_store", raw=b"{}")
    assert status == 400 and "multipart" in doc["error"][0]
    monkeypatch.setattr("harness.server.routes.MAX_BODY", 10)
    body, content_type = _multipart({SHA: FILE})
    headers["Content-Type"] = content_type
    response = http.request("POST", server.url + "/file_store", body=body, headers=headers)
    assert response.status == 413
    assert call(http, server, "GET", "/")[0] == 200


def test_a_bad_bulk_changes_nothing(server, http):
    status, doc = call(http, server, "POST", "/_bulk",
                       {"roles": {"ok": {}}, "nodes": {"n": {"run_list": "x"}}})
    assert status == 400 and "must be an array" in doc["error"][0]
    assert server.store.names("role") == []


def test_a_bug_in_a_handler_is_a_json_500_and_the_server_keeps_serving(server, http,
                                                                         monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(server.store, "names", broken)
    status, doc = call(http, server, "GET", "/roles")
    assert status == 500 and "boom" in doc["error"][0]
    monkeypatch.undo()
    assert call(http, server, "GET", "/roles") == (200, {})


def test_anonymous_creates_are_refused_before_the_body_is_read(server, http):
    status, doc = call(http, server, "POST", "/nodes", who=ANON, raw=b"{not even json")
    assert status == 401


def test_store_refuses_a_name_with_a_trailing_newline():
    """`^...$` would let "web\\n" through; the server shares the repo's name rule."""
    from harness.errors import UsageError
    from harness.repo.documents import check_name

    assert check_name("web-1", "node") == "web-1"
    for bad in ("web\n", "a/b", "..", "", 3):
        with pytest.raises(UsageError, match="bad node name"):
            check_name(bad, "node")

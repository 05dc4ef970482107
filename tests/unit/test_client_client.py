"""Client: token files, errors carrying the server's message, paging, files, threads."""
from __future__ import annotations

import hashlib
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness.client import Client
from harness.errors import ServerError, UsageError
from harness.server.serve import ConfigServer


@pytest.fixture(scope="module")
def server():
    with ConfigServer(agent_pyz=b"PYZ") as srv:
        yield srv


@pytest.fixture
def client(server):
    server.store.wipe()
    with Client(server.url, server.admin_token) as c:
        yield c


def test_from_token_file(tmp_path, server):
    path = tmp_path / "token"
    with pytest.raises(UsageError, match="token file not found") as err:
        Client.from_token_file(server.url, path)
    assert str(path) in str(err.value)
    path.write_text("  \n")
    with pytest.raises(UsageError, match="empty") as err:
        Client.from_token_file(server.url, path)
    assert str(path) in str(err.value)
    path.write_text(server.admin_token + "\n")
    assert Client.from_token_file(server.url, path).get("/roles") == {}


def test_server_errors_carry_status_and_message(client):
    with pytest.raises(ServerError) as err:
        client.get("/roles/nope")
    assert err.value.status == 404 and "no role 'nope'" in str(err.value)
    with pytest.raises(ServerError) as err:
        client.put("/roles/web", {"run_list": "x"})
    assert err.value.status == 400 and "must be an array" in str(err.value)


def test_bad_token_is_401(server):
    with pytest.raises(ServerError) as err:
        Client(server.url, "wrong").get("/roles")
    assert err.value.status == 401


def test_connection_refused_names_the_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(ServerError, match=f"cannot reach config server at {url}") as err:
        Client(url, "t").get("/")
    assert err.value.status == 0


def test_search_pages_through_every_row(client, server):
    for i in range(2345):
        server.store.put("node", f"n{i:05d}", {"chef_environment": "_default"})
    rows = client.search("node", "chef_environment:_default")
    assert [r["name"] for r in rows] == [f"n{i:05d}" for i in range(2345)]
    assert client.search("node", "name:n0000*") == rows[:10]
    assert client.search("node", "name:nope") == []


def test_files_round_trip(client):
    data = bytes(range(256)) * 10
    checksum = hashlib.sha256(data).hexdigest()
    client.put_file(checksum, data)
    assert client.get_file(checksum) == data
    assert client.post("/file_store/missing", {"checksums": [checksum]}) == {"missing": []}


def test_one_client_is_safe_across_threads(client):
    client.put("/roles/web", {"description": "x"})
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: client.get("/roles/web")["description"], range(200)))
    assert results == ["x"] * 200


def test_run_all_runs_every_job_and_stops_at_the_first_failure():
    import threading

    from harness.client import run_all

    done, lock = [], threading.Lock()

    def job(i: int) -> None:
        with lock:
            done.append(i)
        if i == 3:
            raise ServerError("job 3 failed", status=500)

    run_all([lambda i=i: job(i) for i in range(100) if i != 3], workers=4)
    assert sorted(done) == [i for i in range(100) if i != 3]
    done.clear()
    with pytest.raises(ServerError, match="job 3 failed"):
        run_all([lambda i=i: job(i) for i in range(1000)], workers=4)
    assert 3 in done and len(done) < 1000  # the other workers gave up early

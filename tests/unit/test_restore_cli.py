"""`harness serve`, `harness restore`, `harness backup` through harness.cli.main: exit codes and
one clear line on bad input; `serve` as a real process answering SIGTERM."""
from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import UsageError
from harness.server.serve import ConfigServer

ROOT = Path(__file__).resolve().parents[2]


def _repo(root: Path) -> Path:
    (root / "roles").mkdir(parents=True)
    (root / "roles/web.json").write_text(json.dumps({"name": "web", "description": "w"}))
    return root


def _bad_repo(root: Path) -> Path:
    (root / "roles").mkdir(parents=True)
    (root / "roles/web.json").write_text("{broken")
    return root


def run(capsys, *argv: str) -> tuple[int, list[str], str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, err.splitlines(), out


@pytest.fixture
def server(tmp_path):
    with ConfigServer(agent_pyz=b"") as srv:
        srv.token_file = tmp_path / "admin.token"
        srv.token_file.write_text(srv.admin_token + "\n")
        yield srv


def test_serve_with_an_unwritable_token_file(tmp_path, capsys):
    code, err, _ = run(capsys, "serve", "--token-file", str(tmp_path / "no/dir/token"))
    assert code == 2 and len(err) == 1 and "cannot write token file" in err[0]
    assert err[0].startswith("harness: ")


def test_serve_with_a_bad_repo(tmp_path, capsys):
    code, err, _ = run(capsys, "serve", "--repo", str(_bad_repo(tmp_path / "repo")),
                       "--token-file", str(tmp_path / "t"))
    assert code == 2 and len(err) == 1 and "web.json:1: invalid JSON" in err[0]


def test_serve_on_a_busy_port(tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        code, err, _ = run(capsys, "serve", "--port", str(busy.getsockname()[1]),
                           "--token-file", str(tmp_path / "t"))
    assert code == 2 and len(err) == 1 and "cannot listen on 127.0.0.1:" in err[0]


def test_serve_runs_until_sigterm(tmp_path):
    token_file = tmp_path / "admin.token"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "serve", "--repo", str(_repo(tmp_path / "repo")),
         "--token-file", str(token_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        from harness.client import Client
        client = Client.from_token_file(url, token_file)
        assert client.get("/roles/web")["description"] == "w"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "restored" in proc.stderr.read()


def test_serve_reuses_an_existing_token(tmp_path, monkeypatch):
    from harness.server import serve

    token_file = tmp_path / "t"
    token_file.write_text("kept-token-of-20-chars\n")
    token_file.chmod(0o600)
    assert serve.admin_token(token_file) == "kept-token-of-20-chars"
    fresh = serve.admin_token(tmp_path / "new")
    assert len(fresh) > 30 and (tmp_path / "new").read_text().strip() == fresh


def test_restore_and_backup_happy_path(tmp_path, capsys, server):
    code, err, out = run(capsys, "restore", "--server", server.url, "--token-file",
                         str(server.token_file), "--repo", str(_repo(tmp_path / "repo")))
    assert code == 0 and err == [] and "restored" in out.splitlines()[-1]
    code, err, out = run(capsys, "backup", "--server", server.url, "--token-file",
                         str(server.token_file), "--to", str(tmp_path / "b"))
    assert code == 0 and (tmp_path / "b/roles/web.json").is_file() and "backed up" in out


def test_restore_with_a_missing_token_file(tmp_path, capsys, server):
    code, err, _ = run(capsys, "restore", "--server", server.url, "--token-file",
                       str(tmp_path / "nope"), "--repo", str(_repo(tmp_path / "repo")))
    assert code == 2 and err == [f"harness: {tmp_path / 'nope'}: token file not found"]


def test_restore_of_a_bad_repo(tmp_path, capsys, server):
    code, err, _ = run(capsys, "restore", "--server", server.url, "--token-file",
                       str(server.token_file), "--repo", str(_bad_repo(tmp_path / "repo")))
    assert code == 2 and len(err) == 1 and "invalid JSON" in err[0]


def test_restore_to_a_server_that_is_not_there(tmp_path, capsys):
    (tmp_path / "t").write_text("token")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    code, err, _ = run(capsys, "restore", "--server", url, "--token-file", str(tmp_path / "t"),
                       "--repo", str(_repo(tmp_path / "repo")))
    assert code == 1 and len(err) == 1 and f"cannot reach config server at {url}" in err[0]


def test_restore_with_a_wrong_token(tmp_path, capsys, server):
    (tmp_path / "t").write_text("wrong")
    code, err, _ = run(capsys, "restore", "--server", server.url, "--token-file",
                       str(tmp_path / "t"), "--repo", str(_repo(tmp_path / "repo")))
    assert code == 1 and err == ["harness: POST /file_store/missing: 401 unknown token"]


def test_backup_into_a_directory_that_is_not_a_backup(tmp_path, capsys, server):
    code, err, _ = run(capsys, "backup", "--server", server.url, "--token-file",
                       str(server.token_file), "--to", str(ROOT))
    assert code == 2 and len(err) == 1 and "not empty and not a backup" in err[0]


def test_a_server_listens_also_on_a_second_address_same_port_when_free():
    """A cluster restores on the loopback, then opens the server on its network's gateway
    (decision 62): same port when free there, else any; `url` names the new address."""
    with ConfigServer("127.0.0.1", 0) as server:
        port = server.port
        server.listen_also("127.0.0.2")
        assert server.url == f"http://127.0.0.2:{port}"
        with socket.socket() as busy:
            busy.bind(("127.0.0.3", port))
            busy.listen()
            server.listen_also("127.0.0.3")
        assert server.url.startswith("http://127.0.0.3:") and server.port != port
        for url in (f"http://127.0.0.1:{port}/", f"http://127.0.0.2:{port}/", server.url + "/"):
            with urllib.request.urlopen(url, timeout=5) as answer:
                assert answer.status == 200
        with pytest.raises(UsageError, match="cannot listen on 192.0.2.1"):
            server.listen_also("192.0.2.1")  # TEST-NET-1: never this machine's address


def test_listen_also_needs_a_started_server():
    with pytest.raises(UsageError, match="needs a started server"):
        ConfigServer("127.0.0.1", 0).listen_also("127.0.0.2")

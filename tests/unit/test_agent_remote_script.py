"""remote_file against a local HTTP server, and script/bash through a real shell.

remote_file: chef/chef lib/chef/provider/remote_file/content.rb (no download when the current
file's sha256 starts with `checksum`; `source` mirrors tried in order on connection or HTTP
errors) and lib/chef/provider/file.rb do_validate_content + lib/chef/mixin/checksum.rb
(after download the sha256 must equal `checksum`, case-insensitively, else ChecksumMismatch:
"Checksum on resource (xxxxxx...) does not match checksum on content (yyyyyy...)").
script/bash: lib/chef/provider/script.rb (command `"INTERPRETER" FLAGS`, code on stdin) and
lib/chef/resource/script.rb (`command` is refused in favour of `code`).
"""
from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from test_agent_support import context

from harness.agent import shell
from harness.agent.errors import ResourceFailure
from harness.agent.remote_file import RemoteFile
from harness.agent.script import Bash, Script

PAYLOAD = b"#!/bin/sh\necho tool v1\n"
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class Handler(BaseHTTPRequestHandler):
    files: dict[str, bytes] = {"/tool.sh": PAYLOAD}
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.hits.append(self.path)
        data = self.files.get(self.path)
        self.send_response(200 if data is not None else 404)
        self.end_headers()
        self.wfile.write(data or b"not found")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Handler.hits = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_then_checksum_match_skips_the_download(server, tmp_path):
    target = tmp_path / "tool.sh"
    ctx, lines = context()
    res = RemoteFile(ctx, str(target), source=f"{server}/tool.sh", checksum=SHA, mode="0755")
    assert res.apply("create") is True and target.read_bytes() == PAYLOAD
    assert oct(target.stat().st_mode & 0o777) == "0o755" and Handler.hits == ["/tool.sh"]
    again = RemoteFile(ctx, str(target), source=f"{server}/tool.sh", checksum=SHA[:10])
    assert again.apply("create") is False and not again.would_change("create")
    assert Handler.hits == ["/tool.sh"], "a matching checksum prefix means no request"


def test_without_checksum_it_fetches_and_compares(server, tmp_path):
    target = tmp_path / "tool.sh"
    ctx, _ = context()
    assert RemoteFile(ctx, str(target), source=f"{server}/tool.sh").apply("create") is True
    assert RemoteFile(ctx, str(target), source=f"{server}/tool.sh").apply("create") is False
    assert len(Handler.hits) == 2


def test_checksum_mismatch_fails_and_keeps_the_file(server, tmp_path):
    target = tmp_path / "tool.sh"
    target.write_bytes(b"old")
    ctx, _ = context()
    wrong = "ab" * 32
    res = RemoteFile(ctx, str(target), source=f"{server}/tool.sh", checksum=wrong)
    with pytest.raises(ResourceFailure, match=r"Checksum on resource \(ababab\.\.\.\) does not "
                                              rf"match checksum on content \({SHA[:6]}\.\.\.\)"):
        res.apply("create")
    assert target.read_bytes() == b"old"
    upper = RemoteFile(ctx, str(target), source=f"{server}/tool.sh", checksum=SHA.upper())
    assert upper.apply("create") is True, "after download the comparison ignores case"


def test_mirrors_are_tried_in_order(server, tmp_path):
    target = tmp_path / "tool.sh"
    ctx, lines = context()
    res = RemoteFile(ctx, str(target), source=[f"{server}/missing", "http://127.0.0.1:9/x",
                                               f"{server}/tool.sh"])
    assert res.apply("create") is True and target.read_bytes() == PAYLOAD
    assert any("cannot download" in line and "trying the next mirror" in line for line in lines)
    none = RemoteFile(ctx, str(tmp_path / "x"), source=[f"{server}/missing"])
    with pytest.raises(ResourceFailure, match="cannot download .*/missing: Not Found"):
        none.apply("create")
    assert not (tmp_path / "x").exists()


def test_bash_feeds_code_on_stdin_with_guards(tmp_path):
    ctx, _ = context(run=shell.run)
    out = tmp_path / "out"
    res = Bash(ctx, "write", code=f"set -e\narr=(a b c)\necho ${{arr[1]}} > {out}\n",
               cwd=str(tmp_path), creates=str(out))
    assert res.skip_reason() is None and res.apply("run") is True
    assert out.read_text() == "b\n"
    assert res.apply("run") is False, "creates: up to date (provider/execute.rb)"
    assert res.describe()["command"] == '"bash"'


def test_script_interpreter_flags_returns_and_failure(tmp_path):
    ctx, _ = context(run=shell.run)
    ok = Script(ctx, "py", interpreter="python3", flags="-I", code="import sys; sys.exit(3)",
                returns=[0, 3])
    assert ok.apply("run") is True
    bad = Bash(ctx, "fails", code="echo to-stderr >&2; exit 4")
    with pytest.raises(ResourceFailure, match="(?s)bash exited 4.*to-stderr"):
        bad.apply("run")
    with pytest.raises(ResourceFailure, match="use the 'code' property instead"):
        Bash(ctx, "x", command="ls")
    with pytest.raises(ResourceFailure, match="needs interpreter="):
        Script(ctx, "x", code="true")

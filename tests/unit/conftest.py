"""Fixtures several unit test modules share (a module may define its own of the same name)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3

from harness.client import Client
from harness.server.serve import ConfigServer


@pytest.fixture
def server() -> Iterator[ConfigServer]:
    """A fresh in-process config server on loopback (a placeholder agent: none is run)."""
    with ConfigServer(agent_pyz=b"PYZ") as srv:
        yield srv


@pytest.fixture
def http() -> Iterator[urllib3.PoolManager]:
    """A raw HTTP client that never retries: the server's own answer is what a test sees."""
    pool = urllib3.PoolManager(retries=False)
    yield pool
    pool.clear()


@pytest.fixture
def client(server: ConfigServer) -> Client:
    """The admin client of `server`."""
    return Client(server.url, server.admin_token)


@pytest.fixture(autouse=True, scope="session")
def chef_file_paths(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The agent's file resources keep Chef's backups of replaced and deleted files under
    /var/chef/backup and refused `verify` content under /var/chef/cache (harness/agent/
    backup.py): unit tests that converge files on tmp paths keep them in a temp dir instead
    of the host's /var/chef. A test that checks them reads these paths from the module."""
    from harness.agent import backup
    root = tmp_path_factory.mktemp("chef")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(backup, "FILE_BACKUP_PATH", str(root / "backup"))
        patch.setattr(backup, "FILE_CACHE_PATH", str(root / "cache"))
        yield root

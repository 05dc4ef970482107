"""Fixtures several unit test modules share (a module may define its own of the same name)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.client import Client
from harness.server.serve import ConfigServer


@pytest.fixture
def server() -> Iterator[ConfigServer]:
    """A fresh in-process config server on loopback (a placeholder agent: none is run)."""
    with ConfigServer(agent_pyz=b"PYZ") as srv:
        yield srv


@pytest.fixture
def client(server: ConfigServer) -> Client:
    """The admin client of `server`."""
    return Client(server.url, server.admin_token)

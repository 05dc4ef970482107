"""pytest edge of the harness (registered through the `pytest11` entry point).

Filled by the role-specs work: cluster marker, node fixtures, failure reports.
"""
from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cluster(**roles, env=...): the cluster a role spec module brings up")

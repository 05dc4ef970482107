"""Fixtures of the integration tests: a real Docker engine (started if needed) and the base image."""
from __future__ import annotations

import os

import pytest

# Integration tests run cold, as CI does (--package-layer auto is off when CI is set), and the
# pytest runs and keepers they start inherit it: only tests/integration/test_nodes_layers.py
# asks for layers, and it must be the only one that boots nodes from them (it removes and
# rebuilds its layers, which a node of another test would hold "in use").
os.environ.setdefault("CI", "true")


@pytest.fixture(scope="session")
def engine():
    """A live DockerBackend; the harness installs/starts dockerd like it does for specs."""
    from harness.nodes.engine import ensure_engine

    return ensure_engine(print)


@pytest.fixture(scope="session")
def base_image(engine) -> str:
    from harness.nodes.images import ensure_base_image

    return ensure_base_image(engine, print)


"""Fixtures of the integration tests: a real Docker engine (started if needed) and the base image."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def engine():
    """A live DockerBackend; the harness installs/starts dockerd like it does for specs."""
    from harness.nodes.engine import ensure_engine

    return ensure_engine(print)


@pytest.fixture(scope="session")
def base_image(engine) -> str:
    from harness.nodes.images import ensure_base_image

    return ensure_base_image(engine, print)


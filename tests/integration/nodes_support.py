"""Helpers shared by the nodes' integration tests."""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.nodes.bootstrap import Node
from harness.nodes.labels import node_labels
from harness.nodes.reaper import start_reaper, stop_reaper

NODE_REPO = Path(__file__).resolve().parents[1] / "fixtures" / "node_repo"


def leftovers(engine, session: str) -> list[dict]:
    """Every container or network still labelled with this session."""
    return [labels for labels in engine.labelled() if labels.get("harness.session") == session]


class Session:
    """A labelled session with its reaper and network, for tests that start bare nodes."""

    def __init__(self, engine, cluster: str) -> None:
        self.engine, self.id = engine, "t" + secrets.token_hex(5)
        self.labels = node_labels(self.id, cluster)
        self.net = None

    def node(self, image: str, name: str, ram_dirs: tuple[str, ...] = ()) -> Node:
        """Start a node container (not bootstrapped) named `<role>-<n>`."""
        node = Node(name, name.rsplit("-", 1)[0], f"h-{self.id}-{name}")
        node.ip = self.engine.run_node(
            image, node.container, name, self.net.name, [name],
            dict(self.labels, **{"harness.role": node.role, "harness.node": name}), ram_dirs).ip
        return node


@contextmanager
def bare_session(engine, cluster: str) -> Iterator[Session]:
    """Everything labelled with the session is gone afterwards, checked."""
    session = Session(engine, cluster)
    reaper = start_reaper(session.id)
    try:
        session.net = engine.create_network(f"h-{session.id}", session.labels)
        yield session
    finally:
        engine.remove_by_labels({"harness.session": session.id})
        stop_reaper(reaper)
        assert leftovers(engine, session.id) == []

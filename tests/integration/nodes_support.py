"""Helpers shared by the nodes' integration tests."""
from __future__ import annotations

from pathlib import Path

NODE_REPO = Path(__file__).resolve().parents[1] / "fixtures" / "node_repo"


def leftovers(engine, session: str) -> list[dict]:
    """Every container or network still labelled with this session."""
    return [labels for labels in engine.labelled() if labels.get("harness.session") == session]

"""Readiness helpers for role specs: `from harness.waits import eventually, wait_for_port`."""
from harness.nodes.waits import eventually, wait_for_port, wait_until

__all__ = ["eventually", "wait_for_port", "wait_until"]

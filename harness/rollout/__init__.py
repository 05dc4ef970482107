"""Environments and rollouts: Etsy's workflow around the config repo.

bump (cookbook version), promote (environment pin), check (pins and roles solve), allowlists
(host-pattern data bags), flip (move nodes between environments on the config server). File
edits keep every byte but the changed token; see docs/rollouts.md. Names load lazily so
`harness allowlist` does not pay for the depsolver.
"""
from importlib import import_module

_HOMES = {"add_pattern": "allowlist", "in_allowlist": "allowlist", "remove_pattern": "allowlist",
          "bump": "bump", "check": "check", "promote": "promote", "flip_node": "flip",
          "flip_nodes": "flip", "matching_nodes": "flip", "preview": "flip"}


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(f"harness.rollout.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'harness.rollout' has no attribute {name!r}")


__all__ = sorted(_HOMES)

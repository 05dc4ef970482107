"""Environments and rollouts: Etsy's workflow around the config repo.

bump (cookbook version), promote (environment pin), check (pins and roles solve), allowlists
(host-pattern data bags), flip (move nodes between environments on the config server). File
edits keep every byte but the changed token; see docs/rollouts.md.
"""
from __future__ import annotations

from harness.rollout.allowlist import add_pattern, in_allowlist, remove_pattern
from harness.rollout.bump import bump
from harness.rollout.check import check
from harness.rollout.flip import flip_node, flip_nodes, matching_nodes, preview
from harness.rollout.promote import promote

__all__ = ["add_pattern", "bump", "check", "flip_node", "flip_nodes", "in_allowlist",
           "matching_nodes", "preview", "promote", "remove_pattern"]

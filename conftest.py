"""Root conftest: what pytest must never collect.

Cookbook recipes are Python files run by the agent inside nodes, not test modules; fixture
repos under tests/fixtures hold recipes too. The harness's own pytest plugin is loaded through
the `pytest11` entry point, not from here, so `pytest role_specs/` works from any directory.
"""
collect_ignore_glob = ["cookbooks/*", "site-cookbooks/*", "tests/fixtures/*", "bench/*", ".venv/*"]

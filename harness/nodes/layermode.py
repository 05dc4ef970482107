"""`--package-layer auto|on|off`: whether nodes boot from a package layer (layers.py).

Its own small module so the pytest plugin and the CLI can offer the option without importing
the Docker SDK (that costs ~0.2 s at every `harness` start).
"""
from __future__ import annotations

import os
from collections.abc import Mapping

from harness.errors import UsageError

MODES = ("auto", "on", "off")
HELP = ("boot nodes from an image with their policy's packages already installed: on, off "
        "(every package installs during the converge, as in production) or auto (on, except "
        "when the CI environment variable is set; default)")


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise UsageError(f"--package-layer must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


def layer_enabled(mode: str, environ: Mapping[str, str] | None = None) -> bool:
    """`auto` is on for local runs and off under CI (the `CI` variable hosted CI systems set),
    so CI sees a failing install where production would (docs/decisions.md)."""
    env = os.environ if environ is None else environ
    if check_mode(mode) == "auto":
        return env.get("CI", "").strip().lower() in ("", "0", "false", "no")
    return mode == "on"

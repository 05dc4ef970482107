"""In-memory config server: store (no HTTP), search, auth, aiohttp routes, ConfigServer.

Import ConfigServer from harness.server.serve; this package only names the version.
"""
from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("role-harness")
except metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0"

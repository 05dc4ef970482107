"""Build agent.pyz: the agent + harness/__init__.py + pure-Python jinja2/markupsafe.

Runs on the host (never shipped). Bytes are deterministic (sorted entries, fixed mtimes and
modes), so the server can serve them from a cache and nodes can compare checksums. The .pyc
files beside the sources come from a fresh interpreter, cached per sources (pycompile.py): a
node whose python3 is the host's version skips compiling them on its first agent start.
"""
from __future__ import annotations

import functools
import io
import os
import subprocess
import tempfile
import zipfile
from pathlib import Path

import jinja2
import markupsafe

from .pycompile import cache_key, compile_fresh, disk_cached

SHEBANG = b"#!/usr/bin/env python3\n"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
# zlib's default: level 9 took 40 ms of the first cluster's server start for 1 KB less (197 KB)
COMPRESS_LEVEL = 6
AGENT_DIR = Path(__file__).resolve().parent
MAIN = AGENT_DIR / "zipmain.py"  # the archive's __main__.py: runs from a bytecode-cached copy
SKIP = {"build.py", "zipmain.py", "pycompile.py"}


def sources() -> dict[str, bytes]:
    """Archive name -> content of every file that goes into the zipapp."""
    files: dict[str, bytes] = {
        "__main__.py": MAIN.read_bytes(),
        "harness/__init__.py": (AGENT_DIR.parent / "__init__.py").read_bytes(),
    }
    for path in sorted(AGENT_DIR.rglob("*.py")):
        rel = path.relative_to(AGENT_DIR)
        if rel.name in SKIP or "__pycache__" in rel.parts:
            continue
        files[f"harness/agent/{rel.as_posix()}"] = path.read_bytes()
    for package in (jinja2, markupsafe):
        assert package.__file__ is not None     # both are regular packages, never namespaces
        root = Path(package.__file__).resolve().parent
        for path in sorted(root.rglob("*.py")):
            if "__pycache__" not in path.parts:
                files[f"{package.__name__}/{path.relative_to(root).as_posix()}"] = \
                    path.read_bytes()
    return files


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    buf.write(SHEBANG)
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            zf.writestr(info, files[name], compresslevel=COMPRESS_LEVEL)
    return buf.getvalue()


@functools.lru_cache(maxsize=1)
def agent_zipapp_bytes() -> bytes:
    """The zipapp's bytes (sources and their bytecode), built once per process; the archive is
    cached on disk per sources and Python (pycompile.py)."""
    files = sources()
    try:
        return disk_cached(f"{cache_key(files)}.pyz", lambda: _zip({**files, **compile_fresh(files)}))
    except (OSError, subprocess.SubprocessError):
        return _zip(files)  # no bytecode, and not cached: nodes compile as before


def build_zipapp(dest: Path) -> Path:
    """Write agent.pyz to `dest` (a file path, or a directory to put agent.pyz in)."""
    dest = Path(dest)
    if dest.is_dir():
        dest = dest / "agent.pyz"
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".agent-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(agent_zipapp_bytes())
    os.chmod(tmp, 0o755)
    os.replace(tmp, dest)
    return dest

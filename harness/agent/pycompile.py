"""Bytecode for agent.pyz that every process on a machine builds byte for byte the same.

Decision 12 kept bytecode out because marshal's output can depend on the process that compiles
(its back-references follow refcounts), so two xdist workers could serve different archives.
A fresh `python3 -S -s` with a fixed hash seed does not depend on what the builder loaded, so
one compiles them (unchecked-hash pycs: the node's copy of the archive is content-addressed,
zipmain.py), and `${XDG_CACHE_HOME:-~/.cache}/harness/agent/` keeps the archive per sources
and Python: only the first process after an edit pays the ~0.4 s. A node whose python3 is another
version ignores them and compiles the sources as before (decision 63). Runs on the host only.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

# Runs in the fresh interpreter: stdin is a zip of the sources, stdout a zip of their pycs,
# named as importlib looks for them (`pkg/__pycache__/mod.cpython-311.pyc`). Not the
# archive's own __main__.py: zipimport runs that one, and ignores __pycache__.
CHILD = r"""
import importlib.util, io, os, py_compile, sys, tempfile, zipfile
out = io.BytesIO()
with zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read())) as src, \
        zipfile.ZipFile(out, "w") as dst, tempfile.TemporaryDirectory() as tmp:
    for name in sorted(n for n in src.namelist() if n.endswith(".py") and "/" in n):
        path = os.path.join(tmp, "src.py")
        with open(path, "wb") as fh:
            fh.write(src.read(name))
        pyc = py_compile.compile(path, cfile=os.path.join(tmp, "out.pyc"), dfile=name,
                                 doraise=True,
                                 invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        with open(pyc, "rb") as fh:
            dst.writestr(importlib.util.cache_from_source(name), fh.read())
sys.stdout.buffer.write(out.getvalue())
"""
STALE_SECONDS = 7 * 24 * 3600  # cache files of other sources unused this long are deleted


def cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "harness" / "agent"


def cache_key(files: dict[str, bytes]) -> str:
    """Of the sources, the Python and the builder's own code (build.py, this file)."""
    digest = hashlib.sha256(sys.version.encode() + sys.implementation.cache_tag.encode())
    for builder in ("build.py", "pycompile.py"):
        digest.update((Path(__file__).parent / builder).read_bytes())
    for name in sorted(files):
        digest.update(b"\0%s\0%d\0" % (name.encode(), len(files[name])) + files[name])
    return digest.hexdigest()[:32]


def compile_fresh(files: dict[str, bytes]) -> dict[str, bytes]:
    """Archive name -> pyc for every .py in `files`, compiled by a fresh interpreter.

    OSError or subprocess.SubprocessError when it cannot run."""
    sources = io.BytesIO()
    with zipfile.ZipFile(sources, "w") as zf:
        for name in sorted(files):
            zf.writestr(name, files[name])
    env = {"PYTHONHASHSEED": "0", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    out = subprocess.run([sys.executable, "-S", "-s", "-c", CHILD], input=sources.getvalue(),
                         capture_output=True, env=env, check=True, timeout=120).stdout
    try:
        with zipfile.ZipFile(io.BytesIO(out)) as zf:
            return {name: zf.read(name) for name in zf.namelist()}
    except zipfile.BadZipFile as err:
        raise subprocess.SubprocessError(f"the compiler's output is no zip: {err}") from None


def disk_cached(name: str, make: Callable[[], bytes]) -> bytes:
    """The bytes cached under `name`, else make() them and cache them (atomically: processes
    racing write the same bytes); cache files unused for a week are deleted."""
    path = cache_dir() / name
    try:
        data = path.read_bytes()
    except OSError:
        data = None
    if data is not None:
        with contextlib.suppress(OSError):  # in use: not stale (a read-only cache still serves)
            os.utime(path)
        return data
    data = make()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
        for other in path.parent.iterdir():
            if other != path and time.time() - other.stat().st_mtime > STALE_SECONDS:
                other.unlink(missing_ok=True)
    except OSError:
        pass  # no cache: the next process builds again
    return data

"""The zipapp: deterministic bytes, the right contents, runs on a python with nothing else."""
from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from harness.agent import AGENT_VERSION, build, pycompile
from harness.agent.build import _zip, agent_zipapp_bytes, build_zipapp, sources
from harness.agent.pycompile import cache_key


def bare_python() -> list[str]:
    """A python that cannot see the venv: Debian's with -I -S, else ours with -I -S."""
    for candidate in ("/usr/bin/python3", shutil.which("python3"), sys.executable):
        if candidate and os.path.exists(candidate):
            return [candidate, "-I", "-S"]
    pytest.fail("no python3 found")


def test_bytes_are_deterministic_and_cached(tmp_path, monkeypatch):
    """Bytecode too: marshal's output depends on the compiling process, so a fresh interpreter
    compiles, and a process with an empty cache builds what this one serves (decision 63)."""
    first = agent_zipapp_bytes()
    assert first is agent_zipapp_bytes()
    # a process busy with other modules first, as an xdist worker that brings clusters up
    code = ("import hashlib, sys, aiohttp, docker; from harness.nodes import cluster;"
            "from harness.agent.build import agent_zipapp_bytes as b;"
            "print(hashlib.sha256(b()).hexdigest())")
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)})
    assert again.stdout.strip() == hashlib.sha256(first).hexdigest(), \
        "another process, compiling afresh, builds the same bytes"
    assert [p.name for p in (tmp_path / "harness" / "agent").iterdir()] == \
        [f"{cache_key(sources())}.pyz"], "and caches the archive for the next process"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert build.agent_zipapp_bytes.__wrapped__() == first, "read back from that cache"
    assert first.startswith(b"#!/usr/bin/env python3\n")


def test_a_failed_compile_ships_sources_only_and_caches_nothing(tmp_path, monkeypatch):
    def fail(files):
        raise subprocess.CalledProcessError(1, ["python3"])

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(build, "compile_fresh", fail)
    assert build.agent_zipapp_bytes.__wrapped__() == _zip(sources())
    assert not (tmp_path / "harness" / "agent").exists()


def test_stale_cache_files_go_and_the_used_one_stays(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = tmp_path / "harness" / "agent"
    folder.mkdir(parents=True)
    old, recent = folder / "old.pyz", folder / "recent.pyz"
    for path in (old, recent):
        path.write_bytes(b"x")
    week = pycompile.STALE_SECONDS
    os.utime(old, (time.time() - week - 60,) * 2)
    os.utime(recent, (time.time() - week + 3600,) * 2)
    assert pycompile.disk_cached("new.pyz", lambda: b"new") == b"new"
    assert sorted(p.name for p in folder.iterdir()) == ["new.pyz", "recent.pyz"]
    assert pycompile.disk_cached("new.pyz", lambda: pytest.fail("built again")) == b"new"
    monkeypatch.setattr(pycompile.os, "utime", lambda *a: (_ for _ in ()).throw(PermissionError()))
    assert pycompile.disk_cached("new.pyz", lambda: pytest.fail("built again")) == b"new", \
        "a cache file this user cannot touch is still read, not rebuilt"


def test_contents_are_the_agent_and_pure_python_deps():
    names = zipfile.ZipFile(io.BytesIO(agent_zipapp_bytes())).namelist()
    assert "__main__.py" in names and "harness/__init__.py" in names
    assert "harness/agent/cli.py" in names and "harness/agent/build.py" not in names
    assert "harness/agent/pycompile.py" not in names
    assert "jinja2/environment.py" in names and "markupsafe/_native.py" in names
    sources_ = [n for n in names if n.endswith(".py")]
    pycs = {importlib.util.cache_from_source(n) for n in sources_ if n != "__main__.py"}
    assert not [n for n in names if not n.endswith(".py") and n not in pycs], "no .so"
    assert pycs <= set(names), "every source has its bytecode, for this Python"
    assert not [n for n in names if n.startswith("harness/") and not n.startswith((
        "harness/agent/", "harness/__init__.py", "harness/__pycache__/__init__."))]
    info = zipfile.ZipFile(io.BytesIO(agent_zipapp_bytes())).getinfo("harness/agent/cli.py")
    assert info.date_time == (1980, 1, 1, 0, 0, 0)


def test_agent_imports_nothing_else_from_harness():
    agent_dir = Path(__file__).resolve().parents[2] / "harness" / "agent"
    imports = re.compile(r"^\s*(from|import)\s+harness(?!\.agent\b)", re.M)
    for path in agent_dir.glob("*.py"):
        assert not imports.search(path.read_text()), path


def test_build_zipapp_writes_an_executable_file(tmp_path):
    dest = build_zipapp(tmp_path / "agent.pyz")
    assert dest.read_bytes() == agent_zipapp_bytes() and os.access(dest, os.X_OK)
    assert build_zipapp(tmp_path) == tmp_path / "agent.pyz"


def test_runs_with_a_bare_python(tmp_path):
    pyz = build_zipapp(tmp_path / "agent.pyz")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([*bare_python(), str(pyz), "version"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, AGENT_VERSION), done.stderr
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import jinja2, markupsafe;"
            "import harness.agent.runner, harness.agent.crypto;"
            "print(jinja2.__file__.startswith(sys.argv[1]), markupsafe.escape('<'))")
    done = subprocess.run([*bare_python(), "-c", code, str(pyz)], capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.stdout.split() == ["True", "&lt;"], done.stderr
    done = subprocess.run([*bare_python(), str(pyz), "converge", "--config",
                           str(tmp_path / "missing.json")], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 2 and "config file" in done.stderr and "Traceback" not in done.stderr


def test_runs_from_a_bytecode_cached_copy_next_to_the_archive(tmp_path):
    pyz = build_zipapp(tmp_path / "agent.pyz")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    def run_version() -> None:
        done = subprocess.run([*bare_python(), str(pyz), "version"], capture_output=True,
                              text=True, env=env, timeout=60)
        assert (done.returncode, done.stdout.strip()) == (0, AGENT_VERSION), done.stderr

    def copies() -> list[str]:
        return sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".agent"))

    run_version()
    run_version()
    copy = tmp_path / f".agent.pyz-{hashlib.sha256(pyz.read_bytes()).hexdigest()[:16]}"
    assert copies() == [copy.name]
    pyc = importlib.util.cache_from_source("harness/agent/cli.py")
    shipped = zipfile.ZipFile(pyz).read(pyc)
    assert shipped[4:8] == (1).to_bytes(4, "little"), "an unchecked hash-based pyc (PEP 552)"
    assert (copy / pyc).read_bytes() == shipped, \
        "the agent ran from the copy with the shipped bytecode (a stale pyc is rewritten)"
    changed = _zip({**sources(), "harness/agent/extra.py": b"# new\n"})
    pyz.write_bytes(changed)
    run_version()
    assert copies() == [f".agent.pyz-{hashlib.sha256(changed).hexdigest()[:16]}"], \
        "a new archive gets its own copy and the old copy goes"


def test_cached_copy_falls_back_to_the_archive_when_it_cannot_write(tmp_path, monkeypatch):
    from harness.agent import zipmain

    pyz = build_zipapp(tmp_path / "agent.pyz")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    assert zipmain.cached_copy(str(pyz)) is None
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([*bare_python()[:1], "-S", str(pyz), "version"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, AGENT_VERSION), done.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".agent")], \
        "no copy without bytecode caching"

"""The zipapp: deterministic bytes, the right contents, runs on a python with nothing else."""
from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from harness.agent import AGENT_VERSION
from harness.agent.build import _zip, agent_zipapp_bytes, build_zipapp, sources


def bare_python() -> list[str]:
    """A python that cannot see the venv: Debian's with -I -S, else ours with -I -S."""
    for candidate in ("/usr/bin/python3", shutil.which("python3"), sys.executable):
        if candidate and os.path.exists(candidate):
            return [candidate, "-I", "-S"]
    pytest.fail("no python3 found")


def test_bytes_are_deterministic_and_cached():
    first = agent_zipapp_bytes()
    assert first is agent_zipapp_bytes()
    assert _zip(sources()) == first, "a fresh build gives the same bytes"
    again = subprocess.run([sys.executable, "-c", "import hashlib, sys; from harness.agent.build "
                            "import agent_zipapp_bytes as b; print(hashlib.sha256(b()).hexdigest())"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert again == hashlib.sha256(first).hexdigest(), "another process builds the same bytes"
    assert first.startswith(b"#!/usr/bin/env python3\n")


def test_contents_are_the_agent_and_pure_python_deps():
    names = zipfile.ZipFile(io.BytesIO(agent_zipapp_bytes())).namelist()
    assert "__main__.py" in names and "harness/__init__.py" in names
    assert "harness/agent/cli.py" in names and "harness/agent/build.py" not in names
    assert "jinja2/environment.py" in names and "markupsafe/_native.py" in names
    assert not [n for n in names if not n.endswith(".py")], "no .so, no caches"
    assert not [n for n in names if n.startswith("harness/") and not
                n.startswith(("harness/agent/", "harness/__init__.py"))]
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
    assert list((copy / "harness" / "agent" / "__pycache__").glob("cli.*.pyc")), \
        "the agent ran from the copy, so Python cached its bytecode there"
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

    monkeypatch.setattr(zipmain.tempfile, "mkdtemp", refuse)
    assert zipmain.cached_copy(str(pyz)) is None
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([*bare_python()[:1], "-S", str(pyz), "version"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, AGENT_VERSION), done.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".agent")], \
        "no copy without bytecode caching"

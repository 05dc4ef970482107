"""Finding or starting the engine, with the install/start steps faked."""
from __future__ import annotations

import pytest

from harness.errors import EngineError
from harness.nodes import engine


def test_unreachable_docker_host_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent")
    with pytest.raises(EngineError) as info:
        engine.ensure_engine(lambda line: None)
    assert str(info.value).startswith("no Docker engine answers at DOCKER_HOST=unix:///nonexistent")
    assert "\n" not in str(info.value)


def test_installs_and_starts_dockerd_when_missing(monkeypatch):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    steps = []

    def connect(base_url):
        steps.append("connect")
        raise EngineError("no answer")

    monkeypatch.setattr(engine, "_connect", connect)
    monkeypatch.setattr(engine.os, "geteuid", lambda: 0)
    monkeypatch.setattr(engine.shutil, "which", lambda name, path=None: None)
    monkeypatch.setattr(engine, "_install_docker", lambda progress: steps.append("install"))
    monkeypatch.setattr(engine, "_start_dockerd", lambda progress: steps.append("start") or "B")
    assert engine.ensure_engine(print) == "B"
    # re-checked under the lock, and after the install (its postinst may start dockerd)
    assert steps == ["connect", "connect", "install", "connect", "start"]


def test_not_root_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setattr(engine, "_connect", lambda base_url: (_ for _ in ()).throw(EngineError("x")))
    monkeypatch.setattr(engine.os, "geteuid", lambda: 1000)
    with pytest.raises(EngineError, match="not root"):
        engine.ensure_engine(print)

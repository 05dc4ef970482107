"""Platforms (images/<dir> -> platform name), the marker restriction, the cgroup flags and the
image builder's use of sudo: what a cluster's platform is made of, without an engine."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.errors import ImageBuildError, UsageError
from harness.nodes import backend as backend_mod
from harness.nodes import privilege
from harness.nodes.backend import cgroup_flags
from harness.nodes.imagedefs import HARNESS_IMAGES
from harness.nodes.platforms import (
    find_platforms,
    left_out,
    platform_image_dir,
    platforms_of_path,
    pop_marker_platforms,
)
from harness.nodes.spec import DEFAULT_PLATFORM, ClusterSpec

ROOT = HARNESS_IMAGES.parent


def test_the_project_defines_bookworm_and_trixie():
    found = find_platforms(HARNESS_IMAGES)
    assert list(found) == ["bookworm", "trixie"] and DEFAULT_PLATFORM == "bookworm"
    assert found["bookworm"].image_dir == HARNESS_IMAGES / "base"   # old tag harness/base:...
    assert found["trixie"].image_dir == HARNESS_IMAGES / "trixie"
    shared = (HARNESS_IMAGES / "base" / "setup.sh").resolve()
    assert all(shared in {p.resolve() for p in plat.inputs} for plat in found.values())


def test_which_platforms_a_changed_image_file_feeds():
    assert platforms_of_path(HARNESS_IMAGES, ROOT, "images/trixie/image.yaml") == ["trixie"]
    assert platforms_of_path(HARNESS_IMAGES, ROOT, "images/base/image.yaml") == ["bookworm"]
    assert platforms_of_path(HARNESS_IMAGES, ROOT, "images/base/setup.sh") == ["bookworm",
                                                                               "trixie"]
    assert platforms_of_path(HARNESS_IMAGES, ROOT, "images/README.md") is None


def define(root: Path, directory: str, text: str) -> None:
    (root / directory).mkdir(parents=True)
    (root / directory / "image.yaml").write_text(text)


def test_platform_is_the_key_else_the_suite_and_names_are_unique(tmp_path):
    define(tmp_path, "a", "suite: trixie\n")
    define(tmp_path, "b", "platform: edge\nsuite: trixie\n")
    assert list(find_platforms(tmp_path)) == ["edge", "trixie"]
    define(tmp_path, "c", "suite: trixie\n")
    with pytest.raises(UsageError, match="platform 'trixie' is defined twice: a/ and c/"):
        find_platforms(tmp_path)


def test_unknown_or_bad_platform_is_one_clear_line(tmp_path):
    define(tmp_path, "base", "suite: bookworm\n")
    with pytest.raises(UsageError, match=r"unknown platform 'sid': .* defines bookworm$"):
        platform_image_dir(tmp_path, "sid")
    define(tmp_path, "x", "platform: 'a b'\n")
    with pytest.raises(UsageError, match="bad platform name 'a b'"):
        find_platforms(tmp_path)


def test_marker_platforms_are_popped_and_validated():
    kwargs: dict[str, object] = {"web": 1, "platforms": ["trixie"]}
    assert pop_marker_platforms(kwargs, "t.py") == ("trixie",) and kwargs == {"web": 1}
    assert pop_marker_platforms({"web": 1}, "t.py") is None
    for bad in ("trixie", [], [3]):
        with pytest.raises(UsageError, match="t.py: "):
            pop_marker_platforms({"platforms": bad}, "t.py")


def test_cluster_spec_carries_its_platform():
    assert ClusterSpec({"web": 1}).platform == DEFAULT_PLATFORM
    spec = ClusterSpec.from_marker((), {"web": 2}, where="t.py", platform="trixie")
    assert (spec.platform, spec.node_names()) == ("trixie", ["web-1", "web-2"])
    assert ClusterSpec.from_args(["web"], platform="trixie").platform == "trixie"


def test_cgroup_flags_follow_the_host_version():
    """v1: read-only host hierarchy, engine's default namespace; v2: read-write in the host's
    cgroup namespace (kitchen-dokken README, "cgroupns_host": `--cgroupns=host -v
    /sys/fs/cgroup:/sys/fs/cgroup:rw` for systemd containers on cgroup v2)."""
    v1 = cgroup_flags(False)
    assert v1 == {"volumes": {"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "ro"}}}
    v2 = cgroup_flags(True)
    assert v2["cgroupns"] == "host"
    assert v2["volumes"] == {"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"}}


def test_run_node_passes_the_flags_of_the_detected_version(monkeypatch):
    seen: dict[str, object] = {}

    class Containers:
        def run(self, image, **kw):
            seen.update(kw)
            raise backend_mod.DockerException("stop here")

    fake = backend_mod.DockerBackend.__new__(backend_mod.DockerBackend)
    fake.client = type("C", (), {"containers": Containers()})()
    fake.api = type("A", (), {"create_endpoint_config": staticmethod(lambda **kw: kw)})()
    fake._ram_dirs, fake._images = {}, {}
    for v2 in (False, True):
        seen.clear()
        monkeypatch.setattr(backend_mod, "_cgroup_v2", lambda v2=v2: v2)
        with pytest.raises(backend_mod.NodeError):
            fake.run_node("img", "c", "web-1", "net", ["web-1"], {})
        assert seen["volumes"] == cgroup_flags(v2)["volumes"]
        assert seen.get("cgroupns") == ("host" if v2 else None)
        assert seen["security_opt"] == ["seccomp=unconfined"]  # decision 63
        assert seen["sysctls"] == {"net.ipv6.conf.lo.disable_ipv6": "0"}  # decision 68
        assert seen["cap_add"] == ["SYS_ADMIN", "SYS_PTRACE"]


def test_as_root_is_sudo_only_when_not_root(monkeypatch):
    monkeypatch.setattr(privilege.os, "geteuid", lambda: 0)
    assert privilege.as_root(["debootstrap", "x"], "/usr/sbin") == ["debootstrap", "x"]
    monkeypatch.setattr(privilege.os, "geteuid", lambda: 1000)
    cmd = privilege.as_root(["chroot", "/r", "true"], "/usr/sbin:/usr/bin")
    assert cmd[:3] == ["sudo", "-n", "env"] and cmd[-3:] == ["chroot", "/r", "true"]
    assert "PATH=/usr/sbin:/usr/bin" in cmd and "DEBIAN_FRONTEND=noninteractive" in cmd


def test_check_root_names_the_user_when_sudo_needs_a_password(monkeypatch):
    monkeypatch.setattr(privilege.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(privilege.shutil, "which", lambda name: "/usr/bin/sudo")
    monkeypatch.setattr(privilege.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a, 1, "", "sudo: a password is required\n"))
    monkeypatch.setattr(privilege, "_user", lambda: "runner")
    with pytest.raises(ImageBuildError, match="give user runner passwordless sudo "
                                              r"\(sudo: a password is required\)"):
        privilege.check_root("harness/trixie:x")
    monkeypatch.setattr(privilege.shutil, "which", lambda name: None)
    with pytest.raises(ImageBuildError, match="sudo is not installed"):
        privilege.check_root("harness/trixie:x")


def test_left_out_gives_the_skip_reason_only_for_excluded_platforms():
    assert left_out({"web": 1}, "trixie") is None
    assert left_out({"platforms": ["trixie"]}, "trixie") is None
    assert left_out({"platforms": ["trixie"]}, "bookworm") == \
        "cluster(platforms=['trixie']) leaves out platform bookworm"
    assert left_out({"platforms": "trixie"}, "bookworm") is None   # the fixture reports it

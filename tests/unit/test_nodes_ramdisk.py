"""The node init wrapper that keeps /usr and /var in RAM: composition, and the script run by sh."""
from __future__ import annotations

import os
import stat
import subprocess

from harness.nodes.ramdisk import (
    AUTO_MIN_MEMORY,
    RAM_DIRS,
    RAM_MOUNT,
    entrypoint,
    init_script,
    ram_dir_of,
    ram_dirs,
)


def test_auto_means_ram_on_an_engine_host_with_enough_memory():
    def unasked() -> int:
        raise AssertionError("only auto asks the engine")

    assert ram_dirs("auto", lambda: AUTO_MIN_MEMORY) == RAM_DIRS == ram_dirs("ram", unasked)
    assert ram_dirs("auto", lambda: AUTO_MIN_MEMORY - 1) == () == ram_dirs("disk", unasked)


def test_the_image_init_runs_after_the_script_as_pid_1_would():
    entry, cmd = entrypoint(RAM_DIRS, {"Cmd": ["/sbin/init"]})
    assert entry[:2] == ["/bin/sh", "-c"] and entry[2] == init_script(RAM_DIRS)
    assert cmd == ["/sbin/init"]
    assert entrypoint(RAM_DIRS, {"Entrypoint": ["/tini", "--"], "Cmd": ["/lib/systemd/systemd"]}
                      )[1] == ["/tini", "--", "/lib/systemd/systemd"]
    assert entrypoint(RAM_DIRS, {"Cmd": None})[1] == ["/sbin/init"]
    assert init_script(RAM_DIRS).splitlines()[-1] == 'exec "$@"'


def fake_tools(tmp_path, mount_rc: int):
    """mkdir and mount that only record their arguments (nothing touches this host's root)."""
    calls = tmp_path / "calls"
    for name, rc in (("mkdir", 0), ("mount", mount_rc)):
        tool = tmp_path / "bin" / name
        tool.parent.mkdir(exist_ok=True)
        tool.write_text(f'#!/bin/sh\necho "{name} $*" >> {calls}\nexit {rc}\n')
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    return calls


# Directories with no mount below them on any test host (the script checks this host's mounts).
DIRS = ("/opt/harness-a", "/srv/harness-b")


def run_script(tmp_path, mount_rc: int, dirs=DIRS) -> tuple[subprocess.CompletedProcess,
                                                            list[str]]:
    calls = fake_tools(tmp_path, mount_rc)
    entry, _ = entrypoint(dirs, {})
    env = dict(os.environ, PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    result = subprocess.run([*entry, "echo", "init", "started"], env=env, capture_output=True,
                            text=True, timeout=30)
    return result, calls.read_text().splitlines() if calls.exists() else []


def test_script_mounts_an_overlay_per_directory_then_execs_init(tmp_path):
    result, calls = run_script(tmp_path, mount_rc=0)
    assert result.returncode == 0 and result.stdout == "init started\n" and result.stderr == ""
    assert calls == [call for path in DIRS for call in (
        f"mkdir -p {RAM_MOUNT}{path}/upper {RAM_MOUNT}{path}/work",
        f"mount -t overlay overlay -o lowerdir={path},upperdir={RAM_MOUNT}{path}/upper,"
        f"workdir={RAM_MOUNT}{path}/work {path}")]


def test_a_failed_mount_boots_on_disk_and_says_so(tmp_path):
    result, calls = run_script(tmp_path, mount_rc=32)
    assert result.returncode == 0 and result.stdout == "init started\n"
    assert result.stderr.splitlines() == [
        f"harness: {path} stays on the container's disk (overlay failed)" for path in DIRS]
    assert len(calls) == 4


def test_a_directory_with_a_mount_below_it_stays_on_disk(tmp_path):
    """An overlay on it would hide that mount (an image VOLUME under /var, say). /dev has
    /dev/pts and /dev/shm below it on any Linux host."""
    result, calls = run_script(tmp_path, mount_rc=0, dirs=("/dev", DIRS[0]))
    assert result.returncode == 0 and result.stdout == "init started\n"
    assert result.stderr == "harness: /dev stays on the container's disk (mounts below it)\n"
    assert [c.split()[0] for c in calls] == ["mkdir", "mount"] and DIRS[0] in calls[1]


def test_archive_copies_are_refused_only_below_a_ram_dir():
    assert ram_dir_of("/var/lib/x", RAM_DIRS) == "/var" and ram_dir_of("/usr", RAM_DIRS) == "/usr"
    assert ram_dir_of("/usrx/y", RAM_DIRS) is None and ram_dir_of("/root/x", RAM_DIRS) is None
    assert ram_dir_of("/var/lib/x", ()) is None

"""The node init wrapper that keeps /usr and /var in RAM: composition, and the script run by sh."""
from __future__ import annotations

import os
import stat
import subprocess

from harness.nodes.ramdisk import RAM_DIRS, RAM_MOUNT, entrypoint, init_script, ram_dir_of


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


def run_script(tmp_path, mount_rc: int) -> tuple[subprocess.CompletedProcess, list[str]]:
    calls = fake_tools(tmp_path, mount_rc)
    entry, _ = entrypoint(RAM_DIRS, {})
    env = dict(os.environ, PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    result = subprocess.run([*entry, "echo", "init", "started"], env=env, capture_output=True,
                            text=True, timeout=30)
    return result, calls.read_text().splitlines()


def test_script_mounts_an_overlay_per_directory_then_execs_init(tmp_path):
    result, calls = run_script(tmp_path, mount_rc=0)
    assert result.returncode == 0 and result.stdout == "init started\n" and result.stderr == ""
    assert calls == [
        f"mkdir -p {RAM_MOUNT}/usr/upper {RAM_MOUNT}/usr/work",
        f"mount -t overlay overlay -o lowerdir=/usr,upperdir={RAM_MOUNT}/usr/upper,"
        f"workdir={RAM_MOUNT}/usr/work /usr",
        f"mkdir -p {RAM_MOUNT}/var/upper {RAM_MOUNT}/var/work",
        f"mount -t overlay overlay -o lowerdir=/var,upperdir={RAM_MOUNT}/var/upper,"
        f"workdir={RAM_MOUNT}/var/work /var"]


def test_a_failed_mount_boots_on_disk_and_says_so(tmp_path):
    result, calls = run_script(tmp_path, mount_rc=32)
    assert result.returncode == 0 and result.stdout == "init started\n"
    assert result.stderr.splitlines() == [
        "harness: /usr stays on the container's disk (overlay failed)",
        "harness: /var stays on the container's disk (overlay failed)"]
    assert len(calls) == 4


def test_archive_copies_are_refused_only_below_a_ram_dir():
    assert ram_dir_of("/var/lib/x", RAM_DIRS) == "/var" and ram_dir_of("/usr", RAM_DIRS) == "/usr"
    assert ram_dir_of("/usrx/y", RAM_DIRS) is None and ram_dir_of("/root/x", RAM_DIRS) is None
    assert ram_dir_of("/var/lib/x", ()) is None

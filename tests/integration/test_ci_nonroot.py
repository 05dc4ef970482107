"""The workflow's spec job, run here as a hosted runner's user: non-root, passwordless sudo,
member of the docker group.

A throw-away user runs every step of `.github/workflows/role-specs.yml`'s `spec` job
(tests/integration/ci_runner.py): install the harness, build the node image (the trixie
definition gets a unique comment, so the build really runs instead of reusing a tag), run one
role spec, write the JUnit file. sudo logs every command it runs for that user; the test fails
when anything but the image build's root-only steps went through sudo, or when anything in the
user's work tree ended up owned by root. The user, its sudoers drop-in and its docker group
membership are removed afterwards, and the test checks that they are gone. Not exercised here:
cgroup v2 (this host is v1): see docs/ci.md, "Hosted runners".
"""
from __future__ import annotations

import grp
import os
import pwd
import secrets
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from harness.ci.matrix import compute_matrix
from tests.integration.ci_runner import JobRun

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "role-specs.yml"
SPEC = "memcached"                      # one node: the quickest example role spec
PLATFORM = "trixie"
# What the image build may run as root (harness/nodes/privilege.py, images.py): nothing else.
ROOT_STEPS = {"apt-get", "debootstrap", "chroot", "cp", "rm", "tar", "umount", "true"}


@dataclass
class CiUser:
    name: str
    home: Path
    sudo_log: Path


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, text=True)


@retry(stop=stop_after_delay(60), wait=wait_fixed(2),
       retry=retry_if_exception_type(subprocess.CalledProcessError), reraise=True)
def _userdel(name: str) -> None:
    """userdel refuses while a process of the user lives (a reaper finishing its removal)."""
    _run("userdel", "--remove", name)


@pytest.fixture
def ci_user(tmp_path: Path) -> Iterator[CiUser]:
    if os.geteuid() != 0:
        pytest.skip("creating a throw-away user needs root")
    for tool in ("useradd", "userdel", "runuser", "visudo"):
        if tool == "visudo" and not shutil.which(tool):
            # The package only; no sudoers rule is added for anyone but the throw-away user.
            _run("apt-get", "update", "-qq")  # a fresh machine may have no package lists
            _run("apt-get", "install", "-y", "-qq", "sudo")
        elif not shutil.which(tool):
            pytest.skip(f"{tool} is missing")
    docker_before = sorted(grp.getgrnam("docker").gr_mem)
    name = f"hci{secrets.token_hex(3)}"
    home = Path("/home") / name
    sudo_log = tmp_path / "sudo.log"
    drop_in = Path("/etc/sudoers.d") / name
    _run("useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash",
         "--user-group", "--groups", "docker", name)
    try:
        rule = (f"Defaults:{name} logfile={sudo_log}, loglinelen=0, !syslog\n"
                f"{name} ALL=(ALL) NOPASSWD: ALL\n")
        staged = tmp_path / "sudoers"
        staged.write_text(rule)
        _run("visudo", "-c", "-q", "-f", str(staged))     # never install a broken drop-in
        shutil.copy(staged, drop_in)
        drop_in.chmod(0o440)
        yield CiUser(name, home, sudo_log)
    finally:
        drop_in.unlink(missing_ok=True)
        uid = pwd.getpwnam(name).pw_uid
        _userdel(name)
        shutil.rmtree(f"/tmp/harness-locks-{uid}", ignore_errors=True)  # the harness's locks
        group = grp.getgrnam("docker")
        assert sorted(group.gr_mem) == docker_before, "docker group membership left behind"
        with pytest.raises(KeyError):
            pwd.getpwnam(name)


def _copy_work_tree(dest: Path) -> None:
    """What actions/checkout gives the job: the repo's files (as in this work tree)."""
    files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "-c", "-o",
                            "--exclude-standard"], check=True, capture_output=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def _root_owned(top: Path) -> list[str]:
    return [str(p) for p in [top, *top.rglob("*")] if p.lstat().st_uid == 0]


def _sudo_programs(log: Path) -> list[str]:
    """Program names of the commands sudo ran (after `env VAR=...` wrappers)."""
    programs = []
    for line in log.read_text().splitlines() if log.exists() else []:
        if "COMMAND=" not in line:
            continue
        words = line.split("COMMAND=", 1)[1].split()
        if os.path.basename(words[0]) == "env":
            words = [w for w in words[1:] if "=" not in w] or ["env"]
        programs.append(os.path.basename(words[0]))
    return programs


def test_spec_job_runs_as_a_non_root_runner(ci_user: CiUser, engine) -> None:
    uid = pwd.getpwnam(ci_user.name).pw_uid
    work = ci_user.home / "work"
    workdir = work / "repo"
    _copy_work_tree(workdir)
    marker = f"# ci_nonroot {secrets.token_hex(4)}: a tag no one built yet\n"
    with (workdir / "images" / PLATFORM / "image.yaml").open("a") as fh:
        fh.write(marker)
    bin_dir = work / "python" / "bin"        # setup-python's stand-in
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to("/usr/bin/python3")
    _run("chown", "-R", f"{ci_user.name}:{ci_user.name}", str(ci_user.home))

    entry = next(e for e in compute_matrix(workdir, platforms=[PLATFORM]).entries()
                 if e["name"] == SPEC)
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["spec"]
    pip_env = {k: v for k, v in os.environ.items() if k.startswith("PIP_")}
    scratch = Path(f"/tmp/{ci_user.name}-steps")
    scratch.mkdir(mode=0o755)
    run = JobRun(ci_user.name, workdir, ci_user.home, scratch,
                 f"{bin_dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                 entry, {"CI": "true", "GITHUB_ACTIONS": "true", "LANG": "C.UTF-8", **pip_env})
    tag = None
    try:
        for step in job["steps"]:
            run.run_step(step, job.get("env", {}), timeout=1800)
            tag = run.outputs.get("image", {}).get("tag", tag)
        assert tag and tag.startswith(f"harness/{PLATFORM}:") and engine.image_exists(tag)
        build = next(r for r in run.results if r.name == "Load or build the node image")
        assert f"images: built {tag}" in build.output        # built here, not reused
        archive = ci_user.home / ".cache" / "harness-images" / "image.tar"
        assert archive.stat().st_size > 50_000_000             # docker save for the cache

        report = workdir / "reports" / f"{entry['id']}.xml"
        suite = ET.parse(report).getroot()
        suite = suite if suite.tag == "testsuite" else suite[0]
        assert int(suite.get("tests", 0)) > 0
        assert int(suite.get("failures", 0)) == int(suite.get("errors", 0)) == 0
        assert report.stat().st_uid == uid

        programs = _sudo_programs(ci_user.sudo_log)
        assert {"debootstrap", "chroot"} <= set(programs), programs   # the build used sudo
        assert set(programs) <= ROOT_STEPS, f"ran as root beyond the image build: {programs}"
        assert _root_owned(ci_user.home) == []
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if tag and engine.image_exists(tag):
            subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)

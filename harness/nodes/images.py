"""Build node images from `images/NAME/image.yaml` without a registry.

debootstrap a root filesystem, run the image's setup script in the chroot, and `docker import`
the tree. Tags are `harness/<name>:<hash of the inputs>`, so an unchanged definition is never
rebuilt and a changed one always is; a file lock makes parallel workers build once.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from harness.errors import EngineError, ImageBuildError, UsageError
from harness.nodes.backend import Backend
from harness.nodes.engine import SBIN_PATH, ensure_engine, file_lock

Progress = Callable[[str], None]
BUILDER_VERSION = "1"  # bump when the build procedure below changes what an image contains
BASE = "base"
HARNESS_IMAGES = Path(__file__).resolve().parents[2] / "images"
BUILD_ROOT = Path("/var/tmp")  # on disk: a root filesystem does not belong in a tmpfs


def default_images_dir(repo_dir: Path | None = None) -> Path:
    """The repo's own images/ when it defines a base image, else the harness's images/."""
    if repo_dir and (Path(repo_dir) / "images" / BASE / "image.yaml").is_file():
        return Path(repo_dir) / "images"
    return HARNESS_IMAGES


def load_definition(image_dir: Path) -> dict[str, Any]:
    """Read image.yaml with defaults; UsageError naming the file on a bad definition."""
    path = image_dir / "image.yaml"
    try:
        spec = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise UsageError(f"cannot read image definition: {err}", path=str(path)) from None
    if not isinstance(spec, dict):
        raise UsageError("image definition must be a mapping", path=str(path))
    spec.setdefault("name", image_dir.name)
    spec.setdefault("suite", "bookworm")
    spec.setdefault("mirror", "http://deb.debian.org/debian")
    spec.setdefault("variant", "minbase")
    spec.setdefault("packages", [])
    spec.setdefault("cmd", ["/sbin/init"])
    spec.setdefault("env", {})
    if spec.get("setup") and not (image_dir / spec["setup"]).is_file():
        raise UsageError(f"setup script {spec['setup']} not found", path=str(path))
    return spec


def image_tag(image_dir: Path) -> str:
    """harness/<name>:<first 12 hex of sha256(image.yaml, setup script, builder version)>."""
    spec = load_definition(image_dir)
    digest = hashlib.sha256(BUILDER_VERSION.encode())
    digest.update((image_dir / "image.yaml").read_bytes())
    if spec.get("setup"):
        digest.update((image_dir / spec["setup"]).read_bytes())
    return f"harness/{spec['name']}:{digest.hexdigest()[:12]}"


def _run_logged(cmd: list[str], log: deque[str], what: str, tag: str) -> None:
    """Run a build step; keep its output's tail for the error."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", LC_ALL="C", PATH=SBIN_PATH)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            errors="replace", env=env)
    assert proc.stdout is not None
    for line in proc.stdout:
        log.append(line.rstrip("\n"))
    if proc.wait() != 0:
        raise ImageBuildError(f"building {tag}: {what} exited {proc.returncode}: "
                              f"{log[-1] if log else ''}", log_tail="\n".join(log))


def _ensure_debootstrap(progress: Progress, log: deque[str], tag: str) -> None:
    if shutil.which("debootstrap", path=SBIN_PATH):
        return
    progress("images: debootstrap is missing; installing it with apt-get")
    _run_logged(["apt-get", "update"], log, "apt-get update", tag)
    _run_logged(["apt-get", "install", "-y", "debootstrap"], log, "apt-get install debootstrap",
                tag)


def _remove_tree(root: Path) -> None:
    """Unmount anything a failed debootstrap left, then delete without crossing mounts."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(str(root) + "/")), reverse=True):
        subprocess.run(["umount", "-l", mount], capture_output=True)
    subprocess.run(["rm", "-rf", "--one-file-system", str(root)], capture_output=True)


def _build(backend: Backend, image_dir: Path, tag: str, progress: Progress) -> None:
    spec = load_definition(image_dir)
    log: deque[str] = deque(maxlen=40)
    if os.geteuid() != 0:
        raise ImageBuildError(f"building {tag} needs root (debootstrap, chroot)")
    _ensure_debootstrap(progress, log, tag)
    started = time.monotonic()
    build_dir = Path(tempfile.mkdtemp(prefix="harness-image-", dir=BUILD_ROOT))
    root = build_dir / "root"
    try:
        progress(f"images: building {tag}: debootstrap {spec['suite']} from {spec['mirror']} "
                 "(about a minute)")
        cmd = ["debootstrap", f"--variant={spec['variant']}"]
        if spec["packages"]:
            cmd.append("--include=" + ",".join(spec["packages"]))
        _run_logged(cmd + [spec["suite"], str(root), spec["mirror"]], log, "debootstrap", tag)
        if spec.get("setup"):
            progress(f"images: {tag}: running {spec['setup']} in the chroot")
            shutil.copy(image_dir / spec["setup"], root / "harness-setup.sh")
            try:
                _run_logged(["chroot", str(root), "/bin/bash", "/harness-setup.sh"], log,
                            spec["setup"], tag)
            finally:
                (root / "harness-setup.sh").unlink(missing_ok=True)
        progress(f"images: {tag}: importing the root filesystem")
        changes = [f"CMD {_json_list(spec['cmd'])}"]
        changes += [f"ENV {k}={v}" for k, v in spec["env"].items()]
        tar = subprocess.Popen(["tar", "--numeric-owner", "--xattrs", "-C", str(root), "-c", "."],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert tar.stdout is not None and tar.stderr is not None  # both are pipes
        try:
            backend.import_image(tar.stdout, tag, changes)
        except EngineError as err:
            raise ImageBuildError(f"building {tag}: {err.message}") from None
        finally:
            tar.stdout.close()
            err_out = tar.stderr.read().decode(errors="replace")
            tar.wait()
        if tar.returncode != 0:
            raise ImageBuildError(f"building {tag}: tar exited {tar.returncode}", log_tail=err_out)
    finally:
        _remove_tree(build_dir)
    progress(f"images: built {tag} in {time.monotonic() - started:.0f} s")


def _json_list(items: list[str]) -> str:
    return json.dumps(list(items))


def build_image(image_dir: Path, *, backend: Backend | None = None, progress: Progress = print,
                force: bool = False) -> str:
    """Return the tag of image_dir's image, building it only when the tag is missing.

    Workers building the same tag wait for each other (file lock) and reuse the result.
    """
    backend = backend or ensure_engine(progress)
    tag = image_tag(image_dir)
    if not force and backend.image_exists(tag):
        return tag
    with file_lock("image-" + tag.replace("/", "_").replace(":", "_")):
        if not force and backend.image_exists(tag):  # another worker built it meanwhile
            return tag
        _build(backend, image_dir, tag, progress)
    return tag


def build_images(images_dir: Path, progress: Progress = print, force: bool = False,
                 backend: Backend | None = None) -> list[str]:
    """Build every images/*/image.yaml (base first); return their tags."""
    images_dir = Path(images_dir)
    dirs = sorted((p.parent for p in images_dir.glob("*/image.yaml")),
                  key=lambda d: (d.name != BASE, d.name))
    if not dirs:
        raise UsageError(f"no images/*/image.yaml under {images_dir}")
    backend = backend or ensure_engine(progress)
    return [build_image(d, backend=backend, progress=progress, force=force) for d in dirs]


def ensure_base_image(backend: Backend | None = None, progress: Progress = print,
                      images_dir: Path | None = None) -> str:
    """Tag of the base node image (images_dir/base), built on first use."""
    return build_image(Path(images_dir or HARNESS_IMAGES) / BASE, backend=backend,
                       progress=progress)

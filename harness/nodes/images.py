"""Build node images from `images/NAME/image.yaml` without a registry.

debootstrap a root filesystem, run the image's setup script in the chroot, and `docker import`
the tree. Tags are `harness/<name>:<hash of the inputs>`, so an unchanged definition is never
rebuilt and a changed one always is; a file lock makes parallel workers build once.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from harness.errors import EngineError, ImageBuildError, UsageError
from harness.nodes.backend import Backend
from harness.nodes.engine import SBIN_PATH, ensure_engine, file_lock
from harness.nodes.imagedefs import (
    BASE,
    BUILDER_VERSION,
    HARNESS_IMAGES,
    default_images_dir,
    image_inputs,
    image_tag,
    load_definition,
)
from harness.nodes.platforms import platform_image_dir
from harness.nodes.privilege import as_root, check_root

__all__ = ["BASE", "BUILDER_VERSION", "HARNESS_IMAGES", "build_image", "build_images",
           "default_images_dir", "ensure_base_image", "ensure_platform_image", "image_inputs",
           "image_tag", "load_definition"]

Progress = Callable[[str], None]
BUILD_ROOT = Path("/var/tmp")  # on disk: a root filesystem does not belong in a tmpfs


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
    _run_logged(as_root(["apt-get", "update"], SBIN_PATH), log, "apt-get update", tag)
    _run_logged(as_root(["apt-get", "install", "-y", "debootstrap"], SBIN_PATH), log,
                "apt-get install debootstrap", tag)


def _remove_tree(root: Path) -> None:
    """Unmount anything a failed debootstrap left, then delete without crossing mounts."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(str(root) + "/")), reverse=True):
        subprocess.run(as_root(["umount", "-l", mount], SBIN_PATH), capture_output=True)
    subprocess.run(as_root(["rm", "-rf", "--one-file-system", str(root)], SBIN_PATH),
                   capture_output=True)


def _build(backend: Backend, image_dir: Path, tag: str, progress: Progress) -> None:
    spec = load_definition(image_dir)
    log: deque[str] = deque(maxlen=40)
    check_root(tag)
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
        _run_logged(as_root(cmd + [spec["suite"], str(root), spec["mirror"]], SBIN_PATH), log,
                    "debootstrap", tag)
        if spec.get("setup"):
            progress(f"images: {tag}: running {spec['setup']} in the chroot")
            inside = str(root / "harness-setup.sh")
            _run_logged(as_root(["cp", str(image_dir / spec["setup"]), inside], SBIN_PATH), log,
                        "copying the setup script", tag)
            try:
                _run_logged(as_root(["chroot", str(root), "/bin/bash", "/harness-setup.sh"],
                                    SBIN_PATH), log, spec["setup"], tag)
            finally:
                subprocess.run(as_root(["rm", "-f", inside], SBIN_PATH), capture_output=True)
        progress(f"images: {tag}: importing the root filesystem")
        changes = [f"CMD {_json_list(spec['cmd'])}"]
        changes += [f"ENV {k}={v}" for k, v in spec["env"].items()]
        tar = subprocess.Popen(as_root(["tar", "--numeric-owner", "--xattrs", "-C", str(root),
                                        "-c", "."], SBIN_PATH),
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
                 backend: Backend | None = None, platform: str | None = None) -> list[str]:
    """Build every images/*/image.yaml (base first), or only `platform`'s; return their tags."""
    images_dir = Path(images_dir)
    if platform is not None:
        dirs = [platform_image_dir(images_dir, platform)]
    else:
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


def ensure_platform_image(platform: str, backend: Backend | None = None,
                          progress: Progress = print, images_dir: Path | None = None) -> str:
    """Tag of the node image of `platform` (images_dir/<its dir>), built on first use."""
    return build_image(platform_image_dir(Path(images_dir or HARNESS_IMAGES), platform),
                       backend=backend, progress=progress)

"""Image definitions (`images/NAME/image.yaml`) and their content-hash tags.

Kept apart from the builder (images.py) so that reading definitions and tags costs no docker
SDK: the CI matrix and the platform list need them, the engine they do not.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

from harness.errors import UsageError

BUILDER_VERSION = "1"  # bump when the build procedure below changes what an image contains
BASE = "base"
HARNESS_IMAGES = Path(__file__).resolve().parents[2] / "images"


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


def image_inputs(image_dir: Path) -> list[Path]:
    """The files an image is built from (image.yaml, then its setup script, if any)."""
    spec = load_definition(image_dir)
    return [image_dir / "image.yaml"] + ([image_dir / spec["setup"]] if spec.get("setup") else [])


def image_tag(image_dir: Path) -> str:
    """harness/<name>:<first 12 hex of sha256(image.yaml, setup script, builder version)>."""
    spec = load_definition(image_dir)
    digest = hashlib.sha256(BUILDER_VERSION.encode())
    for path in image_inputs(image_dir):
        digest.update(path.read_bytes())
    return f"harness/{spec['name']}:{digest.hexdigest()[:12]}"

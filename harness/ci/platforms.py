"""The platform axis of the CI matrix: role spec modules crossed with platforms.

Test Kitchen runs every suite on every platform of its `platforms:` list unless a suite's
`includes`/`excludes` narrow it; here a spec module's `cluster(platforms=[...])` narrows it.
A change under `images/` selects only the platforms whose image it is an input of (images/trixie/
-> the trixie jobs); an image file no platform uses, or an images/ that does not load,
selects every platform (when unsure, include).
"""
from __future__ import annotations

from pathlib import Path, PurePosixPath

from harness.ci.specs import Spec
from harness.errors import HarnessError, UsageError
from harness.nodes.imagedefs import default_images_dir
from harness.nodes.platforms import find_platforms, platforms_of_path

IMAGES = "images"


def matrix_platforms(repo_dir: Path, only: list[str] | None = None) -> list[str]:
    """The platforms the matrix crosses: those the repo's images/ defines (or `only`)."""
    known = list(find_platforms(default_images_dir(repo_dir)))
    if not only:
        return known
    unknown = [p for p in only if p not in known]
    if unknown:
        raise UsageError(f"unknown platform {unknown[0]!r}: images/ defines {', '.join(known)}")
    return [p for p in known if p in only]


def spec_platforms(spec: Spec, platforms: list[str]) -> list[str]:
    """The platforms a spec module runs on: all, or those its marker's platforms=[...] keeps."""
    if spec.platforms is None:
        return list(platforms)
    return [p for p in platforms if p in spec.platforms]


def is_image_path(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return len(parts) > 1 and parts[0] == IMAGES


def image_change_platforms(repo_dir: Path, path: str, platforms: list[str]
                           ) -> tuple[list[str], str]:
    """The platforms a changed images/ path selects, and why (a line for --explain)."""
    images_dir = default_images_dir(repo_dir)
    if images_dir.resolve() != (repo_dir / IMAGES).resolve():
        return list(platforms), (f"{IMAGES}/ of this repo defines no base image; the harness's "
                                 "images are used, so any change here may affect anything")
    try:
        hits = platforms_of_path(images_dir, repo_dir, path)
    except HarnessError as err:
        return list(platforms), f"images/ does not load ({str(err).splitlines()[0]})"
    if hits is None:
        return list(platforms), "an images/ file no single platform owns: every platform"
    return [p for p in platforms if p in hits], f"the node image of platform {', '.join(hits)}"

"""Platforms: which Debian release a cluster's nodes run, and the image each one is built from.

Every `images/<dir>/image.yaml` is a platform, named by its `platform:` key (default: its
`suite:`), so `images/base` (suite bookworm) is platform bookworm and keeps its old tag
`harness/base:<hash>`, while `images/trixie` is platform trixie. A cluster runs on one platform
(Test Kitchen's platforms list crossed with suites); the CI matrix crosses spec modules with
platforms. The default platform is `harness.nodes.spec.DEFAULT_PLATFORM`, nowhere else.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from harness.errors import UsageError
from harness.nodes.imagedefs import image_inputs, load_definition
from harness.nodes.spec import DEFAULT_PLATFORM

__all__ = ["DEFAULT_PLATFORM", "Platform", "check_platform_name", "find_platforms",
           "left_out", "platform_image_dir", "platforms_of_path", "pop_marker_platforms"]


@dataclass(frozen=True)
class Platform:
    """One platform: its name, the image directory, and the files its image is built from."""

    name: str
    image_dir: Path
    inputs: tuple[Path, ...]   # image.yaml and the setup script: a change here rebuilds it


def check_platform_name(name: object, where: str = "") -> str:
    """A platform name is a plain word (it becomes part of job names and image tags)."""
    prefix = f"{where}: " if where else ""
    if not isinstance(name, str) or not name or not all(c.isalnum() or c in "-_." for c in name):
        raise UsageError(f"{prefix}bad platform name {name!r}: use a word like 'bookworm'")
    return name


def find_platforms(images_dir: Path) -> dict[str, Platform]:
    """{platform name: Platform} for every images_dir/*/image.yaml, sorted by name."""
    found: dict[str, Platform] = {}
    for yaml_path in sorted(Path(images_dir).glob("*/image.yaml")):
        image_dir = yaml_path.parent
        spec = load_definition(image_dir)
        name = check_platform_name(spec.get("platform") or spec["suite"], str(yaml_path))
        if name in found:
            raise UsageError(f"platform {name!r} is defined twice: "
                             f"{found[name].image_dir.name}/ and {image_dir.name}/",
                             path=str(yaml_path))
        found[name] = Platform(name, image_dir, tuple(image_inputs(image_dir)))
    return dict(sorted(found.items()))


def platform_image_dir(images_dir: Path, name: str) -> Path:
    """The image directory of platform `name`; UsageError naming the known ones otherwise."""
    known = find_platforms(images_dir)
    if name not in known:
        raise UsageError(f"unknown platform {name!r}: {images_dir} defines "
                         f"{', '.join(known) or 'none'}")
    return known[name].image_dir


def platforms_of_path(images_dir: Path, repo_dir: Path, rel: str) -> list[str] | None:
    """Platforms whose image a repo-relative path under images/ is an input of.

    None when the path is no platform's input (a new helper, a README): the caller cannot tell
    and should select every platform.
    """
    root = Path(repo_dir).resolve()
    target = (root / PurePosixPath(rel)).resolve()
    hits = [p.name for p in find_platforms(images_dir).values()
            if any(i.resolve() == target for i in p.inputs)]
    return hits or None


def pop_marker_platforms(kwargs: dict[str, object], where: str) -> tuple[str, ...] | None:
    """Remove `platforms=[...]` from a cluster marker's keywords; the platforms it allows.

    None: no restriction (the module runs on every platform). A module restricted to other
    platforms is skipped, as Test Kitchen's `includes`/`excludes` leave a suite out of a
    platform rather than failing it.
    """
    if "platforms" not in kwargs:
        return None
    value = kwargs.pop("platforms")
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value:
        raise UsageError(f"{where}: cluster(platforms={value!r}): give a non-empty list of "
                         "platform names, e.g. platforms=['bookworm']")
    return tuple(check_platform_name(v, where) for v in value)


def left_out(marker_kwargs: Mapping[str, object], current: str) -> str | None:
    """Why a module with these marker keywords does not run on `current` (a skip reason),
    or None. A bad `platforms=` value is not a reason: the cluster fixture fails on it."""
    try:
        allowed = pop_marker_platforms(dict(marker_kwargs), "")
    except UsageError:
        return None
    if allowed is None or current in allowed:
        return None
    return f"cluster(platforms={list(allowed)}) leaves out platform {current}"

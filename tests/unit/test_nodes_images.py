"""Image definitions and tags, and build decisions, on the FakeBackend."""
from __future__ import annotations

import pytest

from harness.errors import UsageError
from harness.nodes import imagedefs, images
from harness.nodes.fake import FakeBackend
from harness.nodes.images import build_image, build_images, default_images_dir, image_tag, load_definition


def define(tmp_path, yaml_text="name: web\n", setup=None):
    d = tmp_path / "images" / "web"
    d.mkdir(parents=True, exist_ok=True)
    (d / "image.yaml").write_text(yaml_text + ("setup: setup.sh\n" if setup is not None else ""))
    if setup is not None:
        (d / "setup.sh").write_text(setup)
    return d


def test_defaults_and_tag_follow_the_inputs(tmp_path):
    d = define(tmp_path, setup="true\n")
    spec = load_definition(d)
    assert (spec["suite"], spec["variant"], spec["cmd"]) == ("bookworm", "minbase", ["/sbin/init"])
    first = image_tag(d)
    assert first.startswith("harness/web:") and len(first.split(":")[1]) == 12
    assert image_tag(d) == first
    (d / "setup.sh").write_text("echo changed\n")
    assert image_tag(d) != first
    second = image_tag(d)
    images_version = imagedefs.BUILDER_VERSION
    try:
        imagedefs.BUILDER_VERSION = images_version + "x"
        assert image_tag(d) != second
    finally:
        imagedefs.BUILDER_VERSION = images_version


def test_bad_definitions_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="setup script missing.sh not found"):
        load_definition(define(tmp_path, "name: web\nsetup: missing.sh\n"))
    with pytest.raises(UsageError, match="must be a mapping"):
        load_definition(define(tmp_path, "- a list\n"))
    with pytest.raises(UsageError, match="no images"):
        build_images(tmp_path / "empty", backend=FakeBackend())


def test_existing_tag_is_not_rebuilt(tmp_path, monkeypatch):
    d = define(tmp_path)
    backend = FakeBackend()
    built = []
    monkeypatch.setattr(images, "_build", lambda b, d, tag, progress: built.append(tag) or b.images.add(tag))
    tag = build_image(d, backend=backend, progress=print)
    assert built == [tag]
    assert build_image(d, backend=backend, progress=print) == tag and built == [tag]
    build_image(d, backend=backend, progress=print, force=True)
    assert built == [tag, tag]


def test_base_image_of_the_project_and_repo_override(tmp_path):
    assert (default_images_dir(None) / "base" / "image.yaml").is_file()
    assert default_images_dir(tmp_path) == images.HARNESS_IMAGES
    (tmp_path / "images" / "base").mkdir(parents=True)
    (tmp_path / "images" / "base" / "image.yaml").write_text("name: base\n")
    assert default_images_dir(tmp_path) == tmp_path / "images"
    spec = load_definition(images.HARNESS_IMAGES / "base")
    assert set(spec["packages"]) == {"systemd", "systemd-sysv", "python3", "curl",
                                     "ca-certificates", "iproute2"}

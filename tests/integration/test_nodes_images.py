"""Image builds on the real engine: failures are fast and explain themselves; tags are reused."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.errors import ImageBuildError
from harness.nodes.images import HARNESS_IMAGES, build_image, build_images, image_tag

pytestmark = pytest.mark.docker


def test_bad_mirror_fails_fast_with_the_log_tail(engine, tmp_path):
    image = tmp_path / "images" / "badmirror"
    image.mkdir(parents=True)
    (image / "image.yaml").write_text(
        "name: badmirror\nsuite: bookworm\nmirror: http://127.0.0.1:9/debian\n"
        "packages: [python3]\n")  # the build fails, so this tag never exists
    started = time.monotonic()
    with pytest.raises(ImageBuildError) as info:
        build_images(tmp_path / "images", progress=print, backend=engine)
    assert time.monotonic() - started < 60
    err = info.value
    assert str(err).startswith(f"building {image_tag(image)}: debootstrap exited")
    assert "\n" not in str(err)
    assert "127.0.0.1:9" in err.log_tail
    assert not engine.image_exists(image_tag(image))
    assert not list(Path("/var/tmp").glob("harness-image-*/root/etc")), "build dir left behind"


def test_cli_build_failure_is_one_line_then_the_log(engine, tmp_path):
    """`harness images build` says what failed on one line, then the build log to look at."""
    import subprocess
    import sys

    image = tmp_path / "images" / "badmirror"
    image.mkdir(parents=True)
    (image / "image.yaml").write_text(
        "name: badmirror\nsuite: bookworm\nmirror: http://127.0.0.1:9/debian\npackages: []\n")
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "images", "build", "--images",
                           str(tmp_path / "images")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    first, rest = proc.stderr.split("\n", 1)
    assert first.startswith(f"harness: building {image_tag(image)}: debootstrap exited")
    assert rest.startswith("--- log tail ---\n") and "127.0.0.1:9" in rest
    assert "Traceback" not in proc.stderr


def test_existing_tag_is_reused_without_building(engine, base_image):
    lines: list[str] = []
    started = time.monotonic()
    tag = build_image(HARNESS_IMAGES / "base", progress=lines.append, backend=engine)
    assert tag == base_image and lines == []
    assert time.monotonic() - started < 2

"""The Docker backend reads an image's files once per image id (decision 60)."""
from __future__ import annotations

from harness.nodes.dockerimages import DockerImageOps, _cache_file


class Images(DockerImageOps):
    """The cache logic of DockerImageOps, with the two engine calls answered here."""

    def __init__(self, ids: dict[str, str]) -> None:
        self.ids, self.reads = ids, []

    def image_attrs(self, image):
        return {"Id": self.ids[image]}

    def _read_image_files(self, image, paths):
        self.reads.append((image, list(paths)))
        return {"/etc/os-release": b"ID=debian\n", "/etc/bin": bytes(range(256))}


def test_files_are_read_once_per_image_id_and_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    images = Images({"a:1": "sha256:aaa", "a:latest": "sha256:aaa", "b:1": "sha256:bbb"})
    first = images.image_files("a:1", ["/etc/os-release", "/etc/bin"])
    assert first == {"/etc/os-release": b"ID=debian\n", "/etc/bin": bytes(range(256))}
    assert images.image_files("a:latest", ["/etc/bin", "/etc/os-release"]) == first  # same id
    assert len(images.reads) == 1
    assert Images(images.ids).image_files("a:1", ["/etc/bin", "/etc/os-release"]) == first
    images.image_files("b:1", ["/etc/os-release", "/etc/bin"])  # another image: read
    images.image_files("a:1", ["/etc/os-release"])              # other paths: read
    assert len(images.reads) == 3


def test_a_damaged_cache_file_is_read_again_and_rewritten(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    images = Images({"a:1": "sha256:aaa"})
    cache = _cache_file("sha256:aaa", ["/etc/os-release"])
    for damage in ("{not json", '{"/etc/os-release": "***"}', "[1, 2]"):
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(damage)
        assert images.image_files("a:1", ["/etc/os-release"])["/etc/os-release"] == \
            b"ID=debian\n"
    assert len(images.reads) == 3
    assert images.image_files("a:1", ["/etc/os-release"]) and len(images.reads) == 3
    assert [p.name for p in cache.parent.iterdir()] == [cache.name]  # no .part left


def test_an_unwritable_cache_only_costs_a_read(tmp_path, monkeypatch):
    (tmp_path / "harness").write_text("a file where the cache directory should be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    images = Images({"a:1": "sha256:aaa"})
    assert images.image_files("a:1", ["/etc/os-release"]) == images.image_files(
        "a:1", ["/etc/os-release"])
    assert len(images.reads) == 2

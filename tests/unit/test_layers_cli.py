"""`harness images list | prune` over the FakeBackend, and `--package-layer` reaching the
Cluster from pytest's command line."""
from __future__ import annotations

import time

import pytest

from harness.cli import images as cli_images
from harness.cli import main
from harness.nodes.cluster import Cluster
from harness.nodes.fake import FakeBackend
from harness.nodes.layers import human_age, human_size
from tests.unit.nodes_world import make_world

pytest_plugins = ["pytester"]
OLD, NEW = "harness/layer:0123456789abcdef", "harness/layer:fedcba9876543210"


@pytest.fixture
def backend(monkeypatch) -> FakeBackend:
    fake = FakeBackend()
    now = time.time()
    for tag, packages in ((OLD, "sudo zookeeperd"), (NEW, "memcached")):
        fake.images.add(tag)
        fake.image_labels[tag] = {"harness.layer": tag[-16:], "harness.layer.packages": packages,
                                  "harness.layer.base": "harness/base:9c4c8ccd2d6d"}
    fake.images.add("harness/base:9c4c8ccd2d6d")  # not a layer: never listed nor pruned
    real_list = fake.list_images

    def aged(label):
        rows = real_list(label)
        for row in rows:
            row["size"] = 209_400_000 if row["tags"] == [OLD] else 1_500
            row["created"] = now - (3 * 86400 if row["tags"] == [OLD] else 120)
        return rows

    monkeypatch.setattr(fake, "list_images", aged)
    monkeypatch.setattr(cli_images, "ensure_engine", lambda *a: fake)
    return fake


def test_list_shows_tag_size_age_base_and_packages_newest_first(backend, capsys):
    assert main(["images", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["TAG", "SIZE", "AGE", "BASE", "PACKAGES"]
    assert lines[1].split() == [NEW, "1.5", "kB", "2", "min", "harness/base:9c4c8ccd2d6d",
                                "memcached"]
    assert lines[2].split() == [OLD, "209.4", "MB", "3", "d", "harness/base:9c4c8ccd2d6d",
                                "sudo", "zookeeperd"]


def test_prune_removes_unused_layers_older_than_asked_and_keeps_those_in_use(backend, capsys):
    assert main(["images", "prune", "--older-than", "1"]) == 0
    assert OLD not in backend.images and NEW in backend.images
    assert capsys.readouterr().out.splitlines()[-1] == "removed 1 package layer(s)"
    backend.create_network("n", {})
    backend.run_node(NEW, "c", "web-1", "n", [], {})
    assert main(["images", "prune"]) == 0
    assert NEW in backend.images and "harness/base:9c4c8ccd2d6d" in backend.images
    assert capsys.readouterr().out.splitlines()[-1] == \
        "removed 0 package layer(s); kept 1 a container uses"


def test_prune_refuses_a_negative_age(backend, capsys):
    assert main(["images", "prune", "--older-than", "-2"]) == 2
    assert capsys.readouterr().err.strip() == \
        "harness: --older-than must be >= 0 days, not -2.0"


def test_sizes_and_ages_read_like_docker_images():
    assert [human_size(n) for n in (999, 1500, 209_400_000, 2.5e9)] == \
        ["999 B", "1.5 kB", "209.4 MB", "2.5 GB"]
    assert [human_age(s) for s in (5, 120, 7200, 3 * 86400)] == ["5 s", "2 min", "2 h", "3 d"]


def test_the_pytest_option_reaches_the_cluster(pytester, monkeypatch, tmp_path_factory):
    world = make_world(monkeypatch, tmp_path_factory.mktemp("repo"))
    seen: list[object] = []
    init = Cluster.__init__

    def fake_init(self, name, spec, **kw):
        seen.append(kw.get("package_layer"))
        init(self, name, spec, **dict(kw, backend=world.backend, image="harness/base:test"))

    monkeypatch.setattr(Cluster, "__init__", fake_init)
    pytester.makepyfile(test_spec="import pytest\npytestmark = pytest.mark.cluster(web=1)\n"
                                  "def test_up(cluster):\n    assert cluster.nodes\n")
    args = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest", "--repo", str(world.repo)]
    pytester.runpytest_inprocess(*args, "--package-layer", "off").assert_outcomes(passed=1)
    pytester.runpytest_inprocess(*args).assert_outcomes(passed=1)
    assert seen == ["off", "auto"]
    result = pytester.runpytest_inprocess(*args, "--package-layer", "warm")
    assert result.ret == 4  # usage error: argparse's choices
    result.stderr.fnmatch_lines(["*--package-layer: invalid choice: 'warm'*"])

"""The package layer on real Docker: a second cluster boots from the layer the first built,
its converge reports the packages up to date; adding a package to a recipe makes a new layer
holding it; `--package-layer off` installs everything in the converge; two processes racing
for one layer build it once."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.nodes.cluster import Cluster
from harness.nodes.layers import list_layers
from harness.nodes.spec import ClusterSpec
from tests.integration.nodes_support import NODE_REPO, leftovers

pytestmark = pytest.mark.docker
PACKAGE = "package[netcat-openbsd]"


def drop_layers(engine, packages: list[str]) -> None:
    """Start from no layer of exactly these packages (the test must see a build)."""
    for row in list_layers(engine):
        if row["packages"] == sorted(packages):
            assert engine.remove_image(row["tag"]), f"{row['tag']} is in use"


def cluster_up(engine, base_image, repo: Path, mode: str) -> tuple[Cluster, list[str]]:
    lines: list[str] = []
    cluster = Cluster("it-layer", ClusterSpec({"web": 1}), repo_dir=repo, backend=engine,
                      image=base_image, package_layer=mode,
                      progress=lambda line: (lines.append(line), print(line)))
    cluster.up()
    return cluster, lines


def first_run(cluster: Cluster) -> dict:
    return cluster.reports["web-1"][0]  # the bootstrap's converge


def down(engine, cluster: Cluster) -> None:
    cluster.down()
    assert leftovers(engine, cluster.session) == []


@pytest.fixture(autouse=True)
def layers_removed_after(engine):
    """The layers a test builds go with it (`harness images prune` would, later)."""
    before = {row["tag"] for row in list_layers(engine)}
    yield
    for row in list_layers(engine):
        if row["tag"] not in before:
            engine.remove_image(row["tag"])


@pytest.fixture
def repo(tmp_path) -> Path:
    shutil.copytree(NODE_REPO, tmp_path / "repo")
    return tmp_path / "repo"


def test_second_cluster_boots_from_the_layer_and_a_new_package_makes_a_new_one(
        engine, base_image, repo):
    drop_layers(engine, ["netcat-openbsd"])
    drop_layers(engine, ["less", "netcat-openbsd"])  # the layer the edit below must build
    first, lines = cluster_up(engine, base_image, repo, "on")
    down(engine, first)
    assert any(line.startswith("package layer: building harness/layer:") for line in lines)

    second, lines = cluster_up(engine, base_image, repo, "on")
    try:
        assert not any("package layer: building" in line for line in lines)
        layer = next(line.split(": ")[2].split()[0] for line in lines
                     if line.startswith("package layer: role web: "))
        labels = engine.image_attrs(layer)["Config"]["Labels"]
        assert labels["harness.layer.packages"] == "netcat-openbsd"
        assert labels["harness.layer.base"] == base_image
        report = first_run(second)
        assert report["status"] == "success"
        assert PACKAGE not in report["changed"]  # up to date: installed in the layer
        assert [e["changed"] for e in report["resources"] if e["resource"] == PACKAGE] == [False]
        assert "template[/etc/default/webapp]" in report["changed"]  # the rest converged
    finally:
        down(engine, second)

    recipe = repo / "site-cookbooks" / "webapp" / "recipes" / "default.py"
    recipe.write_text('package("less")\n' + recipe.read_text())
    third, lines = cluster_up(engine, base_image, repo, "on")
    try:
        assert any(line.startswith("package layer: building") and "less netcat-openbsd" in line
                   for line in lines)
        assert third.exec("web-1", ["dpkg-query", "-W", "-f=${Status}", "less"]) == \
            (0, "install ok installed")
        assert "package[less]" not in first_run(third)["changed"]
    finally:
        down(engine, third)


def test_off_installs_every_package_in_the_converge(engine, base_image, repo):
    cluster, lines = cluster_up(engine, base_image, repo, "off")
    try:
        assert not any(line.startswith("package layer:") for line in lines)
        assert PACKAGE in first_run(cluster)["changed"]
    finally:
        down(engine, cluster)


RACE = """
import sys
from harness.nodes.engine import ensure_engine
from harness.nodes.layers import ensure_layer
print(ensure_layer(ensure_engine(), sys.argv[1], sys.argv[2:], print), flush=True)
"""


def test_two_processes_racing_for_one_layer_build_it_once(engine, base_image):
    packages = ["less", "netcat-openbsd", "tree"]
    drop_layers(engine, packages)
    racers = [subprocess.Popen([sys.executable, "-c", RACE, base_image, *packages],
                               stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [racer.communicate(timeout=600)[0] for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0]
    tags = {out.splitlines()[-1] for out in outputs}
    assert len(tags) == 1 and tags.pop().startswith("harness/layer:")
    assert sum(out.count("package layer: building harness/layer:") for out in outputs) == 1
    assert sum("was built by another worker" in out for out in outputs) == 1

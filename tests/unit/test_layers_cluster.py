"""The cluster's layer hook on the FakeBackend: with the layer on, the config server is up
before the nodes start and each node's container runs its role's layer; off, the base image."""
from __future__ import annotations

import pytest

from harness.nodes import layerplan
from harness.nodes.cluster import Cluster
from harness.nodes.spec import ClusterSpec
from tests.unit.nodes_world import make_world

BASE = "harness/base:test"


@pytest.fixture
def world(monkeypatch, tmp_path):
    world = make_world(monkeypatch, tmp_path)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # file locks of this test only
    world.backend.images.add(BASE)
    world.why_runs = []

    def plan(up, node, environment, automatic, secret):
        world.why_runs.append((node.name, environment))
        own = {"web": "nginx", "db": "postgresql"}[node.role]
        return [{"resource": f"package[{p}]", "action": "install", "properties": {}}
                for p in ("sudo", own)]

    monkeypatch.setattr(layerplan, "policy_plan", plan)
    return world


def up(world, package_layer: str) -> Cluster:
    cluster = Cluster("spec-x", ClusterSpec({"web": 2, "db": 1}, "production"),
                      repo_dir=world.repo, image=BASE, backend=world.backend,
                      progress=lambda line: None, package_layer=package_layer)
    return cluster.up()


def test_nodes_boot_from_their_roles_layer(world):
    cluster = up(world, "on")
    images = {name: world.backend.containers[f"h-{cluster.id}-{name}"].image
              for name in cluster.nodes}
    assert images["web-1"] == images["web-2"] != images["db-1"]
    assert all(image.startswith("harness/layer:") for image in images.values())
    assert world.why_runs == [("web-1", "production"), ("db-1", "production")]
    assert world.backend.image_labels[images["db-1"]]["harness.layer.packages"] == \
        "postgresql sudo"
    assert "layer" in cluster.cluster_timings
    cluster.down()


def test_off_boots_the_base_image_and_runs_no_why_run(world):
    cluster = up(world, "off")
    assert {c.image for c in world.backend.containers.values()} == {BASE}
    assert world.why_runs == [] and world.backend.builds == []
    cluster.down()


def test_auto_is_off_when_ci_is_set(world, monkeypatch):
    monkeypatch.setenv("CI", "true")
    cluster = up(world, "auto")
    assert world.backend.builds == [] and cluster.package_layer is False
    cluster.down()

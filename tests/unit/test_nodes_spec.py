"""ClusterSpec: the one parser of a cluster's description (marker, `harness up`, Cluster)."""
from __future__ import annotations

import pytest

from harness.errors import UsageError
from harness.nodes.spec import ClusterSpec


def test_from_args_counts_and_order():
    spec = ClusterSpec.from_args(["web=2", "db"], "production")
    assert spec.roles == {"web": 2, "db": 1} and spec.environment == "production"
    assert spec.node_names() == ["web-1", "web-2", "db-1"]
    assert spec.node_roles() == {"web-1": "web", "web-2": "web", "db-1": "db"}


@pytest.mark.parametrize("bad", [["web=abc"], ["web="], ["=2"], ["web=-1"], ["web=0"],
                                 ["web", "web=2"], [], ["web=²"]])
def test_from_args_refuses(bad):
    with pytest.raises(UsageError):
        ClusterSpec.from_args(bad)


def test_from_marker_env_and_override():
    spec = ClusterSpec.from_marker((), {"zookeeper": 3, "env": "production"}, where="m.py")
    assert spec.roles == {"zookeeper": 3} and spec.environment == "production"
    spec = ClusterSpec.from_marker((), {"zookeeper": 3, "env": "production"}, where="m.py",
                                   env_override="testing")
    assert spec.environment == "testing"
    assert ClusterSpec.from_marker((), {"web": 1}, where="m.py").environment == "_default"


@pytest.mark.parametrize("args,kwargs,message", [
    (("web",), {}, "keywords only"),
    ((), {"env": "production"}, "names no role"),
    ((), {"web": 0}, r"cluster\(web=0\): the count must be a whole number >= 1"),
    ((), {"web": True}, "whole number >= 1"),
    ((), {"web": "2"}, "whole number >= 1"),
    ((), {"web": 1, "env": ""}, "environment must be a name"),
])
def test_from_marker_refuses(args, kwargs, message):
    with pytest.raises(UsageError, match=message) as info:
        ClusterSpec.from_marker(args, kwargs, where="role_specs/test_x.py")
    assert str(info.value).startswith("role_specs/test_x.py: ")


def test_direct_construction_validates():
    for roles in ({}, {"web": 0}, {"web": "2"}, {"": 1}):
        with pytest.raises(UsageError):
            ClusterSpec(roles)

"""The package layer lists every name of a multi-package resource.

The why-run plan (harness/agent/runner.py plan) records a multi-package resource once, under
its joined key (package[curl, git], chef/chef lib/chef/resource.rb:87 `v.join(", ")`), with
`package_name` a list and `version` a string or a list; package_list must give each name,
pinned by the version at its index (lib/chef/provider/package.rb:626-627 new_version_array
`[ new_resource.version ].flatten`, read by index in each_package), so those packages go into
the layer like single ones.
"""
from __future__ import annotations

from test_agent_support import FakeApi, FakeRunner

from harness.agent.cookbooks import FileCache
from harness.agent.runner import Run, plan
from harness.nodes.layers import package_list

RECIPE = """\
package(["curl", "git"])
package("tools", package_name=["jq", "make"], version=["1.7.1-3", None])
package(["gcc", "g++"], version="4:12.2.0-3")
package(["strace", "gdb"], only_if="true")
package([])
package("less")
"""


def why_run_plan(tmp_path, recipe: str) -> list[dict]:
    api = FakeApi(cookbooks={"app": {"recipes/default.py": recipe}}, recipes=["app::default"])
    run = Run(api, "web-1", why_run=True, facts={}, cache=FileCache(tmp_path / "c"),
              run=FakeRunner(), out=lambda line: None)
    return plan(run)


def test_a_why_run_plan_lists_every_package_of_a_multi_package_resource(tmp_path):
    """A list name or package_name gives every name; a version list pins by index; a
    String version pins the first name only (Chef's `[version].flatten`); a guarded one
    stays out as single ones do; `package([])` adds nothing."""
    entries = why_run_plan(tmp_path, RECIPE)
    first = entries[0]
    assert (first["resource"], first["properties"]["package_name"]) == (
        "package[curl, git]", ["curl", "git"])
    assert package_list(entries) == ["curl", "g++", "gcc=4:12.2.0-3", "git", "jq=1.7.1-3",
                                     "less", "make"]


def test_plan_entries_with_lists_give_a_spec_per_name():
    """A version list shorter than the names leaves the rest unpinned; "" is no version."""
    entry = {"resource": "package[a, b, c]", "action": "upgrade",
             "properties": {"package_name": ["a", "b", "c"], "version": ["", "2"],
                            "options": []}}
    assert package_list([entry]) == ["a", "b=2", "c"]

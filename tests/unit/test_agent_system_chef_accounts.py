"""group pinned to Chef's (audit findings 2, 7, 11 and C's members string).

Sources, chef/chef 19.4.14: lib/chef/resource/group.rb (members: `[String, Array], default:
[]`, coerce `arg.is_a?(Array) ? arg.uniq : arg.split(/\\s*,\\s*/)`; append and system typed
[TrueClass, FalseClass]), lib/chef/provider/group.rb (compare_group), provider/group/groupadd.rb
(create_group: groupadd then modify_group_members; manage_group: `groupmod [-g GID] NAME` then
modify_group_members) and provider/group/gpasswd.rb (set_members: `gpasswd -M ""` for none).
"""
from __future__ import annotations

import pytest
from test_agent_support import FakeRunner, context

from harness.agent.accounts import Group
from harness.agent.errors import ResourceFailure


def existing(line: str) -> FakeRunner:
    return FakeRunner().when(["getent", "group"], out=line + "\n")


def test_group_without_members_empties_an_existing_group():
    """members defaults to [] and append to false: compare_group's `elsif
    !group_members_match?` finds [] != current, so manage_group runs `groupmod NAME` and
    gpasswd.rb set_members([]) `gpasswd -M "" NAME` (Chef's gpasswd_spec.rb "sets group's
    members to 'none'"). An empty group is up to date."""
    run = existing("docker:x:999:alice,bob")
    ctx, lines = context(run=run)
    assert Group(ctx, "docker").apply("create") is True
    assert run.calls[1:] == [["groupmod", "docker"], ["gpasswd", "-M", "", "docker"]]
    assert '    - gpasswd -M "" docker' in lines
    run = existing("docker:x:999:")
    ctx, _ = context(run=run)
    assert Group(ctx, "docker").apply("create") is False
    assert run.calls == [["getent", "group", "docker"]]


def test_new_group_sets_its_members_after_groupadd():
    """create_group: `groupadd [-g GID] NAME [-r]` (set_options, then groupadd_options), then
    modify_group_members: `gpasswd -M LIST NAME`, `-M ""` when there are none; with append,
    one `gpasswd -a` per member."""
    run = FakeRunner().when(["getent", "group"], rc=2)
    ctx, _ = context(run=run)
    assert Group(ctx, "svc", gid=1600, system=True).apply("create") is True
    assert Group(ctx, "ops", members=["a", "b"]).apply("create") is True
    assert Group(ctx, "adm2", members=["a"], append=True).apply("create") is True
    assert [c for c in run.calls if c[0] != "getent"] == [
        ["groupadd", "-g", "1600", "svc", "-r"], ["gpasswd", "-M", "", "svc"],
        ["groupadd", "ops"], ["gpasswd", "-M", "a,b", "ops"],
        ["groupadd", "adm2"], ["gpasswd", "-a", "a", "adm2"]]


def test_append_adds_only_missing_members_after_groupmod():
    run = existing("sudo:x:27:alice")
    ctx, _ = context(run=run)
    assert Group(ctx, "sudo", members=["alice"], append=True).apply("create") is False
    assert Group(ctx, "sudo", members=["alice", "ops"], append=True).apply("create") is True
    assert [c for c in run.calls if c[0] != "getent"] == [
        ["groupmod", "sudo"], ["gpasswd", "-a", "ops", "sudo"]]


def test_duplicate_members_are_made_unique():
    """The coerce's `arg.uniq`: ["a", "a"] is ["a"], up to date on a group holding a."""
    run = existing("web:x:1700:a")
    ctx, _ = context(run=run)
    res = Group(ctx, "web", members=["a", "b", "a"])
    assert res.props["members"] == ["a", "b"]
    assert Group(ctx, "web", members=["a", "a"]).apply("create") is False


@pytest.mark.parametrize("members, expected", [
    ("alice", ["alice"]), ("alice, bob ,carol", ["alice", "bob", "carol"]),
    ("alice,bob,", ["alice", "bob"]), ("", []), (",alice", ["", "alice"]),
])
def test_members_string_is_split_on_commas_as_ruby(members, expected):
    """`arg.split(/\\s*,\\s*/)`: Ruby's String#split keeps a leading empty field, drops
    trailing ones, and gives [] for an empty string."""
    ctx, _ = context()
    assert Group(ctx, "g", members=members).props["members"] == expected


def test_members_string_reaches_gpasswd_as_one_list():
    run = existing("ops:x:1600:")
    ctx, _ = context(run=run)
    assert Group(ctx, "ops", members="alice,bob").apply("create") is True
    assert run.calls[-1] == ["gpasswd", "-M", "alice,bob", "ops"]


def test_members_none_fails_chefs_type_check():
    """members is typed [String, Array]; nil is refused (params_validate _pv_is)."""
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match="Property members must be one of: String, Array!"):
        Group(ctx, "g", members=None)


@pytest.mark.parametrize("prop", ["append", "system"])
def test_group_boolean_properties_refuse_other_values(prop):
    """group.rb types append and system [TrueClass, FalseClass]: "false" is refused, not read
    as true."""
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match=f"{prop} must be True or False, not 'false'"):
        Group(ctx, "adm", members=["ops"], **{prop: "false"})

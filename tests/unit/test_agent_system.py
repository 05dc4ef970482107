"""package, service, user, group, execute through the command seam (real ones run in
container tests): the commands they choose and their idempotence checks."""
from __future__ import annotations

import pytest
from test_agent_support import FakeRunner, context, unit_state

from harness.agent.accounts import Group, User
from harness.agent.errors import ResourceFailure
from harness.agent.execute import Execute
from harness.agent.packages import Package, Service


def policy(installed: str | None, candidate: str | None, *versions: str) -> str:
    """`apt-cache policy` output, the lines Chef's apt provider reads."""
    table = "".join(f"     {v} 500\n        500 http://deb.debian.org/debian bookworm/main "
                    "amd64 Packages\n" for v in versions)
    return (f"pkg:\n  Installed: {installed or '(none)'}\n  Candidate: {candidate or '(none)'}\n"
            f"  Version table:\n{table}")


INSTALLED = policy("3.8.0-11", "3.8.0-11", "3.8.0-11", "3.9.0-1")


def test_package_installed_is_up_to_date():
    run = FakeRunner().when(["apt-cache", "policy"], out=INSTALLED)
    ctx, _ = context(run=run)
    assert Package(ctx, "zookeeperd").apply("install") is False
    assert run.calls == [["apt-cache", "policy", "zookeeperd"]]


def test_package_install_uses_noninteractive_apt():
    run = FakeRunner().when(["apt-cache", "policy"], out=policy(None, "3.8.0-11", "3.8.0-11"))
    ctx, lines = context(run=run)
    assert Package(ctx, "zookeeperd").apply("install") is True
    [install] = run.ran("apt-get")
    # Chef's apt provider (lib/chef/provider/package/apt.rb install_package): `apt-get -q -y
    # --allow-downgrades -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold
    # install PKG=CANDIDATE`, so recommended packages install too
    assert install == ["apt-get", "-q", "-y", "--allow-downgrades",
                       "-o", "Dpkg::Options::=--force-confdef",
                       "-o", "Dpkg::Options::=--force-confold", "install", "zookeeperd=3.8.0-11"]
    env = run.kwargs[run.calls.index(install)]["env"]
    assert env["DEBIAN_FRONTEND"] == "noninteractive"
    assert "    - apt-get install zookeeperd=3.8.0-11" in lines


def test_package_version_and_remove():
    run = FakeRunner().when(["apt-cache", "policy"], out=INSTALLED)
    ctx, _ = context(run=run)
    assert Package(ctx, "zookeeperd", version="3.8.0-11").apply("install") is False
    assert Package(ctx, "zookeeperd", version="3.9.0-1").apply("install") is True
    assert run.ran("apt-get", "-q")[-1][-2:] == ["install", "zookeeperd=3.9.0-1"]
    assert Package(ctx, "zookeeperd", action="remove").apply("remove") is True
    assert run.ran("apt-get", "-q", "-y", "remove", "zookeeperd")
    run2 = FakeRunner().when(["apt-cache", "policy"], out=policy(None, "3.8.0-11", "3.8.0-11"))
    ctx2, _ = context(run=run2)
    assert Package(ctx2, "zookeeperd", action="remove").apply("remove") is False


SHOW = ["systemctl", "--system", "show", "-p", "UnitFileState", "-p", "ActiveState"]


def test_service_start_enable_are_idempotent():
    """Chef's systemd provider (lib/chef/provider/service/systemd.rb) loads the state with one
    `systemctl --system show -p UnitFileState -p ActiveState` per action; an enabled, active
    unit is left alone."""
    run = unit_state("active", "enabled")
    ctx, _ = context(run=run)
    svc = Service(ctx, "zookeeper", action=["enable", "start"])
    assert [svc.apply(a) for a in svc.action_list] == [False, False]
    assert run.calls == [SHOW + ["zookeeper"]] * 2


def test_service_starts_and_enables_when_needed_without_a_daemon_reload():
    """enable_service / start_service run `systemctl --system VERB NAME`; Chef's service never
    runs daemon-reload (only systemd_unit does), so neither do we."""
    run = unit_state("inactive", "disabled")
    ctx, _ = context(run=run)
    svc = Service(ctx, "zookeeper", action=["enable", "start"])
    assert [svc.apply(a) for a in svc.action_list] == [True, True]
    assert run.ran("systemctl", "--system", "enable", "zookeeper")
    assert run.ran("systemctl", "--system", "start", "zookeeper")
    assert not run.ran("systemctl", "daemon-reload")
    assert not run.ran("systemctl", "--system", "daemon-reload")


def test_service_unit_changed_on_disk_is_restarted_as_loaded_and_said():
    """systemctl warns when the file differs from the loaded unit; Chef restarts anyway (the
    old definition keeps running). The warning reaches the converge output."""
    warning = ("Warning: The unit file, source configuration file or drop-ins of app.service "
               "changed on disk. Run 'systemctl daemon-reload' to reload units.")
    run = unit_state("active", "enabled").when(["systemctl", "--system", "restart"], err=warning)
    ctx, lines = context(run=run)
    assert Service(ctx, "app").apply("restart") is True
    assert not run.ran("systemctl", "--system", "daemon-reload")
    assert any("changed on disk" in line for line in lines)


def test_service_restart_always_changes_and_failure_shows_output():
    run = FakeRunner().when(["systemctl", "--system", "restart"], rc=1,
                            err="Job failed. See journalctl")
    ctx, _ = context(run=run)
    with pytest.raises(ResourceFailure, match="(?s)systemctl restart zk failed.*Job failed"):
        Service(ctx, "zk").apply("restart")
    assert run.calls == [["systemctl", "--system", "restart", "zk"]], "no state needed"


@pytest.mark.parametrize("active, changed", [("active", True), ("inactive", False),
                                             ("activating", False)])
def test_service_reload_only_when_running(active, changed):
    """Chef's `action :reload` acts only `if current_resource.running` (ActiveState
    `active`): a stopped service is not started by a reload."""
    run = unit_state(active, "enabled")
    ctx, _ = context(run=run)
    assert Service(ctx, "postfix").apply("reload") is changed
    assert bool(run.ran("systemctl", "--system", "reload")) is changed
    assert not run.ran("systemctl", "--system", "start")


@pytest.mark.parametrize("file_state", ["masked", "static", "indirect"])
def test_service_enable_disable_skip_units_that_are_not_enableable(file_state):
    """enableable?: masked, static and indirect units are neither enabled nor disabled."""
    run = unit_state("inactive", file_state)
    ctx, _ = context(run=run)
    assert Service(ctx, "x").apply("enable") is False
    assert Service(ctx, "x").apply("disable") is False
    assert not run.ran("systemctl", "--system", "enable")
    assert not run.ran("systemctl", "--system", "disable")


@pytest.mark.parametrize("file_state, enabled", [
    ("enabled", True), ("generated", True), ("alias", True), ("disabled", False),
    ("enabled-runtime", False), ("linked", False), ("", False)])
def test_service_enabled_states_as_chef(file_state, enabled):
    """is_enabled?: enabled static generated alias indirect; enabled-runtime is not."""
    run = unit_state("inactive", file_state)
    ctx, _ = context(run=run)
    assert Service(ctx, "x").apply("enable") is not enabled
    assert Service(ctx, "x").apply("disable") is enabled


@pytest.mark.parametrize("rc, enabled", [(0, True), (1, False)])
def test_service_bad_unit_file_state_asks_is_enabled(rc, enabled):
    """UnitFileState `bad` (sysv compat): `systemctl is-enabled NAME --quiet` decides."""
    run = unit_state("inactive", "bad").when(["systemctl", "--system", "is-enabled"], rc=rc)
    ctx, _ = context(run=run)
    assert Service(ctx, "x").apply("enable") is not enabled
    assert run.ran("systemctl", "--system", "is-enabled", "x", "--quiet")


def test_service_mask_unmask_and_stop():
    run = unit_state("active", "masked")
    ctx, _ = context(run=run)
    assert Service(ctx, "x").apply("mask") is False
    assert Service(ctx, "x").apply("unmask") is True
    assert Service(ctx, "x").apply("stop") is True
    assert run.ran("systemctl", "--system", "unmask", "x")
    assert run.ran("systemctl", "--system", "stop", "x")


def test_service_without_state_fails_as_chef():
    """systemd_service_status raises when `systemctl show` lacks either property."""
    ctx, _ = context(run=FakeRunner().when(["systemctl", "--system", "show"], out="Id=x\n"))
    with pytest.raises(ResourceFailure, match="'systemctl show' not reporting status for x"):
        Service(ctx, "x").apply("start")


def test_service_why_run_says_what_would_run():
    ctx, _ = context(run=unit_state("active", "enabled"))
    svc = Service(ctx, "x")
    assert [svc.would_change(a) for a in ("start", "stop", "restart", "reload", "enable",
                                          "nothing")] == [False, True, True, True, False, False]


def test_service_default_action_is_nothing():
    ctx, _ = context()
    assert Service(ctx, "zk").action_list == ["nothing"]


def test_user_created_with_options():
    """provider/user/linux.rb create_user: useradd with -c -g -s -u -d for what is set, -r
    for system, -m with manage_home."""
    run = FakeRunner().when(["getent", "passwd"], rc=2)
    ctx, _ = context(run=run)
    assert User(ctx, "ops", uid=1500, home="/home/ops", system=True, manage_home=True
                ).apply("create") is True
    [cmd] = run.ran("useradd")
    assert cmd == ["useradd", "-u", "1500", "-d", "/home/ops", "-r", "-m", "ops"]


def test_user_defaults_are_chefs():
    """lib/chef/resource/user.rb: manage_home defaults to false (useradd -M), no default
    shell (useradd's own applies), and no `groups` property: a recipe passing it fails at
    compile as in Chef (membership is the group resource's members + append)."""
    run = FakeRunner().when(["getent", "passwd"], rc=2)
    ctx, _ = context(run=run)
    assert User(ctx, "svc").apply("create") is True
    assert run.ran("useradd") == [["useradd", "-M", "svc"]]
    with pytest.raises(ResourceFailure, match="unknown property groups"):
        User(ctx, "ops", groups=["sudo"])


@pytest.mark.parametrize("prop", ["manage_home", "system"])
def test_user_boolean_properties_refuse_other_values(prop):
    """lib/chef/resource/user.rb types manage_home and system [TrueClass, FalseClass]."""
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match=f"{prop} must be True or False, not 'yes'"):
        User(ctx, "ops", **{prop: "yes"})


def test_user_up_to_date_and_drift():
    run = FakeRunner().when(["getent", "passwd"], out="ops:x:1500:1500::/home/ops:/bin/bash\n")
    ctx, _ = context(run=run)
    assert User(ctx, "ops", uid=1500, home="/home/ops").apply("create") is False
    assert User(ctx, "ops", shell="/bin/sh", home="/srv/ops", manage_home=True
                ).apply("create") is True
    [cmd] = run.ran("usermod")
    assert cmd == ["usermod", "-s", "/bin/sh", "-d", "/srv/ops", "-m", "ops"]


def test_group_create_and_members():
    run = FakeRunner().when(["getent", "group"], rc=2)
    ctx, _ = context(run=run)
    assert Group(ctx, "ops", gid=1600, members=["a"]).apply("create") is True
    assert run.ran("groupadd", "-g", "1600", "ops") and run.ran("gpasswd", "-M", "a", "ops")
    run2 = FakeRunner().when(["getent", "group"], out="ops:x:1600:a,b\n")
    ctx2, _ = context(run=run2)
    assert Group(ctx2, "ops", gid=1600, members=["b", "a"]).apply("create") is False
    assert Group(ctx2, "ops", members=["c"], append=True).apply("create") is True
    assert run2.ran("gpasswd", "-a", "c", "ops")


def test_execute_runs_shell_with_options(tmp_path):
    run = FakeRunner()
    ctx, _ = context(run=run)
    res = Execute(ctx, "init-db", command="make init", cwd=str(tmp_path),
                  environment={"A": "1"}, user="postgres")
    assert res.skip_reason() is None and res.apply("run") is True
    assert run.calls == ["make init"]
    assert run.kwargs[0]["cwd"] == str(tmp_path) and run.kwargs[0]["env"] == {"A": "1"}
    assert run.kwargs[0]["user"] == "postgres"


def test_execute_creates_and_failure(tmp_path):
    (tmp_path / "done").write_text("")
    ctx, _ = context(run=FakeRunner().when("false", rc=2, err="boom"))
    done = Execute(ctx, "x", command="true", creates=str(tmp_path / "done"))
    assert done.skip_reason() is None and done.apply("run") is False, "up to date, in the action"
    assert Execute(ctx, "x", command="true", creates="done", cwd=str(tmp_path)).apply("run") is False
    with pytest.raises(ResourceFailure, match="command exited 2: false\nboom"):
        Execute(ctx, "false").apply("run")


def test_unknown_property_and_action_are_declaration_errors():
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match="unknown property colour"):
        Execute(ctx, "x", colour="red")
    with pytest.raises(ResourceFailure, match="unknown action 'launch'"):
        Service(ctx, "x", action="launch")


def test_execute_guards_run_in_its_cwd_env_and_user(tmp_path):
    run = FakeRunner().when("test -e marker", rc=1)
    ctx, _ = context(run=run)
    res = Execute(ctx, "x", command="make", cwd=str(tmp_path), user="app",
                  environment={"K": "v"}, only_if="test -e marker")
    assert res.skip_reason() == "only_if"
    assert run.calls == ["test -e marker"]
    assert run.kwargs[0] == {"cwd": str(tmp_path), "user": "app", "env": {"K": "v"}}

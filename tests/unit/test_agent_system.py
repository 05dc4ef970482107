"""package, service, user, group, execute through the command seam (real ones run in
container tests): the commands they choose and their idempotence checks."""
from __future__ import annotations

import pytest
from test_agent_support import FakeRunner, context

from harness.agent.accounts import Group, User
from harness.agent.errors import ResourceFailure
from harness.agent.execute import Execute
from harness.agent.packages import Package, Service

INSTALLED = "install ok installed 3.8.0-11"


def test_package_installed_is_up_to_date():
    run = FakeRunner().when(["dpkg-query"], out=INSTALLED)
    ctx, _ = context(run=run)
    assert Package(ctx, "zookeeperd").apply("install") is False
    assert run.ran("apt-get") == []


def test_package_install_uses_noninteractive_apt(monkeypatch):
    monkeypatch.setattr("glob.glob", lambda pattern: ["/var/lib/apt/lists/x_Packages"])
    run = FakeRunner().when(["dpkg-query"], rc=1, err="no packages found")
    ctx, lines = context(run=run)
    assert Package(ctx, "zookeeperd").apply("install") is True
    [install] = run.ran("apt-get", "install")
    assert install[-1] == "zookeeperd" and "--no-install-recommends" in install
    assert "Dpkg::Options::=--force-confdef" in install
    assert "Dpkg::Options::=--force-confold" in install
    env = run.kwargs[run.calls.index(install)]["env"]
    assert env["DEBIAN_FRONTEND"] == "noninteractive"
    assert run.ran("apt-get", "update") == [], "lists exist: no update"
    assert "    - apt-get install zookeeperd" in lines


def test_apt_update_once_when_lists_are_empty(monkeypatch):
    monkeypatch.setattr("glob.glob", lambda pattern: [])
    run = FakeRunner().when(["dpkg-query"], rc=1)
    ctx, _ = context(run=run)
    Package(ctx, "a").apply("install")
    Package(ctx, "b").apply("install")
    assert len(run.ran("apt-get", "update")) == 1


def test_failed_install_updates_once_and_retries(monkeypatch):
    monkeypatch.setattr("glob.glob", lambda pattern: ["x_Packages"])
    run = FakeRunner().when(["dpkg-query"], rc=1).when(["apt-get", "install"], rc=100,
                                                       err="E: Unable to locate package nope")
    ctx, _ = context(run=run)
    with pytest.raises(ResourceFailure, match="(?s)apt-get install nope failed.*Unable to locate"):
        Package(ctx, "nope").apply("install")
    assert len(run.ran("apt-get", "install")) == 2 and len(run.ran("apt-get", "update")) == 1


def test_package_version_and_remove(monkeypatch):
    monkeypatch.setattr("glob.glob", lambda pattern: ["x_Packages"])
    run = FakeRunner().when(["dpkg-query"], out=INSTALLED)
    ctx, _ = context(run=run)
    assert Package(ctx, "zookeeperd", version="3.8.0-11").apply("install") is False
    assert Package(ctx, "zookeeperd", version="3.9.0-1").apply("install") is True
    assert run.ran("apt-get", "install")[-1][-1] == "zookeeperd=3.9.0-1"
    assert Package(ctx, "zookeeperd", action="remove").apply("remove") is True
    assert run.ran("apt-get", "remove")
    run2 = FakeRunner().when(["dpkg-query"], rc=1)
    ctx2, _ = context(run=run2)
    assert Package(ctx2, "zookeeperd", action="remove").apply("remove") is False


def test_service_start_enable_are_idempotent():
    run = FakeRunner().when(["systemctl", "is-active"], rc=0).when(
        ["systemctl", "is-enabled"], out="enabled\n")
    ctx, _ = context(run=run)
    svc = Service(ctx, "zookeeper", action=["enable", "start"])
    assert [svc.apply(a) for a in svc.action_list] == [False, False]
    assert not run.ran("systemctl", "start") and not run.ran("systemctl", "enable")


def test_service_starts_and_enables_when_needed():
    run = FakeRunner().when(["systemctl", "is-active"], rc=3).when(
        ["systemctl", "is-enabled"], rc=1, out="disabled\n").when(
        ["systemctl", "show"], out="yes\n")
    ctx, _ = context(run=run)
    svc = Service(ctx, "zookeeper", action=["enable", "start"])
    assert [svc.apply(a) for a in svc.action_list] == [True, True]
    assert run.ran("systemctl", "enable", "zookeeper") and run.ran("systemctl", "start")
    assert run.ran("systemctl", "daemon-reload"), "changed unit files are reloaded"


def test_service_restart_always_changes_and_failure_shows_output():
    run = FakeRunner().when(["systemctl", "restart"], rc=1, err="Job failed. See journalctl")
    ctx, _ = context(run=run)
    with pytest.raises(ResourceFailure, match="(?s)systemctl restart zk failed.*Job failed"):
        Service(ctx, "zk").apply("restart")


def test_service_default_action_is_nothing():
    ctx, _ = context()
    assert Service(ctx, "zk").action_list == ["nothing"]


def test_user_created_with_options():
    run = FakeRunner().when(["getent", "passwd"], rc=2)
    ctx, _ = context(run=run)
    assert User(ctx, "ops", uid=1500, home="/home/ops", groups=["adm"], system=True
                ).apply("create") is True
    [cmd] = run.ran("useradd")
    assert cmd[-1] == "ops" and ["-u", "1500"] == cmd[cmd.index("-u"):cmd.index("-u") + 2]
    assert "-m" in cmd and "-r" in cmd and "adm" in cmd


def test_user_up_to_date_and_drift():
    run = FakeRunner().when(["getent", "passwd"], out="ops:x:1500:1500::/home/ops:/bin/bash\n"
                            ).when(["id", "-nG"], out="ops adm\n")
    ctx, _ = context(run=run)
    assert User(ctx, "ops", uid=1500, home="/home/ops", groups=["adm"]).apply("create") is False
    assert User(ctx, "ops", shell="/bin/sh", groups=["adm", "sudo"]).apply("create") is True
    [cmd] = run.ran("usermod")
    assert ["-s", "/bin/sh"] == cmd[1:3] and cmd[-3:] == ["-G", "sudo", "ops"]


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
                  environment={"A": 1}, user="postgres")
    assert res.skip_reason() is None and res.apply("run") is True
    assert run.calls == ["make init"]
    assert run.kwargs[0]["cwd"] == str(tmp_path) and run.kwargs[0]["env"] == {"A": "1"}
    assert run.kwargs[0]["user"] == "postgres"


def test_execute_creates_and_failure(tmp_path):
    (tmp_path / "done").write_text("")
    ctx, _ = context(run=FakeRunner().when("false", rc=2, err="boom"))
    assert Execute(ctx, "x", command="true", creates=str(tmp_path / "done")).skip_reason()
    assert Execute(ctx, "x", command="true", creates="done", cwd=str(tmp_path)).skip_reason()
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

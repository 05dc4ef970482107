"""Resources that Chef builds on inner `file`/`template` resources back up like them.

cron_d (lib/chef/resource/cron/cron_d.rb: `template "/etc/cron.d/NAME"`, `file ... action
:delete`), sysctl (resource/sysctl.rb: `file "CONF_DIR/99-chef-KEY.conf"`, :remove's `file
... action :delete`) and systemd_unit (provider/systemd_unit.rb manage_unit_file: `file
unit_path`) declare those inner resources with the default `backup 5` (resource/file.rb), so
provider/file.rb keeps a copy of the old content in file_backup_path (util/backup.rb) before
each replacement and each delete. Without it the harness's host had no trace of an old cron
job or unit where production keeps five.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from test_agent_support import FakeRunner, context

from harness.agent import backup, cron, systemd
from harness.agent.cron import CronD
from harness.agent.sysctl import Sysctl


def copies(path: Path) -> list[str]:
    """The backups of `path` (their contents), oldest first."""
    folder = Path(backup.FILE_BACKUP_PATH or "") / str(path.parent).lstrip("/")
    if not folder.is_dir():
        return []
    return [p.read_text() for p in sorted(folder.glob(f"{path.name}.chef-*"))]


@pytest.fixture
def cron_d(tmp_path, monkeypatch):
    monkeypatch.setattr(cron, "CRON_D", str(tmp_path))
    return tmp_path


def test_cron_d_backs_up_what_it_replaces_and_deletes(cron_d):
    ctx, _ = context()
    job = cron_d / "report"
    CronD(ctx, "report", command="/bin/true", minute="5").apply("create")
    assert copies(job) == []                       # nothing to back up on create
    first = job.read_text()
    CronD(ctx, "report", command="/bin/true", minute="6").apply("create")
    assert copies(job) == [first]
    second = job.read_text()
    CronD(ctx, "report", action="delete").apply("delete")
    assert not job.exists() and copies(job) == [first, second]


def test_sysctl_backs_up_its_file_on_change_and_remove(tmp_path):
    runner = FakeRunner().when(["sysctl", "-n"], out="1\n")
    ctx, _ = context(run=runner)
    conf = tmp_path / "99-chef-vm.swappiness.conf"
    conf.write_text("vm.swappiness = 1\n")
    Sysctl(ctx, "vm.swappiness", value=10, conf_dir=str(tmp_path)).apply("apply")
    assert copies(conf) == ["vm.swappiness = 1\n"]
    Sysctl(ctx, "vm.swappiness", conf_dir=str(tmp_path), action="remove").apply("remove")
    assert not conf.exists() and copies(conf) == ["vm.swappiness = 1\n", "vm.swappiness = 10\n"]


def test_systemd_unit_backs_up_the_unit_it_replaces(tmp_path, monkeypatch):
    monkeypatch.setattr(systemd, "UNIT_DIR", str(tmp_path))
    ctx, _ = context(run=FakeRunner())
    for exec_start in ("/bin/a", "/bin/b"):
        systemd.SystemdUnit(ctx, "app.service", content=f"[Service]\nExecStart={exec_start}\n",
                            verify=False, action="create").apply("create")
    assert copies(tmp_path / "app.service") == ["[Service]\nExecStart=/bin/a\n"]
    systemd.SystemdUnit(ctx, "app.service", action="delete").apply("delete")
    assert copies(tmp_path / "app.service") == ["[Service]\nExecStart=/bin/a\n",
                                                "[Service]\nExecStart=/bin/b\n"]

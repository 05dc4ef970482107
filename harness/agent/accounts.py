"""user and group resources: checked with getent, changed with the shadow tools."""
from __future__ import annotations

from typing import Any

from .resource import Resource


def _getent(resource: Resource, database: str, name: str) -> list[str] | None:
    result = resource.ctx.run(["getent", database, name])
    if result.rc != 0 or not result.out.strip():
        return None
    return result.out.strip().splitlines()[0].split(":")


class User(Resource):
    """user, as chef/chef lib/chef/resource/user.rb and provider/user/linux.rb: no default
    shell (useradd's own applies), `manage_home` false (useradd -M), and no `groups`
    property (Chef has none: group membership is the group resource's `members` with
    `append`). useradd/usermod get -c -g -s -u -d for what is set and differs, useradd
    also -r (system) and -m/-M; usermod -m only with manage_home when the home moves."""

    kind = "user"
    actions = ("create", "remove")
    default_action = "create"
    properties = {"uid": None, "gid": None, "home": None, "shell": None,
                  "manage_home": False, "system": False, "comment": None}

    def validate(self) -> None:
        self.check_booleans("manage_home", "system")

    def action_create(self) -> bool:
        entry = _getent(self, "passwd", self.name)
        if entry is None:
            return self._add()
        _, _, uid, gid, comment, home, shell = (entry + [""] * 7)[:7]
        opts: list[str] = []
        wanted: dict[str, Any] = self.props
        if wanted["comment"] is not None and wanted["comment"] != comment:
            opts += ["-c", wanted["comment"]]
        if wanted["gid"] is not None and not self._same_group(str(wanted["gid"]), gid):
            opts += ["-g", str(wanted["gid"])]
        if wanted["shell"] and wanted["shell"] != shell:
            opts += ["-s", wanted["shell"]]
        if wanted["uid"] is not None and str(wanted["uid"]) != uid:
            opts += ["-u", str(wanted["uid"])]
        if wanted["home"] and wanted["home"] != home:
            opts += ["-d", wanted["home"]] + (["-m"] if wanted["manage_home"] else [])
        if not opts:
            return False
        self.ctx.step(f"usermod {' '.join(opts)} {self.name}")
        self.command(["usermod", *opts, self.name], "usermod")
        return True

    def _add(self) -> bool:
        p = self.props
        opts = ["-c", p["comment"]] if p["comment"] is not None else []
        opts += ["-g", str(p["gid"])] if p["gid"] is not None else []
        opts += ["-s", p["shell"]] if p["shell"] else []
        opts += ["-u", str(p["uid"])] if p["uid"] is not None else []
        opts += ["-d", p["home"]] if p["home"] else []
        opts += ["-r"] if p["system"] else []
        opts += ["-m"] if p["manage_home"] else ["-M"]
        self.ctx.step(f"useradd {' '.join(opts)} {self.name}")
        self.command(["useradd", *opts, self.name], "useradd")
        return True

    def _same_group(self, wanted: str, gid: str) -> bool:
        if wanted == gid:
            return True
        entry = _getent(self, "group", wanted)
        return entry is not None and entry[2] == gid

    def action_remove(self) -> bool:
        if _getent(self, "passwd", self.name) is None:
            return False
        self.ctx.step(f"userdel {self.name}")
        self.command(["userdel", *(["-r"] if self.props["manage_home"] else []), self.name],
                     "userdel")
        return True


class Group(Resource):
    kind = "group"
    actions = ("create", "remove")
    default_action = "create"
    properties = {"gid": None, "members": None, "append": False, "system": False}

    def action_create(self) -> bool:
        entry = _getent(self, "group", self.name)
        changed = False
        if entry is None:
            opts = (["-g", str(self.props["gid"])] if self.props["gid"] is not None else [])
            opts += ["-r"] if self.props["system"] else []
            self.ctx.step(f"groupadd {' '.join(opts)} {self.name}".replace("  ", " "))
            self.command(["groupadd", *opts, self.name], "groupadd")
            entry, changed = [self.name, "x", str(self.props["gid"] or ""), ""], True
        elif self.props["gid"] is not None and str(self.props["gid"]) != entry[2]:
            self.ctx.step(f"groupmod -g {self.props['gid']} {self.name}")
            self.command(["groupmod", "-g", str(self.props["gid"]), self.name], "groupmod")
            changed = True
        return self._members(entry) or changed

    def _members(self, entry: list[str]) -> bool:
        wanted = self.props["members"]
        if wanted is None:
            return False
        current = [m for m in (entry[3] if len(entry) > 3 else "").split(",") if m]
        if self.props["append"]:
            missing = [m for m in wanted if m not in current]
            for member in missing:
                self.ctx.step(f"gpasswd -a {member} {self.name}")
                self.command(["gpasswd", "-a", member, self.name], "gpasswd -a")
            return bool(missing)
        if sorted(current) == sorted(wanted):
            return False
        self.ctx.step(f"gpasswd -M {','.join(wanted)} {self.name}")
        self.command(["gpasswd", "-M", ",".join(wanted), self.name], "gpasswd -M")
        return True

    def action_remove(self) -> bool:
        if _getent(self, "group", self.name) is None:
            return False
        self.ctx.step(f"groupdel {self.name}")
        self.command(["groupdel", self.name], "groupdel")
        return True

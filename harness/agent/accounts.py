"""user and group resources: checked with getent, changed with the shadow tools."""
from __future__ import annotations

import re
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
    """group, as chef/chef lib/chef/resource/group.rb with provider/group.rb, groupadd.rb and
    gpasswd.rb (the provider on Linux). `members` defaults to [] and, unless `append`, is the
    whole list: an existing group whose members differ is set with `gpasswd -M` (`-M ""`
    empties it), after a `groupmod [-g GID] NAME`. A String of members is split on commas
    and an Array made unique, as the property's coerce does; a new group runs `groupadd
    [-g GID] NAME [-r]` and then the same member commands."""

    kind = "group"
    actions = ("create", "remove")
    default_action = "create"
    properties = {"gid": None, "members": [], "append": False, "system": False}

    def validate(self) -> None:
        self.check_booleans("append", "system")
        if not self.pending("members"):
            try:
                self.props["members"] = coerce_members(self.props["members"])
            except ValueError as exc:
                raise self.fail(str(exc)) from None

    def action_create(self) -> bool:
        entry = _getent(self, "group", self.name)
        gid, name = self.props["gid"], self.name
        if entry is None:
            argv = ["groupadd", *(["-g", str(gid)] if gid is not None else []), name,
                    *(["-r"] if self.props["system"] else [])]
            self.ctx.step(" ".join(argv))
            self.command(argv, "groupadd")
            self._set_members([])
            return True
        current = [m for m in (entry[3] if len(entry) > 3 else "").split(",") if m]
        new_gid = gid is not None and str(gid) != entry[2]
        if not new_gid and not self._members_differ(current):
            return False
        argv = ["groupmod", *(["-g", str(gid)] if new_gid else []), name]  # manage_group
        self.ctx.step(" ".join(argv))
        self.command(argv, "groupmod")
        self._set_members(current)
        return True

    def _members_differ(self, current: list[str]) -> bool:
        """compare_group: missing members with append, else the sorted lists differ."""
        members = self.props["members"]
        if self.props["append"]:
            return any(m not in current for m in members)
        return sorted(members) != sorted(current)

    def _set_members(self, current: list[str]) -> None:
        """modify_group_members: `gpasswd -a` per missing member with append, else
        `gpasswd -M LIST` (gpasswd.rb set_members: `-M ""` for no members)."""
        if self.props["append"]:
            for member in [m for m in self.props["members"] if m not in current]:
                self.ctx.step(f"gpasswd -a {member} {self.name}")
                self.command(["gpasswd", "-a", member, self.name], "gpasswd -a")
            return
        members = ",".join(self.props["members"])
        shown = members or '""'
        self.ctx.step(f"gpasswd -M {shown} {self.name}")
        self.command(["gpasswd", "-M", members, self.name], "gpasswd -M")

    def action_remove(self) -> bool:
        if _getent(self, "group", self.name) is None:
            return False
        self.ctx.step(f"groupdel {self.name}")
        self.command(["groupdel", self.name], "groupdel")
        return True


def coerce_members(value: Any) -> list[str]:
    """group.rb's members coerce: `arg.is_a?(Array) ? arg.uniq : arg.split(/\\s*,\\s*/)`
    (Ruby's split drops trailing empty fields); nil fails the [String, Array] type check."""
    if isinstance(value, str):
        fields = re.split(r"\s*,\s*", value)
        while fields and fields[-1] == "":
            fields.pop()
        return fields
    if isinstance(value, (list, tuple)):
        unique: list[str] = []
        for member in value:
            if member not in unique:
                unique.append(member)
        return unique
    raise ValueError(f"Property members must be one of: String, Array!  You passed {value!r}.")

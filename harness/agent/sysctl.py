"""sysctl: a kernel parameter set now (`sysctl -w`) and at boot (a file in /etc/sysctl.d).

Follows chef/chef lib/chef/resource/sysctl.rb: the current value counts only when both
`sysctl -n -e KEY` (tabs turned to spaces, stripped) and the file
CONF_DIR/99-chef-KEY.conf (`/` in the key turned into `.`) agree; otherwise, or when the value
differs, :apply runs `sysctl [-e ]-w "KEY=VALUE"`, writes the file (comment lines, then
`KEY = VALUE`) and runs `sysctl [-e ]-p`. :remove deletes the file and runs `sysctl -p`.
A list value is joined with spaces. Like Chef, the current file is read from /etc/sysctl.d
whatever conf_dir says.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from . import backup, fileutil
from .errors import ResourceFailure
from .resource import Resource

SYSCTL_D = "/etc/sysctl.d"
LINE_RE = re.compile(r"(.*) = (.*)")


def proc_sys_read_only(mounts: str = "/proc/mounts") -> bool:
    """True when /proc/sys is a read-only mount (Docker's default for containers)."""
    try:
        lines = Path(mounts).read_text().splitlines()
    except OSError:
        return False
    for line in lines:
        fields = line.split()
        if len(fields) > 3 and fields[1] == "/proc/sys":
            return "ro" in fields[3].split(",")
    return False


def coerce_value(value: Any) -> str:
    """Chef's coerce_value: Array -> joined by spaces, anything else -> to_s."""
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return str(value)


class Sysctl(Resource):
    kind = "sysctl"
    actions = ("apply", "remove")
    default_action = "apply"
    properties = {"key": None, "value": None, "comment": [], "conf_dir": SYSCTL_D,
                  "ignore_error": False}

    @property
    def key_name(self) -> str:
        return str(self.props["key"] or self.name)

    def conf_file(self, directory: str | None = None) -> Path:
        name = self.key_name.replace("/", ".")
        return Path(directory or self.props["conf_dir"]) / f"99-chef-{name}.conf"

    def validate(self) -> None:
        if "apply" in self.action_list and not self.pending("value") and self.props["value"] is None:
            raise self.fail("sysctl :apply needs value=")

    @property
    def value(self) -> str:
        return coerce_value(self.props["value"])

    def current_value(self) -> str | None:
        """get_sysctl_value: None unless the kernel and the 99-chef file agree."""
        result = self.ctx.run(["sysctl", "-n", "-e", self.key_name])
        live = result.out.replace("\t", " ").strip()
        if result.rc != 0:
            return None
        try:
            match = LINE_RE.search(self.conf_file(SYSCTL_D).read_text())
        except OSError:
            return None
        return live if match and match.group(2) == live else None

    def content(self) -> bytes:
        comments = self.props["comment"]
        lines = [f"# {c.strip()}" for c in ([comments] if isinstance(comments, str)
                                            else comments or [])]
        lines.append(f"{self.key_name} = {self.value}")
        return ("\n".join(lines) + "\n").encode()

    def would_change(self, action: str) -> bool:
        if action == "remove":
            return self.conf_file().exists()
        return self.current_value() != self.value

    def _flag(self) -> list[str]:
        return ["-e"] if self.props["ignore_error"] else []

    def action_apply(self) -> bool:
        current = self.current_value()
        if current == self.value:
            return False
        self.ctx.step(f"set {self.key_name} from {current!r} to {self.value!r}")
        try:
            self.command(["sysctl", *self._flag(), "-w", f"{self.key_name}={self.value}"],
                         "sysctl -w")
        except ResourceFailure as exc:
            if proc_sys_read_only():
                raise self.fail(f"{exc}\n/proc/sys is mounted read-only here (a container): "
                                "the kernel value cannot be set as on a host; see "
                                "docs/decisions.md (sysctl in nodes)") from None
            raise
        self.conf_dir()
        for change in fileutil.ensure_file(self.conf_file(), self.content(), None, None, None,
                                           backup=backup.inner_file):
            self.ctx.step(change)
        self.command(["sysctl", *self._flag(), "-p"], "sysctl -p")
        return True

    def conf_dir(self) -> None:
        """Chef's `directory new_resource.conf_dir`: not recursive, so a missing parent fails
        with provider/directory.rb's assertion text (the same as our directory resource's;
        harness/agent/files.py has it inline, not as a function to import)."""
        path = Path(self.props["conf_dir"])
        if path.is_dir():
            return
        if os.path.lexists(path):
            raise self.fail(f"Cannot create directory[{self.props['conf_dir']}] at "
                            f"{self.props['conf_dir']} because a file already exists at that path")
        if not path.parent.is_dir():
            raise self.fail(f"Parent directory {path.parent} does not exist, cannot create "
                            f"{self.props['conf_dir']}")
        path.mkdir(mode=0o755)
        self.ctx.step(f"create directory {path}")

    def action_remove(self) -> bool:
        path = self.conf_file()
        if not path.exists():
            return False
        backup.delete_inner_file(path)
        self.ctx.step(f"delete {path}")
        self.command(["sysctl", "-p"], "sysctl -p")
        return True

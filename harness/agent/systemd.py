"""systemd_unit: a unit file in /etc/systemd/system plus systemctl actions on it.

Follows chef/chef lib/chef/resource/systemd_unit.rb and lib/chef/provider/systemd_unit.rb:
default action "nothing"; `content` is text or a dict rendered as INI (`[Section]`, `Key=Value`,
a list value repeats the key, True/False/None read "true"/"false"/"" as Ruby's to_s, a blank
line between sections); :create first checks the text as IniParse.parse does (Chef's
requirement for :create, whatever `verify` says), writes the file (root, 0644) only when its
text differs, checks it first with `systemd-analyze verify` on a copy (when that tool exists
and `verify`), then `systemctl daemon-reload` (`triggers_reload`).
State comes from `systemctl show -p UnitFileState -p ActiveState`: enabled means enabled,
static, generated, alias or indirect. start/stop/enable/disable/mask/unmask/reload act only
when needed; restart, try_restart, reload_or_restart, reload_or_try_restart, preset, revert
and reenable always run and count as a change.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from . import backup, fileutil, shell
from .resource import Context, Resource

UNIT_DIR = "/etc/systemd/system"
ENABLED = ("enabled", "static", "generated", "alias", "indirect")
ALWAYS = {"restart": "restart", "try_restart": "try-restart",
          "reload_or_restart": "reload-or-restart",
          "reload_or_try_restart": "reload-or-try-restart", "preset": "preset",
          "revert": "revert", "reenable": "reenable"}


def unit_status(ctx: Context, unit: str) -> dict[str, str]:
    """`systemctl --system show -p UnitFileState -p ActiveState UNIT` as a dict (Chef's
    systemd_service_status; systemd_unit reads the same two properties)."""
    result = ctx.run(["systemctl", "--system", "show", "-p", "UnitFileState",
                      "-p", "ActiveState", unit])
    pairs = (line.strip().partition("=") for line in result.out.splitlines())
    return {key: value for key, _, value in pairs if key}


def run_systemctl(res: Resource, verb: str, unit: str) -> shell.Completed:
    """`systemctl --system VERB UNIT` as a step that must succeed (service and systemd_unit)."""
    res.ctx.step(f"systemctl {verb} {unit}")
    return res.command(["systemctl", "--system", verb, unit], f"systemctl {verb} {unit}")


def _flatten(value: Any) -> list[Any]:
    """`[val].flatten`: nested lists give their items, anything else is one item."""
    if not isinstance(value, (list, tuple)):
        return [value]
    return [item for part in value for item in _flatten(part)]


def to_ini(content: Any) -> str:
    """SystemdUnit#to_ini: a dict of sections becomes INI text (IniParse.gen, option_sep "=",
    `[val].flatten.each` one line per value); text stays as it is."""
    if not isinstance(content, dict):
        return "" if content is None else str(content)
    sections = []
    for section, options in content.items():
        lines = [f"[{section}]"]
        for key, value in (options or {}).items():
            lines += [f"{key}={fileutil.ruby_to_s(item)}" for item in _flatten(value)]
        sections.append("\n".join(lines) + "\n")
    return "\n".join(sections)


# IniParse 1.5.0 (antw/iniparse, the version Chef's Gemfile.lock pins): lib/iniparse.rb's
# parse joins backslash-continued lines (`gsub(/(?<!\\)\\\n/, '')`); parser.rb's parse_line
# strips a comment (strip_comment's two regexps) and the indent, then a line must be a
# Section, an Option or a Blank (lines.rb's regexps), else ParseError.
INI_CONTINUATION = re.compile(r"(?<!\\)\\\n")
INI_COMMENT_LINE = re.compile(r"^()(?:(;|\#)(\s*)(.*))$", re.ASCII)
INI_INLINE_COMMENT = re.compile(r"^(.*?)(?:\s+(;|\#)(\s*)(.*))$", re.ASCII)
INI_INDENT = re.compile(r"^\s+", re.ASCII)
INI_SECTION = re.compile(r"^\[([^\]]+)\]$")
INI_OPTION = re.compile(r"^\s*([^=]+?)(\s*=\s*)(.*?)$", re.ASCII)
INI_NONBLANK = re.compile(r"\S", re.ASCII)
def iniparse_error(text: str) -> str | None:
    """IniParse::ParseError's message for the first line IniParse.parse rejects, or None."""
    for line in INI_CONTINUATION.sub("", text).split("\n"):
        match = INI_COMMENT_LINE.match(line) or INI_INLINE_COMMENT.match(line)
        sanitized = match.group(1) if match else line.removesuffix("\r")   # else: chomp
        if INI_INDENT.match(sanitized):                                    # strip_indent
            sanitized = sanitized.lstrip(" \t\n\v\f\r\0")
        if INI_SECTION.match(sanitized) or INI_OPTION.match(sanitized) \
                or not INI_NONBLANK.search(sanitized):
            continue
        return ("A line of your INI document could not be parsed to a LineType: "
                f"{fileutil.ruby_inspect(line)}.")
    return None


class SystemdUnit(Resource):
    kind = "systemd_unit"
    actions = ("create", "delete", "preset", "revert", "enable", "disable", "reenable", "mask",
               "unmask", "start", "stop", "restart", "reload", "try_restart",
               "reload_or_restart", "reload_or_try_restart")
    default_action = "nothing"
    properties = {"unit_name": None, "content": None, "triggers_reload": True, "verify": True,
                  "user": None, "sensitive": False}

    @property
    def unit(self) -> str:
        return str(self.props["unit_name"] or self.name)

    @property
    def path(self) -> Path:
        return Path(UNIT_DIR) / self.unit

    def validate(self) -> None:
        if self.props["user"] is not None:
            raise self.fail("user units (systemctl --user) are not supported by the harness "
                            "agent: nodes run no user session bus")
        if "create" in self.action_list and not self.pending("content") \
                and self.props["content"] is None:
            raise self.fail("systemd_unit :create needs content=")

    def status(self) -> dict[str, str]:
        return unit_status(self.ctx, self.unit)

    def systemctl(self, verb: str) -> None:
        run_systemctl(self, verb, self.unit)

    def daemon_reload(self) -> None:
        if self.props["triggers_reload"]:
            self.ctx.step("systemctl daemon-reload")
            self.command(["systemctl", "--system", "daemon-reload"], "systemctl daemon-reload")

    def verify(self, text: str) -> None:
        """file verify :systemd_unit: `systemd-analyze verify` on a same-named temp copy."""
        if not self.props["verify"] or shutil.which("systemd-analyze") is None:
            return
        with tempfile.TemporaryDirectory(prefix="chef-systemd-unit") as tmp:
            copy = os.path.join(tmp, self.unit)
            Path(copy).write_text(text)
            self.command(["systemd-analyze", "verify", copy], "systemd-analyze verify")

    def current_text(self) -> str | None:
        try:
            return self.path.read_text()
        except FileNotFoundError:
            return None

    def would_change(self, action: str) -> bool:
        state = self.status() if action not in ("create", "delete") else {}
        file_state, active = state.get("UnitFileState"), state.get("ActiveState") == "active"
        if action == "create":
            return self.current_text() != to_ini(self.props["content"])
        if action == "delete":
            return self.path.exists()
        answers = {"start": not active, "stop": active, "reload": active,
                   "enable": file_state not in ENABLED,
                   "disable": file_state in ("enabled", "generated", "alias"),
                   "mask": file_state != "masked", "unmask": file_state == "masked"}
        return answers.get(action, True)

    def action_create(self) -> bool:
        text = to_ini(self.props["content"])
        error = iniparse_error(text)   # provider/systemd_unit.rb: assert(:create) IniParse.parse
        if error is not None:
            raise self.fail(error)
        if self.current_text() == text:
            return False
        self.verify(text)
        for change in fileutil.ensure_file(self.path, text.encode(), 0o644, 0, 0,
                                           diff=not self.props["sensitive"],
                                           backup=backup.inner_file):
            self.ctx.step(change)
        self.daemon_reload()
        return True

    def action_delete(self) -> bool:
        if not self.path.exists():
            return False
        backup.delete_inner_file(self.path)
        self.ctx.step(f"delete {self.path}")
        self.daemon_reload()
        return True

    def _when(self, needed: bool, verb: str) -> bool:
        if needed:
            self.systemctl(verb)
        return needed

    def action_enable(self) -> bool:
        return self._when(self.status().get("UnitFileState") not in ENABLED, "enable")

    def action_disable(self) -> bool:
        state = self.status().get("UnitFileState")
        return self._when(state in ENABLED and state not in ("static", "indirect"), "disable")

    def action_mask(self) -> bool:
        return self._when(self.status().get("UnitFileState") != "masked", "mask")

    def action_unmask(self) -> bool:
        return self._when(self.status().get("UnitFileState") == "masked", "unmask")

    def action_start(self) -> bool:
        return self._when(self.status().get("ActiveState") != "active", "start")

    def action_stop(self) -> bool:
        return self._when(self.status().get("ActiveState") == "active", "stop")

    def action_reload(self) -> bool:
        return self._when(self.status().get("ActiveState") == "active", "reload")

    def apply(self, action: str) -> bool:
        if action in ALWAYS:
            self.systemctl(ALWAYS[action])
            return True
        return super().apply(action)

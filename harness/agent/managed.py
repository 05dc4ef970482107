"""Bases of the file-like resources: owner/group/mode (Chef's Securable and unix file access
control) for all of them, and Chef::Provider::File's actions for file, cookbook_file,
template and remote_file (symlink checks, backups, deploy strategy, `verify`).

Split from files.py, which keeps the resource classes, to keep both short.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from . import backup, fileutil
from .errors import ResourceFailure
from .resource import Resource

# chef-config config.rb user_valid_regex / group_valid_regex (unix), and how Ruby shows it
PRINCIPAL_RE = re.compile(r"^[^-+~:,\t\r\n\f\0]+[^:,\t\r\n\f\0]*$", re.M)
PRINCIPAL_RE_TEXT = r"/^[^-+~:,\t\r\n\f\0]+[^:,\t\r\n\f\0]*$/"
DOCKER_FILES = ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf")


class Securable(Resource):
    """owner, group and mode: checked at declaration as Chef's properties are, resolved to
    ids at converge as file_access_control/unix.rb does."""

    principal_regex_text = f"[{PRINCIPAL_RE_TEXT}]"   # mixin/securable.rb: regex: [ /.../ ]

    def validate(self) -> None:
        if not os.path.isabs(self.name):
            raise self.fail("path must be absolute")
        for name in ("owner", "group"):
            value = self.props.get(name)
            if value is not None and not self.pending(name) \
                    and not PRINCIPAL_RE.search(fileutil.ruby_to_s(value)):
                raise self.fail(f"Property {name}'s value {fileutil.ruby_to_s(value)} does not "
                                f"match regular expression {self.principal_regex_text}")
        self.mode = None
        if self.pending("mode"):
            return
        try:
            self.mode = fileutil.parse_mode(self.props.get("mode"))
        except ValueError as exc:
            raise self.fail(str(exc)) from None

    def ids(self) -> tuple[int | None, int | None]:
        try:
            return fileutil.uid_of(self.props.get("owner")), fileutil.gid_of(self.props.get("group"))
        except ValueError as exc:
            raise self.fail(str(exc)) from None

    def report(self, changes: list[str]) -> bool:
        for change in changes:
            self.ctx.step(change)
        return bool(changes)

    def would_change(self, action: str) -> bool:
        """Read-only answer for `notifies ... :before` (directory, link: owner and mode)."""
        if action == "delete":
            return os.path.lexists(self.name)
        if action != "create":
            return super().would_change(action)
        uid, gid = self.ids()
        return fileutil.differs(Path(self.name), None, self.mode, uid, gid)


class FileResource(Securable):
    """Chef::Resource::File and Chef::Provider::File (lib/chef/resource/file.rb,
    provider/file.rb); subclasses say what the content is (`content()`, None: unmanaged)."""

    FILE_PROPERTIES = {"backup": 5, "atomic_update": None, "verify": None}

    def validate(self) -> None:
        super().validate()
        value = self.props["backup"]
        if not self.pending("backup") and (value is True or not isinstance(value, int)):
            raise self.fail("Property backup must be one of: Integer, FalseClass!  You passed "
                            f"{fileutil.ruby_inspect(value)}.")
        value = self.props["atomic_update"]
        if not self.pending("atomic_update") and value is not None and not isinstance(value, bool):
            raise self.fail("Property atomic_update must be one of: TrueClass, FalseClass!  "
                            f"You passed {fileutil.ruby_inspect(value)}.")
        if not self.pending("verify"):
            for check in self.verifications():
                if not isinstance(check, str) and not callable(check):
                    raise self.fail("verify requires either a string, symbol, or a block")

    def content(self) -> bytes | None:
        return None

    def check_source(self) -> None:
        """Requirements a subclass asserts before :create and :create_if_missing run."""

    def verifications(self) -> list[Any]:
        value = self.props["verify"]
        return [] if value is None else list(value) if isinstance(value, (list, tuple)) \
            else [value]

    def atomic_update(self) -> bool:
        """resource/file.rb: `default: lazy { docker? && special_docker_files?(path) ? false :
        Chef::Config[:file_atomic_update] }` (true). docker? is chef-utils'
        `node["virtualization"]["systems"]["docker"] == "guest"`: Docker bind-mounts these
        three files, so they are copied into (deploy/cp.rb), not renamed over."""
        if self.props["atomic_update"] is not None:
            return bool(self.props["atomic_update"])
        clean = re.sub(r"^/+", "/", os.path.normpath(self.name))
        return not (docker_guest(self.ctx.node) and clean in DOCKER_FILES)

    def would_change(self, action: str) -> bool:
        """Read-only answer for `notifies ... :before`: compare content, mode and owner."""
        if action == "delete":
            return os.path.exists(self.name)
        if action == "create_if_missing" and os.path.exists(self.name):
            return False
        if action not in ("create", "create_if_missing"):
            return action != "nothing"            # touch always changes
        uid, gid = self.ids()
        return fileutil.differs(Path(self.name), self.content(), self.mode, uid, gid)

    def converge(self, *, sane_symlink: bool) -> bool:
        uid, gid = self.ids()
        try:
            changes = fileutil.ensure_file(
                Path(self.name), self._checked_content, self.mode, uid, gid,
                diff=not self.sensitive, sane_symlink=sane_symlink, atomic=self.atomic_update(),
                backup=self.keep_backup, verify=self.run_verifications if self.verifications() else None)
        except ValueError as exc:
            raise self.fail(str(exc)) from None
        return self.report(changes)

    def _checked_content(self) -> bytes | None:
        self.check_source()
        return self.content()

    def action_create(self) -> bool:
        return self.converge(sane_symlink=True)

    def action_create_if_missing(self) -> bool:
        """provider/file.rb: `unless File.exist?` (following links: a dangling link's target
        is created through it), after the requirements every create runs: owner and group
        resolve (unix.rb), a template's source exists (template.rb)."""
        self.ids()
        self.check_source()
        if os.path.exists(self.name):
            return False
        return self.converge(sane_symlink=False)

    def action_delete(self) -> bool:
        """provider/file.rb :delete: only when File.exist? (a dangling link stays), the file
        backed up first unless the path is a symlink."""
        path = Path(self.name)
        if path.is_dir() and not path.is_symlink():
            raise self.fail("is a directory; use directory(..., action='delete')")
        if not os.path.exists(path):
            return False
        if not path.is_symlink():
            self.keep_backup(path)
        path.unlink()
        return self.report([f"delete {path}"])

    def keep_backup(self, path: Path) -> None:
        """util/backup.rb, with the `backup` property's count (false: none)."""
        backup.backup(path, self.props["backup"])

    def run_verifications(self, staged: Path) -> None:
        """provider/file.rb do_validate_content with resource/file/verification.rb: each
        check runs on the staged temp file before it is deployed; a command (its %{path}
        is the temp file) must exit 0, a callable must return a true value."""
        for check in self.verifications():
            if callable(check):
                ok, shown, output = bool(check(str(staged))), "<Proc>", ""
            else:
                if "%{file}" in check:
                    raise self.fail("The %{file} expansion for verify commands has been "
                                    "removed. Please use %{path} instead.")
                # verification.rb verify_command: run by the resource's guard interpreter
                # (the default one: shell_out, 600 s), which rescues neither an exec error
                # nor a timeout, so those fail the resource (as a guard's do, resource.py)
                result = self.ctx.run(ruby_format(check, path=str(staged), owner=self.key),
                                      timeout=600)
                if result.error is not None:
                    raise self.fail(f"verify {check!r}: {result.error}")
                ok, shown = result.rc == 0, check
                output = f"STDOUT: {result.out}\nSTDERR: {result.err}\n"
            if not ok:
                kept = backup.keep_failed(staged)
                detail = "[sensitive]" if self.sensitive else f"{shown}\n{output}"
                raise self.fail(f"Proposed content for {self.name} failed verification "
                                f"{detail}\nTemporary file moved to {kept}")


def docker_guest(node: Any) -> bool:
    """chef-utils dsl/introspection.rb docker?: node.read("virtualization", "systems",
    "docker") == "guest" (Ohai's virtualization plugin; harness/agent/ohai.py)."""
    value: Any = node
    for key in ("virtualization", "systems", "docker"):
        if not hasattr(value, "get"):
            return False
        value = value.get(key)
    return bool(value == "guest")


_FORMAT = re.compile(r"%(%|\{([^}]*)\}|.?)", re.S)


def ruby_format(command: str, *, owner: str, **values: str) -> str:
    """Ruby's `command % { path: ... }` for verify commands: %{name} is replaced, %% is a %,
    anything else Ruby's format would refuse or read differently, so it fails here."""
    def one(match: re.Match[str]) -> str:
        if match.group(1) == "%":
            return "%"
        name = match.group(2)
        if name is not None and name in values:
            return values[name]
        raise ResourceFailure(f"verify command {command!r}: "
                              + (f"key<{name}> not found" if name is not None else
                                 f"malformed format string - {match.group(0)}"), owner)
    return _FORMAT.sub(one, command)

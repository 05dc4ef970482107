"""File-like resources: file, cookbook_file, template, directory, link."""
from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any

from . import fileutil
from .resource import Resource
from .templates import render_template


class _Managed(Resource):
    """Common owner/group/mode handling; subclasses say what the content is."""

    def validate(self) -> None:
        if not os.path.isabs(self.name):
            raise self.fail("path must be absolute")
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

    def content(self) -> bytes | None:
        return None

    def report(self, changes: list[str]) -> bool:
        for change in changes:
            self.ctx.step(change)
        return bool(changes)

    def would_change(self, action: str) -> bool:
        """Read-only answer for `notifies ... :before`: compare content, mode and owner."""
        if action == "delete":
            return os.path.lexists(self.name)
        if action == "create_if_missing" and os.path.lexists(self.name):
            return False
        if action not in ("create", "create_if_missing"):
            return super().would_change(action)
        uid, gid = self.ids()
        return fileutil.differs(Path(self.name), self.content(), self.mode, uid, gid)

    def action_create(self) -> bool:
        uid, gid = self.ids()
        try:
            changes = fileutil.ensure_file(Path(self.name), self.content(), self.mode, uid, gid,
                                           diff=not self.props.get("sensitive"))
        except ValueError as exc:
            raise self.fail(str(exc)) from None
        return self.report(changes)

    def action_create_if_missing(self) -> bool:
        if os.path.lexists(self.name):
            return False
        return self.action_create()

    def action_delete(self) -> bool:
        path = Path(self.name)
        if path.is_dir() and not path.is_symlink():
            raise self.fail("is a directory; use directory(..., action='delete')")
        if not os.path.lexists(path):
            return False
        path.unlink()
        return self.report([f"delete {path}"])


class File(_Managed):
    kind = "file"
    actions = ("create", "create_if_missing", "delete", "touch")
    default_action = "create"
    properties = {"content": None, "owner": None, "group": None, "mode": None,
                  "sensitive": False}

    def content(self) -> bytes | None:
        value = self.props["content"]
        if value is None or isinstance(value, bytes):
            return value
        return str(value).encode()

    def action_touch(self) -> bool:
        """Like Chef: create if needed, then bump the mtime (always a change)."""
        self.action_create()
        os.utime(self.name)
        return True


class CookbookFile(_Managed):
    kind = "cookbook_file"
    actions = ("create", "create_if_missing", "delete")
    default_action = "create"
    properties = {"source": None, "cookbook": None, "owner": None, "group": None, "mode": None,
                  "sensitive": False}

    def source_path(self) -> tuple[Any, str]:
        name = self.props["cookbook"] or self.cookbook
        book = self.ctx.cookbooks.get(name) if name else None
        if book is None:
            raise self.fail(f"cookbook {name!r} is not part of this run")
        source = self.props["source"] or os.path.basename(self.name)
        for candidate in (f"files/{source}", f"files/default/{source}"):
            if book.has(candidate):
                return book, candidate
        raise self.fail(f"cookbook {name} has no files/{source}")

    def content(self) -> bytes:
        book, path = self.source_path()
        data: bytes = book.read(path)
        return data

    def describe(self) -> dict[str, Any]:
        props = super().describe()
        book, path = self.source_path()
        props.update(cookbook=book.name, source=props["source"] or os.path.basename(self.name),
                     source_path=book.label(path))
        return props


class Template(_Managed):
    kind = "template"
    actions = ("create", "create_if_missing", "delete")
    default_action = "create"
    properties = {"source": None, "cookbook": None, "variables": {}, "owner": None,
                  "group": None, "mode": None, "sensitive": False}

    def validate(self) -> None:
        super().validate()
        variables = self.props["variables"]
        if not self.pending("variables") and not isinstance(variables, (dict, type(None))):
            raise self.fail(f"variables must be a dict, got {type(variables).__name__}")

    def render(self) -> str:
        name = self.props["cookbook"] or self.cookbook
        book = self.ctx.cookbooks.get(name) if name else None
        if book is None:
            raise self.fail(f"cookbook {name!r} is not part of this run")
        source = self.props["source"] or os.path.basename(self.name) + ".j2"
        try:
            return render_template(book, source, self.ctx.node, self.props["variables"] or {},
                                   self.ctx.state)
        except ValueError as exc:
            raise self.fail(str(exc)) from None

    def content(self) -> bytes:
        return self.render().encode()

    def describe(self) -> dict[str, Any]:
        props = super().describe()
        props.update(cookbook=self.props["cookbook"] or self.cookbook,
                     source=self.props["source"] or os.path.basename(self.name) + ".j2",
                     content=self.render())
        return props


class Directory(_Managed):
    """directory, as chef/chef lib/chef/resource/directory.rb and provider/directory.rb:
    `recursive` defaults to false, so a missing parent fails the run ("Parent directory P
    does not exist, cannot create D") unless the recipe asks for recursive=True; delete
    without it removes only an empty directory. owner/group/mode apply to the leaf."""

    kind = "directory"
    actions = ("create", "delete")
    default_action = "create"
    properties = {"owner": None, "group": None, "mode": None, "recursive": False}

    def validate(self) -> None:
        super().validate()
        self.check_booleans("recursive")

    def action_create(self) -> bool:
        path = Path(self.name)
        uid, gid = self.ids()
        changes = []
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            raise self.fail(f"{path} exists and is not a directory")
        if not path.exists():
            recursive = self.props["recursive"]
            parent = (next((p for p in path.parents if p.exists()), Path("/")) if recursive
                      else path.parent)  # the nearest existing one, or the parent itself
            if not parent.is_dir():
                raise self.fail(f"Parent directory {path.parent} does not exist, cannot "
                                f"create {path}")
            path.mkdir(parents=recursive, mode=0o755 if self.mode is None else self.mode)
            changes.append(f"create directory {path}")
        st = os.stat(path)
        changes += fileutil.fix_attrs(path, st, self.mode, uid, gid)
        return self.report(changes)

    def action_delete(self) -> bool:
        path = Path(self.name)
        if not os.path.lexists(path):
            return False
        if path.is_symlink() or not path.is_dir():
            raise self.fail(f"{path} is not a directory")
        if self.props["recursive"]:
            shutil.rmtree(path)
        else:
            try:
                path.rmdir()
            except OSError as exc:
                raise self.fail(f"cannot remove {path}: {exc.strerror} (recursive=False)") from None
        return self.report([f"delete directory {path}"])


class Link(_Managed):
    kind = "link"
    actions = ("create", "delete")
    default_action = "create"
    properties = {"to": None, "link_type": "symbolic", "owner": None, "group": None}

    def validate(self) -> None:
        super().validate()
        if not self.pending("to") and not self.props["to"] and "create" in self.action_list:
            raise self.fail("link needs to=")
        link_type = self.props["link_type"]
        if not self.pending("link_type") and link_type not in ("symbolic", "hard"):
            raise self.fail("link_type is 'symbolic' or 'hard'")

    def would_change(self, action: str) -> bool:
        path = Path(self.name)
        if action == "create" and self.props["link_type"] == "symbolic":
            return not (path.is_symlink() and os.readlink(path) == str(self.props["to"]))
        return super().would_change(action)

    def action_create(self) -> bool:
        path, to = Path(self.name), str(self.props["to"])
        uid, gid = self.ids()
        if self.props["link_type"] == "hard":
            return self._hard(path, Path(to))
        changes = []
        if path.is_dir() and not path.is_symlink():
            raise self.fail(f"{path} is a directory; will not replace it with a link")
        if not (path.is_symlink() and os.readlink(path) == to):
            tmp = path.with_name(f".{path.name}.harness-link")
            if os.path.lexists(tmp):
                tmp.unlink()
            os.symlink(to, tmp)
            os.replace(tmp, path)
            changes.append(f"link {path} -> {to}")
        changes += fileutil.fix_attrs(path, os.lstat(path), None, uid, gid, follow=False)
        return self.report(changes)

    def _hard(self, path: Path, to: Path) -> bool:
        try:
            target = os.stat(to)
        except FileNotFoundError:
            raise self.fail(f"hard link target {to} does not exist") from None
        if os.path.lexists(path):
            st = os.lstat(path)
            if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
                return False
            if stat.S_ISDIR(st.st_mode):
                raise self.fail(f"{path} is a directory")
            path.unlink()
        os.link(to, path)
        return self.report([f"hard link {path} -> {to}"])

    def action_delete(self) -> bool:
        path = Path(self.name)
        if not os.path.lexists(path):
            return False
        if not path.is_symlink() and self.props["link_type"] == "symbolic":
            raise self.fail(f"{path} is not a symbolic link")
        path.unlink()
        return self.report([f"delete link {path}"])

"""File-like resources: file, cookbook_file, template, directory, link (their shared
behaviour is in managed.py, the disk work in fileutil.py)."""
from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any

from . import fileutil
from .managed import FileResource, Securable
from .templates import erb_hint, render_template


class File(FileResource):
    kind = "file"
    actions = ("create", "create_if_missing", "delete", "touch")
    default_action = "create"
    properties = {"content": None, "owner": None, "group": None, "mode": None,
                  "sensitive": False, **FileResource.FILE_PROPERTIES}

    def validate(self) -> None:
        """resource/file.rb `property :content, [ String, nil ]`: refused at declaration
        (bytes are our String too: Ruby's binary strings)."""
        super().validate()
        value = self.props["content"]
        if not self.pending("content") and not isinstance(value, (str, bytes, type(None))):
            raise self.fail("Property content must be one of: String, nil!  You passed "
                            f"{fileutil.ruby_inspect(value)}.")

    def content(self) -> bytes | None:
        value = self.props["content"]
        return value.encode() if isinstance(value, str) else value

    def action_touch(self) -> bool:
        """Like Chef: create if needed (no symlink sanity check: :touch does not assert it),
        then bump the mtime (always a change)."""
        self.converge(sane_symlink=False)
        os.utime(self.name)
        return True


class CookbookFile(FileResource):
    kind = "cookbook_file"
    actions = ("create", "create_if_missing", "delete")
    default_action = "create"
    properties = {"source": None, "cookbook": None, "owner": None, "group": None, "mode": None,
                  "sensitive": False, **FileResource.FILE_PROPERTIES}

    def validate(self) -> None:
        """resource/cookbook_file.rb `property :source, [ String, Array ]`."""
        super().validate()
        check_source(self)

    def source(self) -> str | list[str]:
        value = self.props["source"]
        return [str(v) for v in value] if isinstance(value, list) else \
            value or os.path.basename(self.name)

    def source_path(self) -> tuple[Any, str]:
        """The most specific file for this node (cookbook_version.rb preferences_for_path):
        files/host-FQDN/, files/PLATFORM-VERSION.../, files/PLATFORM/, files/default/, then
        files/; a list `source` is tried in order, as given."""
        name = self.props["cookbook"] or self.cookbook
        book = self.ctx.cookbooks.get(name) if name else None
        if book is None:
            raise self.fail(f"cookbook {name!r} is not part of this run")
        path = book.preferred(self.ctx.node, "files", self.source())
        if path is None:
            raise self.fail(book.not_found(self.ctx.node, "files", self.source()))
        return book, path

    def content(self) -> bytes:
        book, path = self.source_path()
        data: bytes = book.read(path)
        return data

    def describe(self) -> dict[str, Any]:
        props = super().describe()
        book, path = self.source_path()
        props.update(cookbook=book.name, source=self.source(), source_path=book.label(path))
        return props


def check_source(res: FileResource) -> None:
    """resource/cookbook_file.rb and template.rb: `property :source, [ String, Array ]`."""
    value = res.props["source"]
    if not res.pending("source") and not isinstance(value, (str, list, type(None))):
        raise res.fail("Property source must be one of: String, Array!  You passed "
                       f"{fileutil.ruby_inspect(value)}.")


class Template(FileResource):
    kind = "template"
    actions = ("create", "create_if_missing", "delete")
    default_action = "create"
    properties = {"source": None, "cookbook": None, "variables": {}, "owner": None,
                  "group": None, "mode": None, "sensitive": False,
                  **FileResource.FILE_PROPERTIES}

    def validate(self) -> None:
        super().validate()
        variables = self.props["variables"]
        if not self.pending("variables") and not isinstance(variables, (dict, type(None))):
            raise self.fail(f"variables must be a dict, got {type(variables).__name__}")
        check_source(self)

    def source(self) -> str | list[str]:
        value = self.props["source"]
        return [str(v) for v in value] if isinstance(value, list) else \
            value or os.path.basename(self.name) + ".j2"

    def book(self) -> Any:
        name = self.props["cookbook"] or self.cookbook
        book = self.ctx.cookbooks.get(name) if name else None
        if book is None:
            raise self.fail(f"cookbook {name!r} is not part of this run")
        return book

    def check_source(self) -> None:
        """provider/template.rb asserts for :create and :create_if_missing that the source
        is found (the template finder: cookbook file specificity), without rendering it."""
        book = self.book()
        if book.preferred(self.ctx.node, "templates", self.source()) is None:
            raise self.fail(book.not_found(self.ctx.node, "templates", self.source())
                            + erb_hint(book, self.source(), self.ctx.node))

    def render(self) -> str:
        try:
            return render_template(self.book(), self.source(), self.ctx.node,
                                   self.props["variables"] or {}, self.ctx.state)
        except ValueError as exc:
            raise self.fail(str(exc)) from None

    def content(self) -> bytes:
        return self.render().encode()

    def describe(self) -> dict[str, Any]:
        props = super().describe()
        props.update(cookbook=self.props["cookbook"] or self.cookbook, source=self.source(),
                     content=self.render())
        return props


class Directory(Securable):
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


class Link(Securable):
    kind = "link"
    actions = ("create", "delete")
    default_action = "create"
    properties = {"to": None, "link_type": "symbolic", "owner": None, "group": None}
    principal_regex_text = f"[{Securable.principal_regex_text}]"  # link.rb: regex: [[ ... ]]

    def validate(self) -> None:
        """resource/link.rb: owner and group are typed [String, Integer] (Securable's on
        files are untyped: a bad value fails at converge there)."""
        super().validate()
        for name in ("owner", "group"):
            value = self.props[name]
            if not self.pending(name) and value is not None and (
                    isinstance(value, bool) or not isinstance(value, (str, int))):
                raise self.fail(f"Property {name} must be one of: String, Integer!  You passed "
                                f"{fileutil.ruby_inspect(value)}.")
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

    def current(self) -> tuple[str, str | None]:
        """provider/link.rb load_current_resource: (link_type, to) of what is at the path. A
        symlink is :symbolic with its target; anything else that exists is :hard, with `to`
        when it is the same inode as `to` (Chef compares st_ino only), else ""."""
        path, to = Path(self.name), self.props["to"]
        if path.is_symlink():
            return "symbolic", os.readlink(path)
        if not os.path.exists(path):
            return "hard", None
        same = bool(to) and os.path.exists(to) and os.stat(path).st_ino == os.stat(to).st_ino
        return "hard", str(to) if same else ""

    def action_delete(self) -> bool:
        """provider/link.rb: the :delete requirement, then delete when something is there."""
        path, link_type = Path(self.name), self.props["link_type"]
        current_type, current_to = self.current()
        if current_to is not None and not (current_type == link_type and (
                current_type == "symbolic" or current_to != "")):
            raise self.fail(f"Cannot delete {self.key} at {self.name}! Not a {link_type} link.")
        if current_to is None:
            return False
        path.unlink()
        return self.report([f"delete link {path}"])

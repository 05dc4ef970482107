"""apt_update and apt_repository, as Chef's core resources do them on Debian.

apt_update (chef/chef lib/chef/resource/apt_update.rb): :periodic (default) runs
`apt-get -q update` only when /var/lib/apt/periodic/update-success-stamp is older than
`frequency` seconds (86400) or missing; :update always runs. Both make sure
/etc/apt/apt.conf.d/15update-stamp (the Post-Invoke-Success hook that touches the stamp) exists.

apt_repository (lib/chef/resource/apt_repository.rb): writes
/etc/apt/sources.list.d/REPO_NAME.list (root, 0644) with build_repo's line
`deb      [arch=.. trusted=yes signed-by=.. OPTIONS] URI DISTRIBUTION COMPONENTS` (plus a
`deb-src  ` line with deb_src; the URI as Addressable::URI#normalize writes it);
`signed_by=True` (default) means /etc/apt/keyrings/NAME.gpg unless `key` is None (or False)
and that keyring is missing: `key` defaults to [], which Ruby counts as true, so a repo
without a key points at a keyring that may not exist, as Chef 19 writes it. A key is an
http(s) URL or a cookbook file (found as cookbook_file finds it), imported with
`gpg --import` into that keyring.
When the list file changed: `apt-cache gencaches` (failure ignored) and, with cache_rebuild,
apt_update :update (failure ignored unless cache_rebuild_ignore_failure=False). Key ids for a
keyserver are refused: nodes reach only the config server and the Debian mirror.
"""
from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import backup, fileutil
from .addressable import normalize_uri
from .errors import ResourceFailure
from .remote_file import RemoteFile
from .resource import Resource

STAMP = "/var/lib/apt/periodic/update-success-stamp"
APT_CONF = "/etc/apt/apt.conf.d/15update-stamp"
SOURCES_D = "/etc/apt/sources.list.d"
KEYRINGS = "/etc/apt/keyrings"
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}
KEY_ID_RE = re.compile(r"^(0x)?([0-9A-Fa-f]{8}|[0-9A-Fa-f]{16}|[0-9A-Fa-f]{40})$")


class AptUpdate(Resource):
    kind = "apt_update"
    actions = ("periodic", "update")
    default_action = "periodic"
    properties = {"frequency": 86400}

    def up_to_date(self) -> bool:
        try:
            return os.path.getmtime(STAMP) > time.time() - int(self.props["frequency"])
        except OSError:
            return False

    def would_change(self, action: str) -> bool:
        return action == "update" or not self.up_to_date()

    def do_update(self) -> None:
        for directory in (os.path.dirname(STAMP), os.path.dirname(APT_CONF)):
            os.makedirs(directory, exist_ok=True)
        if not os.path.exists(APT_CONF):
            hook = ('APT::Update::Post-Invoke-Success {"touch ' + STAMP
                    + ' 2>/dev/null || true";};\n')
            fileutil.ensure_file(Path(APT_CONF), hook.encode(), None, None, None)
        self.ctx.step("apt-get -q update")
        self.command(["apt-get", "-q", "update"], "apt-get -q update", env=APT_ENV)

    def action_periodic(self) -> bool:
        if self.up_to_date():
            return False
        self.do_update()
        return True

    def action_update(self) -> bool:
        self.do_update()
        return True


class AptRepository(Resource):
    kind = "apt_repository"
    actions = ("add", "remove")
    default_action = "add"
    properties = {"repo_name": None, "uri": None, "distribution": None, "components": [],
                  "arch": None, "trusted": False, "deb_src": False, "key": [],
                  "signed_by": True, "cookbook": None, "cache_rebuild": True,
                  "cache_rebuild_ignore_failure": True, "options": [], "sensitive": False}

    @property
    def repo_name(self) -> str:
        return str(self.props["repo_name"] or self.name).replace(" ", "-")

    @property
    def list_path(self) -> Path:
        return Path(SOURCES_D) / f"{self.repo_name}.list"

    @property
    def keyring(self) -> Path:
        return Path(KEYRINGS) / f"{self.repo_name}.gpg"

    def keys(self) -> list[str]:
        """The coerce `x ? Array(x) : x`: None and False are no key, a str one key."""
        key = self.props["key"]
        if key is None or key is False:
            return []
        return [key] if isinstance(key, str) else [str(k) for k in key]

    def validate(self) -> None:
        if "/" in self.repo_name:
            raise self.fail("repo_name property cannot contain a forward slash '/'")
        if "add" in self.action_list and not self.pending("uri") and not self.props["uri"]:
            raise self.fail("apt_repository :add needs uri=")
        for key in [] if self.pending("key") else self.keys():
            if KEY_ID_RE.match(key) and not self._cookbook_has(key):
                raise self.fail(f"key {key} is a key id for a keyserver; nodes reach only the "
                                "config server and the Debian mirror: give the key's URL there "
                                "or a cookbook file")

    def _key_file(self, name: str) -> str | None:
        """The cookbook file a key names, found as Chef finds it (has_cookbook_file? and a
        cookbook_file resource: file specificity, cookbooks.preferences_for_path)."""
        book = self.ctx.cookbooks.get(self.props["cookbook"] or self.cookbook or "")
        return None if book is None else book.preferred(self.ctx.node, "files", name)

    def _cookbook_has(self, name: str) -> bool:
        return self._key_file(name) is not None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.distribution_given = "distribution" in kwargs   # distribution=None is nil
        super().__init__(*args, **kwargs)

    def distribution(self) -> str | None:
        """apt_repository.rb: `property :distribution, [String, nil, FalseClass], default:
        lazy { node["lsb"]["codename"] }`, nothing else: Ohai's lsb is {} without
        /usr/bin/lsb_release (harness/agent/ohai.py lsb), so the default is nil there and
        build_repo's `compact` leaves it out of the line (apt then reads the first component
        as the suite). None is nil; False is written as Ruby interpolates it."""
        value = self.props["distribution"]
        if not self.distribution_given and value is None:
            node = self.ctx.node
            lsb = node.get("lsb") if node is not None else None
            value = lsb.get("codename") if isinstance(lsb, Mapping) else None
        if value is None:
            return None
        return "false" if value is False else str(value)

    def signed_by(self) -> str | None:
        """action :add: `if new_resource.key || ::File.exist?(keyring_path)`; key's default []
        is true in Ruby, so only key=None/False without the keyring leaves signed-by out."""
        value, key = self.props["signed_by"], self.props["key"]
        if value is True:
            has_key = key is not None and key is not False
            return str(self.keyring) if has_key or self.keyring.exists() else None
        return None if value is None or value is False else str(value)   # "" is true in Ruby

    def content(self) -> str:
        """build_repo, including its spacing."""
        p = self.props
        opts = ([f"arch={p['arch']}"] if p["arch"] is not None and p["arch"] is not False
                else []) + (
            ["trusted=yes"] if p["trusted"] else []) + (
            [f"signed-by={signed}"] if (signed := self.signed_by()) is not None else []) + list(
            [p["options"]] if isinstance(p["options"], str) else p["options"] or [])
        components = " ".join(p["components"] or [])
        try:
            uri = normalize_uri(str(p["uri"]))
        except ValueError as exc:
            raise self.fail(f"Addressable::URI::InvalidURIError: {exc}") from None
        info = " ".join(x for x in ("[" + " ".join(opts) + "]" if opts else None, uri,
                                    self.distribution(), components) if x is not None)
        return f"deb      {info}\n" + (f"deb-src  {info}\n" if p["deb_src"] else "")

    def install_key(self, key: str) -> list[str]:
        """Fetch the key (URL or cookbook file) and import it into the repo's keyring;
        anything else is key_resource_type's "Cannot locate key file" (a file: URL too)."""
        if key.startswith("http"):
            data = RemoteFile(self.ctx, f"/tmp/{self.repo_name}.key", source=key).download()
        elif self._cookbook_has(key):
            book = self.ctx.cookbooks[self.props["cookbook"] or self.cookbook or ""]
            data = book.read(self._key_file(key) or "")
        else:
            raise self.fail(f"Cannot locate key file: {key}")
        os.makedirs(KEYRINGS, mode=0o755, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".gpg") as home:
            tmp = Path(home) / "key"
            tmp.write_bytes(data)
            before = self.keyring.read_bytes() if self.keyring.exists() else None
            self.command(["gpg", "--homedir", home, "--import", "--batch", "--yes",
                          "--no-default-keyring", "--keyring", f"gnupg-ring:{self.keyring}",
                          str(tmp)], f"gpg --import {key} (needs the gnupg package)")
        os.chmod(self.keyring, 0o644)
        return [] if self.keyring.read_bytes() == before else [f"import {key} into {self.keyring}"]

    def would_change(self, action: str) -> bool:
        if action == "remove":
            return self.list_path.exists()
        return fileutil.differs(self.list_path, self.content().encode(), 0o644, 0, 0)

    def cleanup_legacy_file(self) -> list[str]:
        """Chef's cleanup_legacy_file!: NAME.list when the name differs from repo_name."""
        legacy = Path(SOURCES_D) / f"{self.name}.list"
        if self.name != self.repo_name and legacy.exists():
            backup.delete_inner_file(legacy)
            return [f"delete legacy {legacy}"]
        return []

    def action_add(self) -> bool:
        if self.props["key"] is False:   # Chef's :add runs `new_resource.key.each`
            raise self.fail("NoMethodError: undefined method `each' for false (Chef's "
                            "apt_repository :add with key false; key=None means no key)")
        changes = [c for key in self.keys() for c in self.install_key(key)]
        changes += self.cleanup_legacy_file()
        listed = fileutil.ensure_file(self.list_path, self.content().encode(), 0o644, 0, 0,
                                      backup=backup.inner_file)
        for change in changes + listed:
            self.ctx.step(change)
        if listed:
            self.ctx.run(["apt-cache", "gencaches"], env=APT_ENV)   # ignore_failure in Chef
            self._rebuild(self.props["cache_rebuild_ignore_failure"])
        return bool(changes or listed)

    def action_remove(self) -> bool:
        legacy = self.cleanup_legacy_file()
        for change in legacy:
            self.ctx.step(change)
        if not self.list_path.exists():
            return bool(legacy)
        for path in (self.keyring, self.list_path):
            if path.exists():
                backup.delete_inner_file(path)
                self.ctx.step(f"delete {path}")
        self._rebuild(True)
        return True

    def _rebuild(self, ignore: bool) -> None:
        if not self.props["cache_rebuild"]:
            return
        try:
            AptUpdate(self.ctx, self.name, action="update").action_update()
        except ResourceFailure as exc:
            if not ignore:
                raise self.fail(str(exc)) from None
            self.ctx.step(f"apt-get update failed (ignored): {str(exc).splitlines()[0]}")

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "path": str(self.list_path)}

"""package (apt) and service (systemd) resources; all commands go through ctx.run.

package follows chef/chef lib/chef/provider/package/apt.rb with the actions of
lib/chef/provider/package.rb: each action reads the installed and the candidate version from
one `apt-cache policy PKG` (a package without a candidate is looked up as a virtual one with
`apt-cache showpkg`, as Chef does), and never runs `apt-get update`: a package apt's lists do
not offer fails with Chef's "No candidate version available for PKG" before apt-get runs, so a
recipe must update the lists first (apt_update, the apt cookbook), as production must.
A list of names (or of versions) takes Chef's multipackage path (multipackage.py).
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

from . import multipackage
from .multipackage import flatten, ruby_s, target_version, version_array
from .resource import Context, Resource
from .systemd import ENABLED, run_systemctl, unit_status

APT_ENV = {"DEBIAN_FRONTEND": "noninteractive", "APT_LISTCHANGES_FRONTEND": "none"}
CONFFILE_OPTS = ["-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"]
APT_OPTS = ["-y", "-q", *CONFFILE_OPTS]  # the package layer's build installs with these
# resolve_package_versions: the lines of `apt-cache policy` Chef reads (matched per line)
INSTALLED_RE = re.compile(r"^\s{2}Installed: (.+)$")
CANDIDATE_RE = re.compile(r"^\s{2}Candidate: (.+)$")
VERSION_RE = re.compile(r"\s+(?:\*\*\* )?(\S+) \d+")
REVERSE_PROVIDES_RE = re.compile(r"Reverse Provides: ?\n")


@dataclass
class AptData:
    """Chef's package_data for one name: versions, and the real package behind a virtual one."""

    current: str | None
    candidate: str | None
    provider: str | None = None   # set when the name is virtual (one package provides it)


class Package(Resource):
    kind = "package"
    actions = ("install", "upgrade", "remove", "purge")
    default_action = "install"
    properties = {"version": None, "package_name": None, "options": []}

    def __init__(self, ctx: Context, name: Any, **kwargs: Any) -> None:
        """resource/package.rb initialize: `package_name name` before resource.rb coerces
        the name (`v.is_a?(Array) ? v.join(", ") : v.to_s`), so `package(["a", "b"])`
        manages both and is `package[a, b]`; a package_name given still wins."""
        if isinstance(name, (list, tuple)):
            if kwargs.get("package_name") is None:
                kwargs["package_name"] = flatten(name)
            name = ", ".join("" if n is None else str(n) for n in flatten(name))
        super().__init__(ctx, name, **kwargs)

    @property
    def pkg(self) -> str:
        return self.props["package_name"] or self.name

    @property
    def arrays(self) -> bool:
        """multipackage? (package_name is an Array), or a version list: Chef's arrays."""
        return any(isinstance(self.props[k], list) for k in ("package_name", "version"))

    def names(self) -> list[str]:
        """package_name_array."""
        given = self.props["package_name"]
        return list(given) if isinstance(given, list) else [self.pkg]

    def validate(self) -> None:
        """resource/package.rb: package_name and version are [String, Array] (a list's
        entries are names, or versions and None); `options` as a String is shellsplit
        (`coerce: proc { |x| x.is_a?(String) ? x.shellsplit : x }`)."""
        for prop, entries in (("package_name", (str,)), ("version", (str, type(None)))):
            value = self.props[prop]
            if self.pending(prop) or value is None:
                continue
            if isinstance(value, (list, tuple)):
                value = self.props[prop] = flatten(value)
                if bad := [v for v in value if not isinstance(v, entries)]:
                    raise self.fail(f"{prop} entries must be strings, not {bad[0]!r}")
            elif not isinstance(value, str):
                raise self.fail(f"{prop} must be a string or a list (Chef: [String, Array]), "
                                f"not {value!r}")
        options = self.props["options"]
        if self.pending("options"):
            return
        if isinstance(options, str):
            try:
                self.props["options"] = shlex.split(options)
            except ValueError as exc:
                raise self.fail(f"options {options!r}: {exc}") from None
        elif options is None:
            self.props["options"] = []

    @property
    def new_version(self) -> str | None:
        """new_version_array: an empty version is no version."""
        return next(iter(version_array(self.props["version"])), None)

    def policy(self, name: str) -> tuple[str | None, str | None, list[str]]:
        """(Installed, Candidate, versions of the table) from `apt-cache policy NAME`."""
        out = self.command(["apt-cache", "policy", name], "apt-cache policy", env=APT_ENV).out
        current = candidate = None
        versions = []
        for line in out.splitlines():
            if match := INSTALLED_RE.match(line):
                current = None if match.group(1) == "(none)" else match.group(1)
            elif match := CANDIDATE_RE.match(line):
                candidate = None if match.group(1) == "(none)" else match.group(1)
            elif match := VERSION_RE.search(line):
                versions.append(match.group(1))
        return current, candidate, versions

    def virtual_provider(self, name: str | None = None) -> str | None:
        """resolve_virtual_package_name: the one package `apt-cache showpkg`'s Reverse
        Provides names; several are an error, none means the name is not virtual."""
        out = self.command(["apt-cache", "showpkg", name or self.pkg], "apt-cache showpkg",
                           env=APT_ENV).out
        found = list(REVERSE_PROVIDES_RE.finditer(out))
        if not found:
            return None
        lines = out[found[-1].end():].split("\n")
        lines = lines[:-1] if lines and lines[-1] == "" else lines   # Ruby's String#lines
        names: set[str | None] = {words[0] if (words := line.split()) else None
                                  for line in lines}
        if len(names) > 1:
            raise self.fail(f"{ruby_s(self.pkg)} is a virtual package provided by multiple "
                            "packages, you must explicitly select one")
        return next(iter(names), None)

    def load(self) -> AptData:
        return self.package_data(self.pkg)

    def package_data(self, name: str) -> AptData:
        """package_data_for: resolve_package_versions takes the user's version (the one at
        the name's first index) as the candidate only when apt lists it; a name with no
        candidate may be virtual, whose provider's versions count instead."""
        current, candidate = self.resolve_versions(name)
        if candidate is None and (provider := self.virtual_provider(name)):
            current, candidate = self.resolve_versions(provider)
            return AptData(current, candidate, provider)
        return AptData(current, candidate)

    def resolve_versions(self, name: str) -> tuple[str | None, str | None]:
        """resolve_package_versions: (installed, chosen); a name outside the list (a virtual
        one's provider) keeps apt's candidate."""
        current, candidate, versions = self.policy(name)
        names = self.names()
        if name in names:
            wanted = version_array(self.props["version"])
            index = names.index(name)
            if index < len(wanted) and (user := wanted[index]) is not None:
                return current, user if user in versions else None
        return current, candidate

    def check_candidates(self, action: str, data: AptData) -> None:
        """provider/package.rb define_resource_requirements, in its order."""
        wanted = self.new_version
        if action == "install" and wanted is not None and data.current is not None \
                and data.current != wanted and data.candidate is None:
            raise self.fail("No version specified, and no candidate version available for "
                            f"{self.pkg}")
        if data.current is None and data.candidate is None:
            raise self.fail(f"No candidate version available for {self.pkg}\n(apt's lists "
                            "offer no such package or version: does an apt_update run before "
                            "it, as a fresh host needs?)")

    def target(self, action: str, data: AptData) -> str | None:
        return target_version(action, data.current, data.candidate, self.new_version)

    def run_apt(self, verb: str, argv: list[str], spec: str) -> None:
        self.ctx.step(f"apt-get {verb} {spec}")
        result = self.ctx.run(argv, env=APT_ENV)
        if result.rc != 0:
            raise self.fail(f"apt-get {verb} {spec} failed (exit {result.rc}):\n"
                            + result.tail())

    def options(self) -> list[str]:
        return [str(o) for o in self.props["options"] or []]

    def install_argv(self, specs: list[str]) -> list[str]:
        options = self.options()
        # config_file_options: the recipe's own --force-conf* options replace ours
        conffile = [] if any("--force-conf" in o for o in options) else CONFFILE_OPTS
        return ["apt-get", "-q", "-y", "--allow-downgrades", *conffile, *options, "install",
                *specs]  # recommends too, as Chef

    def _install(self, action: str) -> bool:
        if self.arrays:
            return multipackage.install(self, action)
        data = self.load()
        self.check_candidates(action, data)
        version = self.target(action, data)
        if version is None:
            return False
        spec = self.pkg if data.provider else f"{self.pkg}={version}"
        self.run_apt("install", self.install_argv([spec]), spec)
        return True

    def action_install(self) -> bool:
        return self._install("install")

    def action_upgrade(self) -> bool:
        return self._install("upgrade")

    def action_remove(self, verb: str = "remove") -> bool:
        """removing_package?: something is installed and `version`, when given, is it."""
        if self.arrays:
            return multipackage.remove(self, verb)
        data = self.load()
        wanted = self.new_version
        if data.current is None or (wanted is not None and wanted != data.current):
            return False
        name = data.provider or self.pkg
        self.run_apt(verb, ["apt-get", "-q", "-y", *self.options(), verb, name], name)
        return True

    def action_purge(self) -> bool:
        return self.action_remove("purge")


class Service(Resource):
    """service on systemd, as chef/chef lib/chef/provider/service/systemd.rb with the actions
    of lib/chef/provider/service.rb.

    Each action loads the unit's state with one `systemctl --system show -p UnitFileState
    -p ActiveState` (systemd_service_status); running means ActiveState `active`, enabled
    means UnitFileState enabled, static, generated, alias or indirect (`bad`: `systemctl
    is-enabled --quiet` decides). enable/disable do nothing for masked, static and indirect
    units (enableable?). start/stop/enable/disable/mask/unmask act only when needed; restart
    always runs; reload runs only when the service is running (a stopped one stays stopped).
    Like Chef, no daemon-reload: a unit file changed on disk keeps its loaded version until a
    recipe reloads systemd (systemd_unit does; systemctl's warning is shown as a step)."""

    kind = "service"
    actions = ("start", "stop", "restart", "reload", "enable", "disable", "mask", "unmask")
    default_action = "nothing"
    properties = {"service_name": None}

    @property
    def unit(self) -> str:
        return self.props["service_name"] or self.name

    def systemctl(self, verb: str) -> None:
        result = run_systemctl(self, verb, self.unit)
        for line in result.err.splitlines():
            if "changed on disk" in line:  # the loaded unit is not the file: say so
                self.ctx.step(line.strip())

    def state(self) -> tuple[bool, bool, str]:
        """(running, enabled, UnitFileState): Chef's load_current_resource."""
        status = unit_status(self.ctx, self.unit)
        if "UnitFileState" not in status or "ActiveState" not in status:
            raise self.fail(f"'systemctl show' not reporting status for {self.unit}!")
        file_state = status["UnitFileState"]
        if file_state == "bad":
            enabled = self.ctx.run(["systemctl", "--system", "is-enabled", self.unit,
                                    "--quiet"]).rc == 0
        else:
            enabled = file_state in ENABLED
        return status["ActiveState"] == "active", enabled, file_state

    def needed(self, action: str) -> bool:
        """Whether `action` would run a command now (restart always does)."""
        if action == "restart":
            return True
        running, enabled, file_state = self.state()
        enableable = file_state not in ("masked", "static", "indirect")
        return {"start": not running, "stop": running, "reload": running,
                "enable": enableable and not enabled, "disable": enableable and enabled,
                "mask": file_state != "masked", "unmask": file_state == "masked"}[action]

    def would_change(self, action: str) -> bool:
        return action != "nothing" and self.needed(action)

    def apply(self, action: str) -> bool:
        if action not in self.actions:  # "nothing", or the unknown action's failure
            return super().apply(action)
        if not self.needed(action):
            return False
        self.systemctl(action)
        return True

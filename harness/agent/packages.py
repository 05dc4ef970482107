"""package (apt/dpkg) and service (systemd) resources; all commands go through ctx.run."""
from __future__ import annotations

import glob

from .resource import Resource
from .systemd import ENABLED, run_systemctl, unit_status

APT_ENV = {"DEBIAN_FRONTEND": "noninteractive", "APT_LISTCHANGES_FRONTEND": "none"}
APT_OPTS = ["-y", "-q", "-o", "Dpkg::Options::=--force-confdef",
            "-o", "Dpkg::Options::=--force-confold"]


class Package(Resource):
    kind = "package"
    actions = ("install", "upgrade", "remove", "purge")
    default_action = "install"
    properties = {"version": None, "package_name": None, "options": []}

    @property
    def pkg(self) -> str:
        return self.props["package_name"] or self.name

    def installed_version(self) -> str | None:
        result = self.ctx.run(["dpkg-query", "-W", "-f=${Status} ${Version}", self.pkg])
        words = result.out.split()
        if result.rc == 0 and words[:3] == ["install", "ok", "installed"] and len(words) > 3:
            return words[3]
        return None

    def candidate_version(self) -> str | None:
        self.apt_update(only_if_empty=True)
        result = self.ctx.run(["apt-cache", "policy", self.pkg], env=APT_ENV)
        for line in result.out.splitlines():
            key, _, value = line.strip().partition(":")
            if key == "Candidate" and value.strip() not in ("", "(none)"):
                return value.strip()
        return None

    def apt_update(self, *, only_if_empty: bool) -> bool:
        """`apt-get update` at most once per run, and only when it can help."""
        state = self.ctx.state
        if state.get("apt_updated"):
            return False
        if only_if_empty and glob.glob("/var/lib/apt/lists/*_Packages*"):
            return False
        self.ctx.step("apt-get update")
        self.command(["apt-get", "update", "-q"], "apt-get update", env=APT_ENV)
        state["apt_updated"] = True
        return True

    def _install(self, version: str | None) -> bool:
        spec = f"{self.pkg}={version}" if version else self.pkg
        argv = ["apt-get", "install", *APT_OPTS,  # recommends too, as Chef's apt provider
                *(["--allow-downgrades"] if version else []), *self.props["options"], spec]
        self.apt_update(only_if_empty=True)
        self.ctx.step(f"apt-get install {spec}")
        result = self.ctx.run(argv, env=APT_ENV)
        if result.rc != 0 and self.apt_update(only_if_empty=False):
            self.ctx.step(f"apt-get install {spec} (retry after apt-get update)")
            result = self.ctx.run(argv, env=APT_ENV)
        if result.rc != 0:
            raise self.fail(f"apt-get install {spec} failed (exit {result.rc}):\n"
                            + result.tail())
        return True

    def action_install(self) -> bool:
        wanted, current = self.props["version"], self.installed_version()
        if current is not None and (wanted is None or current == str(wanted)):
            return False
        return self._install(wanted)

    def action_upgrade(self) -> bool:
        current = self.installed_version()
        candidate = self.props["version"] or self.candidate_version()
        if current is not None and (candidate is None or candidate == current):
            return False
        return self._install(self.props["version"])

    def action_remove(self, verb: str = "remove") -> bool:
        if self.installed_version() is None:
            return False
        self.ctx.step(f"apt-get {verb} {self.pkg}")
        self.command(["apt-get", verb, *APT_OPTS, self.pkg], f"apt-get {verb}", env=APT_ENV)
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

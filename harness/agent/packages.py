"""package (apt/dpkg) and service (systemd) resources; all commands go through ctx.run."""
from __future__ import annotations

import glob

from .resource import Resource

APT_ENV = {"DEBIAN_FRONTEND": "noninteractive", "APT_LISTCHANGES_FRONTEND": "none"}
APT_OPTS = ["-y", "-q", "-o", "Dpkg::Options::=--force-confdef",
            "-o", "Dpkg::Options::=--force-confold"]
ENABLED_STATES = {"enabled", "enabled-runtime", "static", "alias", "indirect", "generated",
                  "transient"}


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
        argv = ["apt-get", "install", *APT_OPTS, "--no-install-recommends",
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
    kind = "service"
    actions = ("start", "stop", "restart", "reload", "enable", "disable")
    default_action = "nothing"
    properties = {"service_name": None}

    @property
    def unit(self) -> str:
        return self.props["service_name"] or self.name

    def systemctl(self, *args: str) -> None:
        self.ctx.step(f"systemctl {' '.join(args)} {self.unit}")
        self.command(["systemctl", *args, self.unit], f"systemctl {args[0]} {self.unit}")

    def active(self) -> bool:
        return self.ctx.run(["systemctl", "is-active", "--quiet", self.unit]).rc == 0

    def enabled_state(self) -> str:
        """`systemctl is-enabled` output: enabled, disabled, static, masked, ..."""
        return self.ctx.run(["systemctl", "is-enabled", self.unit]).out.strip()

    def daemon_reload(self) -> None:
        """Pick up unit files a recipe just wrote, the way Chef's systemd_unit does."""
        result = self.ctx.run(["systemctl", "show", "-p", "NeedDaemonReload", "--value",
                               self.unit])
        if result.out.strip() == "yes":
            self.ctx.step("systemctl daemon-reload")
            self.command(["systemctl", "daemon-reload"], "systemctl daemon-reload")

    def action_start(self) -> bool:
        self.daemon_reload()
        if self.active():
            return False
        self.systemctl("start")
        return True

    def action_stop(self) -> bool:
        if not self.active():
            return False
        self.systemctl("stop")
        return True

    def action_restart(self) -> bool:
        self.daemon_reload()
        self.systemctl("restart")
        return True

    def action_reload(self) -> bool:
        self.daemon_reload()
        self.systemctl("reload" if self.active() else "start")
        return True

    def action_enable(self) -> bool:
        self.daemon_reload()
        if self.enabled_state() in ENABLED_STATES:
            return False
        self.systemctl("enable")
        return True

    def action_disable(self) -> bool:
        if self.enabled_state() not in ("enabled", "enabled-runtime", "alias"):
            return False
        self.systemctl("disable")
        return True

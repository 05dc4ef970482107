"""package with a list of names (or of versions): Chef's multipackage API on apt.

chef/chef lib/chef/provider/package.rb keeps the names, the wanted, installed and candidate
versions as lists indexed alike (package_name_array, new_version_array, each_package); its
apt provider (lib/chef/provider/package/apt.rb, `use_multipackage_api`) then acts on every
target with ONE apt-get command (`install a=1 b=2`, `remove a b`), so one resource reports
one change. `package(["a", "b"])` is named "a, b" (resource.rb's name coerce joins an
Array), so its key, for notifications and reports, is `package[a, b]`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .fileutil import ruby_inspect

if TYPE_CHECKING:
    from .packages import AptData, Package


def flatten(value: Any) -> list[Any]:
    """as_array: `[ thing ].flatten` (a tuple counts as a list)."""
    if isinstance(value, (list, tuple)):
        return [item for entry in value for item in flatten(entry)]
    return [value]


def version_array(version: Any) -> list[str | None]:
    """new_version_array: `[ new_resource.version ].flatten.map { |v| v.to_s.empty? ? nil : v }`."""
    return [None if v is None or str(v) == "" else str(v) for v in flatten(version)]


def ruby_s(value: Any) -> str:
    """How Chef's messages interpolate new_resource.package_name / version: a String as
    itself, an Array as Ruby's inspect (`["a", nil]`)."""
    return ruby_inspect(value) if isinstance(value, list) else str(value)


def target_version(action: str, current: str | None, candidate: str | None,
                   wanted: str | None) -> str | None:
    """target_version_array for one package (apt: allow_downgrade is always true, and
    version_requirement_satisfied? is equality)."""
    if action == "install":
        if wanted is not None:
            return None if current == wanted else wanted
        return candidate if current is None else None
    if current is not None and current == wanted:
        return None
    if current is None:
        return candidate
    return None if candidate is None or candidate == current else candidate


def load(res: Package) -> tuple[list[str], list[str | None], dict[str, AptData]]:
    """load_current_resource: package_data per distinct name, in the list's order."""
    names = res.names()
    data: dict[str, AptData] = {}
    for name in names:
        if name not in data:
            data[name] = res.package_data(name)
    return names, version_array(res.props["version"]), data


def _at(values: list[str | None], index: int) -> str | None:
    """Ruby's Array#[]: nil past the end (a shorter version list leaves the rest unpinned)."""
    return values[index] if index < len(values) else None


def check(res: Package, action: str, names: list[str], wanted: list[str | None],
          data: dict[str, AptData]) -> None:
    """define_resource_requirements: forced_packages_missing_candidates (:install), then
    packages_missing_candidates (:install, :upgrade), each naming every package at fault."""
    forced = [n for i, n in enumerate(names)
              if (w := _at(wanted, i)) is not None and data[n].current is not None
              and data[n].current != w and data[n].candidate is None]
    if action == "install" and forced:
        raise res.fail("No version specified, and no candidate version available for "
                       + ", ".join(forced))
    missing = [n for n in names if data[n].current is None and data[n].candidate is None]
    if missing:
        raise res.fail(f"No candidate version available for {', '.join(missing)}\n(apt's "
                       "lists offer no such package or version: does an apt_update run "
                       "before it, as a fresh host needs?)")


def install(res: Package, action: str) -> bool:
    """action_install / action_upgrade: install_package(package_names_for_targets,
    versions_for_targets) with the targets only (apt does not allow_nils); a virtual name
    goes to apt-get as it is, a real one as NAME=VERSION. The step lines are Chef's
    install_description / upgrade_description."""
    names, wanted, data = load(res)
    check(res, action, names, wanted, data)
    targets = [(n, v) for i, n in enumerate(names)
               if (v := target_version(action, data[n].current, data[n].candidate,
                                       _at(wanted, i))) is not None]
    if not targets:
        return False
    for name, version in targets:
        res.ctx.step(f"install version {version} of package {name}" if action == "install"
                     else f"upgrade(allow_downgrade) package {name} from "
                          f"{data[name].current or 'uninstalled'} to {data[name].candidate}")
    specs = [name if data[name].provider else f"{name}={version}" for name, version in targets]
    res.run_apt("install", res.install_argv(specs), " ".join(specs))
    return True


def removing(names: list[str], wanted: list[str | None], data: dict[str, AptData]) -> bool:
    """removing_package?: something is installed, and no version is given or one matches
    (have_any_matching_version? compares index by index, so a nil version matches a package
    that is not installed, as Ruby's `nil == nil`)."""
    current = [data[n].current for n in names]
    if all(c is None for c in current):
        return False
    if all(w is None for w in wanted):
        return True
    return any(w == _at(current, i) for i, w in enumerate(wanted))


def remove(res: Package, verb: str) -> bool:
    """action_remove / action_purge: `apt-get -q -y OPTIONS VERB` with every name of the
    resource (installed or not; a virtual one as its provider), Chef's description first."""
    names, wanted, data = load(res)
    if not removing(names, wanted, data):
        return False
    version, package = res.props["version"], ruby_s(res.props["package_name"] or res.name)
    if verb == "remove":
        shown = f"version {ruby_s(version)} of " if version is not None else ""
        res.ctx.step(f"remove {shown}package {package}")
    else:
        shown = f"version {ruby_s(version)} of" if version is not None else ""
        res.ctx.step(f"purge {shown} package {package}")
    targets = [data[n].provider or n for n in names]
    res.run_apt(verb, ["apt-get", "-q", "-y", *res.options(), verb, *targets], " ".join(targets))
    return True

"""`load_repo`: read a config repo into memory, validate it, report every problem at once.

Only reads files. Every document is normalised to Chef's full shape (missing keys filled in,
`json_class`/`chef_type` included), so what Chef tools wrote loads unchanged and what a
person wrote in short YAML looks the same afterwards. Problems name the file and, where it
can be found, the line; a file that fails to load still "exists" for reference checks, so
one broken file is reported once, not again by everything that refers to it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import Problem, ValidationError
from harness.repo.cookbook import Cookbook, read_cookbook
from harness.repo.docfiles import EXTENSIONS, problem_at, read_document
from harness.repo.documents import check_item
from harness.repo.limits import symlink_issue
from harness.repo.rubyfiles import template_problems
from harness.repo.validate import (
    COOKBOOK_RE,
    DEFAULT_ENVIRONMENT,
    NAME_RULES,
    SHAPES,
    bag_issue,
    check_document,
    check_references,
    name_issue,
    normal_run_list,
)

DOCUMENT_DIRS = (("role", "roles"), ("environment", "environments"), ("node", "nodes"))
COOKBOOK_DIRS = ("cookbooks", "site-cookbooks")


@dataclass
class Repo:
    """A loaded, valid config repo (see contracts.md for the shapes)."""

    root: Path
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    data_bags: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    cookbooks: dict[str, Cookbook] = field(default_factory=dict)
    bootstrap: Path | None = None
    sources: dict[tuple[str, str], Path] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)   # what loads but is not read (Ruby/ERB)


class _Load:
    """One load: the repo being filled, the problems, and names whose file failed."""

    def __init__(self, root: Path) -> None:
        self.repo = Repo(root=root)
        self.problems: list[Problem] = []
        self.ghosts: dict[str, set[str]] = {"role": set(), "environment": set(), "node": set(),
                                            "cookbook": set()}

    def documents(self, directory: Path, what: str) -> list[tuple[str, Path]]:
        """(stem, path) of the JSON/YAML files in `directory`, sorted; odd entries reported."""
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except FileNotFoundError:
            return []
        except OSError as err:
            self.problems.append(Problem(str(directory), f"cannot read: {err.strerror}"))
            return []
        found: dict[str, Path] = {}
        for entry in entries:
            name = entry.name
            if name.startswith(".") or self.escapes(entry):
                continue
            path = Path(entry.path)
            stem, ext = os.path.splitext(name)
            if entry.is_dir():
                self.problems.append(Problem(str(path), f"unexpected directory in {what}"))
            elif ext == ".rb":
                self.problems.append(Problem(str(path), "Ruby DSL files are not read: convert "
                                                        "to JSON (knife ... show -F json) or YAML"))
            elif ext in EXTENSIONS:
                if stem in found:
                    self.problems.append(Problem(str(path), f"{stem!r} is also defined in "
                                                            f"{found[stem].name}"))
                    continue
                found[stem] = path
        return list(found.items())

    def escapes(self, entry: os.DirEntry[str]) -> bool:
        """True (and reported) when entry is a symlink leading out of the repo, or nowhere."""
        if not entry.is_symlink():
            return False
        problem = symlink_issue(entry.path, str(self.repo.root))
        if problem:
            self.problems.append(Problem(entry.path, problem))
        return problem is not None

    def report(self, path: Path, issues: list[Any]) -> bool:
        """Turn (keypath, message, value) issues into Problems; True when there were none."""
        for keypath, message, value in issues:
            self.problems.append(problem_at(path, message, keypath, value))
        return not issues


def load_repo(path: Path | str) -> Repo:
    """Load and validate the repo at `path`; ValidationError lists every problem."""
    root = Path(path)
    if not root.is_dir():
        raise ValidationError([Problem(str(root), "not a directory (expected a config repo)")])
    load = _Load(root)
    repo = load.repo
    for kind, dirname in DOCUMENT_DIRS:
        target = getattr(repo, {"role": "roles", "environment": "environments",
                                "node": "nodes"}[kind])
        for stem, file in load.documents(root / dirname, f"{dirname}/"):
            _load_document(load, kind, stem, file, target)
    if "_default" not in repo.environments and "_default" not in load.ghosts["environment"]:
        repo.environments["_default"] = dict(SHAPES["environment"], name="_default",
                                             description=DEFAULT_ENVIRONMENT)
    _load_data_bags(load, root / "data_bags")
    _load_cookbooks(load)
    bootstrap = root / "bootstrap" / "bootstrap.sh"
    repo.bootstrap = bootstrap if bootstrap.is_file() else None
    for kind, name, keypath, message, value in check_references(repo, load.ghosts):
        load.problems.append(problem_at(repo.sources[(kind, name)], message, keypath, value))
    if load.problems:
        raise ValidationError(load.problems)
    return repo


def _load_document(load: _Load, kind: str, stem: str, file: Path, target: dict[str, Any]) -> None:
    problem = name_issue(stem, f"{kind} file name", NAME_RULES[kind])
    if problem:
        load.problems.append(Problem(str(file), problem))
        return
    doc, unreadable = read_document(file)
    if unreadable:
        load.problems.append(unreadable)
        load.ghosts[kind].add(stem)
        return
    if kind == "role":
        _ignored_run_list(load, file, doc)
    doc, issues = check_document(kind, doc, stem)
    load.report(file, issues)
    target[stem] = doc       # even when flawed, so its references are checked too
    load.repo.sources[(kind, stem)] = file


def _ignored_run_list(load: _Load, file: Path, doc: Any) -> None:
    """Warn when env_run_lists._default differs from run_list: Chef::Role.from_hash (role.rb)
    lets it replace run_list, so chef-client expands the role from it in every environment
    without its own list and the run_list written beside it never runs."""
    lists = doc.get("env_run_lists") if isinstance(doc, dict) else None
    default = lists.get("_default") if isinstance(lists, dict) else None
    written = doc.get("run_list") if isinstance(doc, dict) else None
    if isinstance(default, list) and isinstance(written, list) and \
            normal_run_list(default) != normal_run_list(written):
        load.repo.warnings.append(problem_at(
            file, "env_run_lists._default differs from run_list: chef-client expands this "
                  "role from env_run_lists._default (Chef::Role.from_hash) wherever no "
                  "environment list applies; write the default run list once, in run_list",
            ("env_run_lists", "_default")))


def _subdirs(load: _Load, directory: Path) -> list[os.DirEntry[str]]:
    """Visible subdirectories, sorted; a missing directory has none, an unreadable one is a problem."""
    try:
        return sorted((e for e in os.scandir(directory) if not e.name.startswith(".")
                       and not load.escapes(e) and e.is_dir()), key=lambda e: e.name)
    except FileNotFoundError:
        return []
    except OSError as err:
        load.problems.append(Problem(str(directory), f"cannot read: {err.strerror}"))
        return []


def _load_data_bags(load: _Load, directory: Path) -> None:
    for bag_entry in _subdirs(load, directory):
        bag, bag_dir = bag_entry.name, Path(bag_entry.path)
        problem = bag_issue(bag)
        if problem:
            load.problems.append(Problem(str(bag_dir), problem))
            continue
        items = load.repo.data_bags[bag] = {}
        load.repo.sources[("data_bag", bag)] = bag_dir
        for stem, file in load.documents(bag_dir, f"data bag {bag}"):
            doc, unreadable = read_document(file)
            if unreadable:
                load.problems.append(unreadable)
                continue
            doc, issues = check_item(doc, bag, stem)
            if load.report(file, issues):
                items[stem] = doc
                load.repo.sources[("data_bag_item", f"{bag}/{stem}")] = file


def _load_cookbooks(load: _Load) -> None:
    repo = load.repo
    for dirname in COOKBOOK_DIRS:
        base = repo.root / dirname
        for entry in _subdirs(load, base):
            directory = Path(entry.path)
            problem = name_issue(entry.name, "cookbook directory name", COOKBOOK_RE)
            if problem:
                load.problems.append(Problem(str(directory), problem))
                continue
            if entry.name in repo.cookbooks or entry.name in load.ghosts["cookbook"]:
                other = repo.sources.get(("cookbook", entry.name))
                load.problems.append(Problem(str(directory), f"cookbook {entry.name!r} is in "
                                             f"both cookbooks/ and site-cookbooks/"
                                             + (f" (also {other.parent})" if other else "")))
                continue
            cookbook = read_cookbook(directory, load.problems)
            if cookbook is None:
                load.ghosts["cookbook"].add(entry.name)
                continue
            repo.cookbooks[cookbook.name] = cookbook
            repo.warnings.extend(Problem(str(directory / rel), why) for rel, why in cookbook.unread)
            load.problems.extend(template_problems(directory, frozenset(cookbook.files)))
            meta = next(f for f in cookbook.files if f.startswith("metadata.")
                        and "." + f.rsplit(".", 1)[-1] in EXTENSIONS)
            repo.sources[("cookbook", cookbook.name)] = directory / meta

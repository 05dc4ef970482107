"""Cookbook content Chef would run but the harness cannot: Ruby and ERB, named file by file.

No Chef client is installable here, so `attributes/*.rb`, `recipes/*.rb`, `libraries/`,
`resources/*.rb`, `providers/`, `definitions/` and `templates/**/*.erb` are never executed.
Dropping them silently would let a repo pass here and fail in production (its attributes
simply vanish), so each is a warning, and a reference that only Ruby/ERB could satisfy (a
run-list recipe, a literal `template(...)` source) is an error.
"""
from __future__ import annotations

import ast
import os
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path

from harness.errors import Problem

_RUBY_DIRS = {
    "attributes": "Ruby attribute file is not read: the attributes it sets are missing "
                  "(write attributes/default.yaml or override.yaml)",
    "recipes": "Ruby recipe is not read (recipes are recipes/NAME.py)",
    "libraries": "Ruby library is not loaded",
    "resources": "Ruby custom resource is not read",
    "providers": "Ruby provider is not read",
    "definitions": "Ruby definition is not read",
}
_ROOT_ALIASES = {"attributes.rb": "attributes", "recipe.rb": "recipes"}   # Chef's root_files
ERB = "ERB template is not rendered (templates are Jinja2: templates/NAME.j2)"


def unread_files(files: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(relative path, why) for each cookbook file Chef would load and the harness ignores."""
    for rel in files:
        top = rel.partition("/")[0]
        if top == "templates" and rel.endswith(".erb"):
            yield rel, ERB
        elif top in _RUBY_DIRS and rel.endswith(".rb") and "/" in rel:
            yield rel, _RUBY_DIRS[top]
        elif rel in _ROOT_ALIASES:
            yield rel, _RUBY_DIRS[_ROOT_ALIASES[rel]]


def recipe_hint(files: Collection[str], short: str) -> str:
    """Said after "has no recipes/NAME.py" when only the Ruby recipe exists."""
    for rel in (f"recipes/{short}.rb", "recipe.rb" if short == "default" else None):
        if rel in files:
            return f" (only {rel}, and Ruby recipes are not read)"
    return ""


def erb_twin(files: Collection[str], source: str) -> str | None:
    """The ERB file a missing template `source` was probably meant to be, if any."""
    stem = source[:-3] if source.endswith(".j2") else source
    for rel in (f"templates/{source}", f"templates/{stem}.erb", f"templates/default/{stem}.erb",
                f"templates/default/{source}"):
        if rel.endswith(".erb") and rel in files:
            return rel
    return None


def template_problems(directory: Path, files: Collection[str]) -> list[Problem]:
    """Literal `template(PATH, source=...)` calls in recipes/*.py whose source exists only as
    ERB. Computed sources and other cookbooks' templates are left to the agent at converge."""
    problems: list[Problem] = []
    for rel in sorted(f for f in files if f.startswith("recipes/") and f.endswith(".py")):
        try:
            tree = ast.parse((directory / rel).read_bytes(), filename=rel)
        except (OSError, SyntaxError, ValueError):
            continue                    # the agent reports unreadable recipes at compile
        for call in ast.walk(tree):
            source = _literal_template_source(call)
            if source is None or _has_template(files, source) or not isinstance(call, ast.Call):
                continue
            twin = erb_twin(files, source)
            if twin is not None:
                problems.append(Problem(str(directory / rel), f"template source {source!r} "
                                        f"exists only as {twin}: {ERB}", call.lineno))
    return problems


def _has_template(files: Collection[str], source: str) -> bool:
    """Whether a node could find `source`: at templates/' root or in one of its specificity
    directories (host-FQDN/, PLATFORM-VERSION/, PLATFORM/, default/: which one a node uses
    depends on its facts, unknown here; cookbook_version.rb preferences_for_path)."""
    return any(f == f"templates/{source}" or (f.startswith("templates/") and
               f.count("/") == source.count("/") + 2 and f.endswith(f"/{source}"))
               for f in files)


def _literal_template_source(node: ast.AST) -> str | None:
    """The source a `template(...)` call renders from this cookbook, when written literally."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "template"):
        return None
    keywords = {k.arg: k.value for k in node.keywords if k.arg}
    if "cookbook" in keywords:
        return None
    source = keywords.get("source")
    if source is not None:
        return source.value if isinstance(source, ast.Constant) and isinstance(
            source.value, str) else None
    if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        return os.path.basename(node.args[0].value) + ".j2"     # the agent's default source
    return None

"""Jinja2 rendering of cookbook templates (StrictUndefined: a typo fails the run, loudly)."""
from __future__ import annotations

import sys
from typing import Any

import jinja2

from .node import Attrs, Node


class _Environment(jinja2.Environment):
    """Missing node attributes stay undefined (so `is defined` works) but say their path."""

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, (Attrs, Node)) and isinstance(argument, str):
            try:
                return obj[argument]
            except KeyError as exc:
                return self.undefined(obj=obj, name=argument, hint=str(exc))
        return super().getitem(obj, argument)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, (Attrs, Node)) and not hasattr(obj, attribute):
            return self.getitem(obj, attribute)
        return super().getattr(obj, attribute)


class _CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates shared by every run of this process, keyed by name and source
    checksum (jinja2 checks the checksum too): a host process that why-runs many nodes (the
    unit layer, `harness plan`) parses and compiles each template source once."""

    LIMIT = 1024

    def __init__(self) -> None:
        self.code: dict[tuple[str, str | None], bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = self.code.get((bucket.key, bucket.checksum))
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if len(self.code) >= self.LIMIT:
            self.code.clear()
        self.code[(bucket.key, bucket.checksum)] = bucket.bytecode_to_string()


COMPILED = _CompiledTemplates()


EXACT = "\0"   # a template name that is a path under templates/ as given (a list source)


def environment(book: Any, state: dict[str, Any], node: Any = None) -> jinja2.Environment:
    """One Jinja environment per cookbook per run; templates may include their siblings.

    A name is found as Chef's template finder finds one (also for a partial):
    cookbook_version.rb preferences_for_path, templates/host-FQDN/NAME,
    templates/PLATFORM-VERSION.../NAME, templates/PLATFORM/NAME, templates/default/NAME,
    then templates/NAME. The run's node is fixed, so the environment can keep it.
    """
    cache = state.setdefault("jinja", {})
    if book.name not in cache:
        def load(name: str) -> tuple[str, str, Any] | None:
            if name.endswith(".erb"):            # ERB would render as plain text
                return None
            if name.startswith(EXACT):
                path: str | None = f"templates/{name[len(EXACT):]}"
                path = path if book.has(path) else None
            else:
                path = book.preferred(node, "templates", name)
            if path is None:
                return None
            return book.read(path).decode("utf-8"), book.label(path), lambda: True
        cache[book.name] = _Environment(
            loader=jinja2.FunctionLoader(load), undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True, autoescape=False, bytecode_cache=COMPILED)
    env: jinja2.Environment = cache[book.name]
    return env


def render_template(book: Any, source: str | list[str], node: Any, variables: dict[str, Any],
                    state: dict[str, Any]) -> str:
    """Render the template `source` names (a list: the first of them found, as given, as
    Chef's finder does) with `node` and the variables; ValueError names file:line."""
    env = environment(book, state, node)
    if isinstance(source, list):
        found = next((s for s in source if book.has(f"templates/{s}")), None)
        if found is None or found.endswith(".erb"):
            raise ValueError(book.not_found(node, "templates", source)
                             + erb_hint(book, source, node))
        name = EXACT + found
    else:
        name = source
    try:
        template = env.get_template(name)
        return template.render({"node": node, **variables})
    except jinja2.TemplateNotFound as exc:
        missing = str(exc.name)
        raise ValueError(book.not_found(node, "templates", missing)
                         + erb_hint(book, missing, node)) from None
    except jinja2.TemplateSyntaxError as exc:
        where = exc.filename or book.label(f"templates/{name.lstrip(EXACT)}")
        raise ValueError(f"{where}:{exc.lineno}: syntax error: {exc.message}") from None
    except Exception as exc:  # anything a template expression raises
        where = (_template_frame(sys.exc_info()[2], book)
                 or book.label(f"templates/{name.lstrip(EXACT)}"))
        raise ValueError(f"{where}: {type(exc).__name__}: {exc}") from None


def erb_hint(book: Any, source: str | list[str], node: Any) -> str:
    """Chef renders templates/NAME.erb; we render Jinja2 only, and say so when that is why."""
    for name in source if isinstance(source, list) else [source]:
        stem = name[:-3] if name.endswith(".j2") else name.removesuffix(".erb")
        rel = book.preferred(node, "templates", [stem + ".erb"] if isinstance(source, list)
                             else stem + ".erb")
        if rel is not None:
            return f"\n(only {rel}: ERB templates are not rendered, port it to Jinja2)"
    return ""


def _template_frame(tb: Any, book: Any) -> str | None:
    """The innermost traceback frame inside one of the cookbook's templates, as file:line."""
    found = None
    prefix = book.label("templates/")
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(prefix):
            found = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found

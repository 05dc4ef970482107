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


def environment(book: Any, state: dict[str, Any]) -> jinja2.Environment:
    """One Jinja environment per cookbook per run; templates may include their siblings."""
    cache = state.setdefault("jinja", {})
    if book.name not in cache:
        def load(name: str) -> tuple[str, str, Any] | None:
            path = f"templates/{name}"
            if name.endswith(".erb") or not book.has(path):   # ERB would render as plain text
                return None
            return book.read(path).decode("utf-8"), book.label(path), lambda: True
        cache[book.name] = _Environment(
            loader=jinja2.FunctionLoader(load), undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True, autoescape=False, bytecode_cache=COMPILED)
    env: jinja2.Environment = cache[book.name]
    return env


def render_template(book: Any, source: str, node: Any, variables: dict[str, Any],
                    state: dict[str, Any]) -> str:
    """Render templates/<source> with `node` and the variables; ValueError names file:line."""
    env = environment(book, state)
    try:
        template = env.get_template(source)
        return template.render({"node": node, **variables})
    except jinja2.TemplateNotFound as exc:
        raise ValueError(f"cookbook {book.name} has no templates/{exc.name}"
                         + _erb_hint(book, str(exc.name))) from None
    except jinja2.TemplateSyntaxError as exc:
        where = exc.filename or book.label(f"templates/{source}")
        raise ValueError(f"{where}:{exc.lineno}: syntax error: {exc.message}") from None
    except Exception as exc:  # anything a template expression raises
        where = _template_frame(sys.exc_info()[2], book) or book.label(f"templates/{source}")
        raise ValueError(f"{where}: {type(exc).__name__}: {exc}") from None


def _erb_hint(book: Any, name: str) -> str:
    """Chef renders templates/NAME.erb; we render Jinja2 only, and say so when that is why."""
    stem = name[:-3] if name.endswith(".j2") else name.removesuffix(".erb")
    for rel in (f"templates/{stem}.erb", f"templates/default/{stem}.erb"):
        if book.has(rel):
            return f" (only {rel}: ERB templates are not rendered, port it to Jinja2)"
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

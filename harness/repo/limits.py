"""The one set of limits: what `harness validate` accepts is exactly what the server stores.

Why one module: every limit here used to live in two places (the repo loader and the
server), and each gap between them was a bug (the server stored what backup could not write
or restore could not read; validate passed what the server then refused halfway through a
restore). The repo model (loader, validate) and the server's door (wire.py, store) both
import these numbers and checks; nothing here imports beyond harness.errors.
"""
from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from typing import Any

# Chef Infra Server refuses request bodies over 1,000,000 bytes by default
# (opscode_erchef['max_request_size'], "413 Request Entity Too Large"): a document (role,
# environment, node, data bag item, cookbook metadata) is at most that as compact JSON.
MAX_DOCUMENT_BYTES = 1_000_000
# Normalising adds at most this to a document (name, json_class, chef_type, empty defaults):
# repo files are held to MAX_DOCUMENT_BYTES - SLACK so the stored form always fits.
SLACK = 1024
# A name becomes a file name in a backup (NAME.json, NAME-VERSION/): 255 bytes on every
# common filesystem; 200 leaves room for ".json" and "-VERSION".
MAX_NAME = 200
MAX_VERSION = 50             # "x.y.z" of integers; the rest of a cookbook dir name
MAX_DEPTH = 100              # nesting of a document (repo files and request bodies alike)
MAX_NODES = 1_000_000        # values in a YAML document after alias expansion
MAX_FILE_BYTES = 32 << 20    # one cookbook file (the server takes 64 MiB per upload body)
MAX_PATH = 1024              # a cookbook file's relative path, in bytes
MAX_COMPONENT = 255          # one part of it (a file name on every common filesystem)
MAX_REPORT_BYTES = 1 << 20   # one converge report (the agent's run summary)
MAX_REPORTS = 20             # reports kept per node; the oldest are dropped
MIN_TOKEN = 16               # characters of an admin token given in a token file


class Bad(Exception):
    """A value breaks a limit: what, and where (the keys and indexes leading to it)."""

    def __init__(self, message: str, keypath: tuple[Any, ...] = ()) -> None:
        super().__init__(message)
        self.message, self.keypath = message, keypath


def text_issue(value: str) -> str | None:
    """Why a string cannot be stored: a lone surrogate (\\ud800) is not Unicode text, so
    it cannot be written as UTF-8 (the server's answer, a backup, a node's file)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        return (f"{value[err.start:err.end].encode('unicode_escape').decode()} is not valid "
                "Unicode text (a lone surrogate): it cannot be written as UTF-8")
    return None


def check_value(doc: Any, max_depth: int = MAX_DEPTH) -> None:
    """Raise Bad for the first value a stored document may not hold: nested deeper than
    MAX_DEPTH (the top container is level 0, as in the repo loader), a key that is not a
    string, a string that is not valid Unicode text.
    Iterative on purpose: a request body nested 100,000 deep must not hit Python's stack."""
    stack: list[tuple[Any, int, tuple[Any, ...]]] = [(doc, 0, ())]
    while stack:
        value, depth, path = stack.pop()
        kind = type(value)
        if kind is str:
            problem = text_issue(value)
            if problem:
                raise Bad(problem, path)
        elif kind is dict or kind is list:
            if depth > max_depth:
                raise Bad(f"nested deeper than {MAX_DEPTH} levels", path)
            pairs: Iterable[tuple[Any, Any]] = value.items() if kind is dict else enumerate(value)
            for key, child in pairs:
                if kind is dict:
                    if type(key) is not str:
                        raise Bad(f"key {key!r} is not a string", path)
                    problem = text_issue(key)
                    if problem:
                        raise Bad(f"key: {problem}", path + (key,))
                if type(child) in (str, dict, list):
                    stack.append((child, depth + 1, path + (key,)))


def value_issue(doc: Any, max_depth: int = MAX_DEPTH) -> tuple[tuple[Any, ...], str] | None:
    """(keypath, message) of check_value's first complaint, or None."""
    try:
        check_value(doc, max_depth)
    except Bad as bad:
        return bad.keypath, bad.message
    return None


def size_issue(size: int, what: str, limit: int = MAX_DOCUMENT_BYTES) -> str | None:
    """Why `size` bytes of `what` are too many."""
    if size > limit:
        return f"{what} is {size:,} bytes as JSON; the limit is {limit:,}"
    return None


def path_issue(path: str) -> str | None:
    """Why a cookbook file path cannot be written below a backup directory."""
    problem = text_issue(path)
    if problem:
        return problem
    if len(path.encode()) > MAX_PATH:
        return f"longer than {MAX_PATH} bytes"
    if any(len(part.encode()) > MAX_COMPONENT for part in path.split("/")):
        return f"has a part longer than {MAX_COMPONENT} bytes (a file name's limit)"
    return None


def path_conflicts(paths: Iterable[str]) -> list[str]:
    """Cookbook file paths that are also a directory of another path (`a` and `a/b`): no
    directory on disk can hold both, so backup could not write that cookbook."""
    listed = set(paths)
    out = set()
    for path in listed:
        parts = path.split("/")
        for i in range(1, len(parts)):
            prefix = "/".join(parts[:i])
            if prefix in listed:
                out.add(prefix)
    return sorted(out)


def symlink_issue(path: str, root: str) -> str | None:
    """Why a symlink in a repo (or backup) at `root` may not be read: it leads outside the
    root (`files/passwd -> /etc/passwd` would be served to every node token), loops, or
    leads nowhere. A symlink that stays inside the root is read like the file it names."""
    try:
        target = os.path.realpath(path, strict=True)
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "symlink loop"
        return f"broken symlink ({err.strerror})"
    base = os.path.realpath(root)
    if os.path.commonpath([target, base]) != base:
        return f"symlink to {target}, outside {base}: refused (nodes could download it)"
    return None


def secret_mode_issue(path: str) -> str | None:
    """Why the data bag secret at `path` is exposed: readable by group or others. Git keeps no
    mode but the executable bit, so every checkout writes it 0644 under the usual umask: the
    harness warns at use and always installs it into nodes as 0600 (docs/decisions.md)."""
    try:
        mode = os.stat(path).st_mode & 0o777
    except OSError:
        return None
    if mode & 0o077:
        return (f"{path}: the data bag secret is readable by group or others (mode "
                f"{mode:04o}); chmod 600 it (git keeps no modes: a fresh checkout needs it again)")
    return None

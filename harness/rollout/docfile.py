"""One JSON or YAML file of the config repo, read so that it can be edited in place.

Why: bump, promote and allowlist edit files people wrote by hand. We keep the text as it is (BOM,
line endings, quoting, comments) next to two views of it: the document as the file's real loader
sees it (json or yaml.safe_load) and PyYAML's node graph, whose marks say where each value sits
in the text (JSON is YAML, so one composer serves both). Writes are verified and atomic.
"""
from __future__ import annotations

import copy
import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode

from harness.errors import HarnessError, UsageError

BOM = "\ufeff"
SUFFIXES = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}


def parse_text(text: str, fmt: str, path: Path) -> Any:
    """Parse with the loader the repo uses for this format; errors name file and line."""
    try:
        return json.loads(text) if fmt == "json" else yaml.safe_load(text)
    except json.JSONDecodeError as err:
        raise UsageError(f"not valid JSON: {err.msg}", path=str(path), line=err.lineno) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise UsageError(f"not valid YAML: {problem}", path=str(path),
                         line=mark.line + 1 if mark else None) from None


@dataclass
class Doc:
    """A parsed file plus the text and node marks needed to splice edits into it."""

    path: Path
    text: str
    bom: bool
    fmt: str
    data: Any
    root: MappingNode

    @property
    def newline(self) -> str:
        return "\r\n" if "\r\n" in self.text else "\n"

    def expected(self) -> Any:
        """A deep copy of the document, for the caller to apply its change to."""
        return copy.deepcopy(self.data)

    def commit(self, new_text: str, expected: Any) -> None:
        """Write new_text only when it parses to exactly `expected` (nothing else changed)."""
        try:
            same = parse_text(new_text, self.fmt, self.path) == expected
        except UsageError:
            same = False
        if not same:
            raise HarnessError("cannot edit this file without changing more than intended; "
                               "edit it by hand", path=str(self.path))
        write_atomic(self.path, ((BOM if self.bom else "") + new_text).encode("utf-8"))


def load_doc(path: Path) -> Doc:
    """Read a .json/.yaml/.yml file whose top level is a mapping."""
    fmt = SUFFIXES.get(path.suffix)
    if fmt is None:
        raise UsageError("not a .json or .yaml file", path=str(path))
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise UsageError("no such file", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read: {err}", path=str(path)) from None
    bom = text.startswith(BOM)
    text = text[1:] if bom else text
    data = parse_text(text, fmt, path)
    if not isinstance(data, dict):
        raise UsageError("top level is not a mapping", path=str(path))
    # JSON allows tabs between tokens where YAML does not; inside JSON strings a raw tab is
    # invalid, so swapping each tab for one space keeps every offset and every value.
    marked = text.replace("\t", " ") if fmt == "json" else text
    try:
        root = yaml.compose(marked)
    except yaml.YAMLError as err:
        raise HarnessError(f"cannot locate values in this file ({err}); edit it by hand",
                           path=str(path)) from None
    if not isinstance(root, MappingNode):  # data is a mapping, so this cannot happen
        raise HarnessError("cannot locate values in this file; edit it by hand", path=str(path))
    return Doc(path=path, text=text, bom=bom, fmt=fmt, data=data, root=root)


def write_atomic(path: Path, data: bytes) -> None:
    """Temp file in the same directory, fsync, os.replace: readers see old or new, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def find_file(directory: Path, name: str) -> Path | None:
    """NAME.json, NAME.yaml or NAME.yml in directory (the first that exists)."""
    for suffix in SUFFIXES:
        candidate = directory / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None

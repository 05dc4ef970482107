"""Restore a config repo (over an optional backup) into a server; back a server up.

Restore reads and validates everything first, uploads the files (content-addressed: the
current content still works), stages the documents and cookbook versions in batches (POST
/_restore/ID/bulk; one request per document would cost more HTTP overhead than work) and
commits: the server swaps the new content in at once, or keeps the old if anything failed.
A backup is one consistent snapshot (GET /_snapshot) plus the files it lists.
Backup writes knife-backup's layout (sorted JSON, indent 2, trailing newline: backup ->
restore -> backup is byte-for-byte stable) into a temporary directory renamed into place,
so nothing is ever half-written.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import partial
from pathlib import Path
from typing import Any

from harness.client import Client, bulk_bodies, run_all
from harness.errors import Problem, ServerError, UsageError, ValidationError
from harness.repo.cookbook import Cookbook, load_cookbook
from harness.repo.docfiles import EXTENSIONS, read_document
from harness.repo.documents import check_name, safe_path
from harness.repo.limits import symlink_issue
from harness.repo.loader import load_repo
from harness.util import paused_gc

Doc = dict[str, Any]

FILE_BYTES = 8 << 20  # per multipart POST /file_store; the server takes up to 64 MiB
KINDS = ("environments", "roles", "nodes", "clients")  # directories of one JSON per object
ENTRIES = {*KINDS, "data_bags", "cookbooks"}  # what a backup directory may contain


@dataclass
class Payload:
    """Everything a restore uploads (or a backup writes), keyed by name."""

    environments: dict[str, Doc] = field(default_factory=dict)
    roles: dict[str, Doc] = field(default_factory=dict)
    nodes: dict[str, Doc] = field(default_factory=dict)
    clients: dict[str, Doc] = field(default_factory=dict)
    data_bags: dict[str, dict[str, Doc]] = field(default_factory=dict)
    cookbooks: dict[tuple[str, str], Cookbook] = field(default_factory=dict)  # (name, version)

    def merge(self, other: Payload) -> None:
        """Lay other over self: same names are replaced (per data bag item)."""
        for f in fields(self):
            if f.name == "data_bags":
                for bag, items in other.data_bags.items():
                    self.data_bags.setdefault(bag, {}).update(items)
            else:
                getattr(self, f.name).update(getattr(other, f.name))

    def summary(self, cookbook_versions: int | None = None) -> str:
        """What is in it; a backup counts the versions it fetched (it keeps no Cookbook)."""
        items = sum(map(len, self.data_bags.values()))
        if cookbook_versions is None:
            cookbook_versions = len(self.cookbooks)
        return (f"{len(self.environments)} environments, {len(self.roles)} roles, "
                f"{len(self.nodes)} nodes, {len(self.clients)} clients, "
                f"{len(self.data_bags)} data bags ({items} items), "
                f"{cookbook_versions} cookbook versions")


# --- restore -----------------------------------------------------------------------------------
def repo_payload(repo_dir: Path) -> Payload:
    if not repo_dir.is_dir():
        raise UsageError("repo is not a directory", path=str(repo_dir))
    repo = load_repo(repo_dir)
    envs = {n: d for n, d in repo.environments.items()
            if n != "_default" or ("environment", n) in repo.sources}
    return Payload(roles=dict(repo.roles), environments=envs, nodes=dict(repo.nodes),
                   data_bags={b: dict(items) for b, items in repo.data_bags.items()},
                   cookbooks={(cb.name, cb.version): cb for cb in repo.cookbooks.values()})


def read_payload(repo_dir: Path | None, *, from_backup: Path | None = None) -> Payload:
    """What a restore uploads: the backup (if any) with the repo laid over it (the repo wins);
    harness.unit loads the same into an in-process store."""
    payload = Payload()
    if from_backup is not None:
        payload.merge(read_backup(Path(from_backup)))
    if repo_dir is not None:
        payload.merge(repo_payload(Path(repo_dir)))
    return payload


def restore(client: Client, repo_dir: Path | None, *, from_backup: Path | None = None,
            progress: Callable[[str], None] | None = None, keep: Sequence[str] = ()) -> str:
    """Replace the server's content by the backup (if any) with the repo over it (the repo
    wins), atomically: on any failure the server keeps its previous content. `keep`: kinds
    (nodes, roles, environments) whose current documents stay under the new ones; clients
    always stay."""
    started = time.monotonic()
    with paused_gc():
        payload = read_payload(repo_dir, from_backup=from_backup)
        manifests = {key: cb.manifest() for key, cb in payload.cookbooks.items()}
        bodies = bulk_bodies([(kind, "", getattr(payload, kind)) for kind in KINDS]
                             + [("data", bag, items) for bag, items in payload.data_bags.items()])
        cookbooks: dict[str, dict[str, Doc]] = {}
        for (name, version), manifest in manifests.items():
            cookbooks.setdefault(name, {})[version] = manifest
        manifest_bodies = bulk_bodies([("cookbooks", name, versions)
                                       for name, versions in cookbooks.items()])
    if progress:
        progress(f"restoring {payload.summary()} into {client.url}")

    missing, uploads = file_uploads(client, payload.cookbooks, manifests)
    sid = client.post("/_restore", {})["id"]
    bulk = f"/_restore/{sid}/bulk"
    try:
        jobs: list[Callable[[], object]] = [partial(client.request, "POST", bulk, body=body)
                                            for body in bodies]
        run_all(jobs + uploads)  # documents and files; manifests need the files, so they come last
        run_all([partial(client.request, "POST", bulk, body=body) for body in manifest_bodies])
        client.post(f"/_restore/{sid}/commit", {"keep": list(keep)})
    except BaseException:
        with contextlib.suppress(ServerError):
            client.delete(f"/_restore/{sid}")
        raise
    return (f"restored {payload.summary()} ({len(missing)} files uploaded) into {client.url} "
            f"in {time.monotonic() - started:.1f}s")


def file_uploads(client: Client, cookbooks: Mapping[tuple[str, str], Cookbook],
                 manifests: Mapping[tuple[str, str], Doc]
                 ) -> tuple[list[str], list[Callable[[], object]]]:
    """The checksums the server lacks among these cookbooks' files, and the jobs (batches of
    about FILE_BYTES) that upload them; restore and `harness converge`'s sync both use it."""
    sources: dict[str, Path] = {}
    for key, manifest in manifests.items():
        for entry in manifest["files"]:
            sources.setdefault(entry["checksum"], cookbooks[key].path / entry["path"])
    missing: list[str] = client.post("/file_store/missing",
                                     {"checksums": sorted(sources)})["missing"]
    return missing, [partial(_upload, client, group, sources)
                     for group in _groups(missing, sources)]


def _upload(client: Client, checksums: list[str], sources: dict[str, Path]) -> None:
    client.put_files({c: sources[c].read_bytes() for c in checksums})


def _groups(checksums: list[str], sources: dict[str, Path]) -> list[list[str]]:
    """Checksums in groups of about FILE_BYTES of content (a file bigger than that alone)."""
    groups: list[list[str]] = []
    size = FILE_BYTES
    for checksum in checksums:
        length = sources[checksum].stat().st_size
        if size + length > FILE_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(checksum)
        size += length
    return groups


def read_backup(root: Path) -> Payload:
    """A knife-backup directory as a Payload; every problem is reported at once."""
    if not root.is_dir():
        raise UsageError("backup is not a directory", path=str(root))
    payload, problems = Payload(), list[Problem]()

    def escapes(path: Path) -> bool:
        """A symlink out of the backup (or nowhere) is reported, not read."""
        problem = symlink_issue(str(path), str(root)) if path.is_symlink() else None
        if problem:
            problems.append(Problem(str(path), problem))
        return problem is not None

    def documents(directory: Path, key: str) -> dict[str, Doc]:
        out: dict[str, Doc] = {}
        for path in sorted(directory.iterdir()) if directory.is_dir() else ():
            if path.suffix not in EXTENSIONS or escapes(path):  # dot-names too: the server allows them
                continue
            doc, problem = read_document(path)
            if problem is None and not isinstance(doc, dict):
                problem = Problem(str(path), "must be a JSON object")
            elif problem is None and doc.get(key, path.stem) != path.stem:
                problem = Problem(str(path), f"{key} {doc.get(key)!r} does not match the "
                                             f"file name {path.stem!r}")
            if problem:
                problems.append(problem)
            else:
                out[path.stem] = doc
        return out

    for kind in KINDS:
        setattr(payload, kind, documents(root / kind, "name"))
    bags = root / "data_bags"
    for bag in sorted(bags.iterdir()) if bags.is_dir() else ():
        if not escapes(bag) and bag.is_dir():
            payload.data_bags[bag.name] = documents(bag, "id")
    cookbooks = root / "cookbooks"
    for directory in sorted(cookbooks.iterdir()) if cookbooks.is_dir() else ():
        if escapes(directory) or not directory.is_dir() or directory.name.startswith("."):
            continue
        try:
            cb = load_cookbook(directory)
        except ValidationError as err:
            problems.extend(err.problems)
            continue
        if (cb.name, cb.version) in payload.cookbooks:
            problems.append(Problem(str(directory), f"a second copy of {cb.name} {cb.version}"))
        payload.cookbooks[(cb.name, cb.version)] = cb
    if problems:
        raise ValidationError(problems)
    return payload


# --- backup ------------------------------------------------------------------------------------
def backup(client: Client, to_dir: Path) -> str:
    """Dump the server into to_dir in knife-backup's layout (replacing a previous backup)."""
    started = time.monotonic()
    to_dir = Path(to_dir).absolute()
    check_target(to_dir)
    snapshot = client.get("/_snapshot")  # one instant: writes during the backup do not tear it
    payload = Payload(**{kind: snapshot[kind] for kind in KINDS}, data_bags=snapshot["data"])
    manifests: dict[tuple[str, str], Doc] = {
        (cb, version): manifest for cb, versions in snapshot["cookbooks"].items()
        for version, manifest in versions.items()}

    def fetch_file(checksum: str) -> None:
        files[checksum] = client.get_file(checksum)

    checksums = sorted({f["checksum"] for m in manifests.values() for f in m["files"]})
    files: dict[str, bytes] = {}
    run_all([partial(fetch_file, c) for c in checksums])

    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{to_dir.name}.", suffix=".tmp", dir=to_dir.parent))
    except OSError as err:
        raise UsageError(f"cannot write a backup here: {err.strerror}", path=str(to_dir)) from None
    try:
        _write(tmp, payload, manifests, files)
        _replace(tmp, to_dir)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise UsageError(f"cannot write the backup: {err.strerror}", path=str(to_dir)) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return (f"backed up {client.url} to {to_dir}: {payload.summary(len(manifests))} "
            f"in {time.monotonic() - started:.1f}s")


def check_target(to_dir: Path) -> None:
    """Write only into a missing or empty directory, or over a previous backup."""
    if not to_dir.parent.is_dir():
        raise UsageError("parent directory does not exist", path=str(to_dir))
    if to_dir.is_symlink():  # a loop, or a backup swapped in under someone else's link
        raise UsageError("is a symlink: give the directory itself", path=str(to_dir))
    if to_dir.exists() and not to_dir.is_dir():
        raise UsageError("exists and is not a directory", path=str(to_dir))
    strangers = sorted(p.name for p in to_dir.iterdir() if p.name not in ENTRIES) \
        if to_dir.is_dir() else []
    if strangers:
        raise UsageError(f"not empty and not a backup (has {', '.join(strangers[:3])}); "
                         "refusing to replace it", path=str(to_dir))


def _dump(path: Path, doc: Doc) -> None:
    path.write_text(json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")


def _write(root: Path, payload: Payload, manifests: dict[tuple[str, str], Doc],
           files: dict[str, bytes]) -> None:
    for kind in KINDS:
        (root / kind).mkdir()
        for name, doc in getattr(payload, kind).items():
            _dump(root / kind / f"{check_name(name, kind[:-1])}.json", doc)
    (root / "data_bags").mkdir()
    for bag, items in payload.data_bags.items():
        (root / "data_bags" / check_name(bag, "data bag")).mkdir()
        for item, doc in items.items():
            _dump(root / "data_bags" / bag / f"{check_name(item, 'item')}.json", doc)
    (root / "cookbooks").mkdir()
    for (name, version), manifest in manifests.items():
        check_name(name, "cookbook"), check_name(version, "cookbook version")
        directory = root / "cookbooks" / f"{name}-{version}"
        directory.mkdir()
        for entry in manifest["files"]:
            target = directory / safe_path(entry["path"])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(files[entry["checksum"]])


def _replace(tmp: Path, to_dir: Path) -> None:
    """Move tmp to to_dir; a previous backup there is removed only once tmp is in place."""
    old = None
    if to_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{to_dir.name}.", suffix=".old", dir=to_dir.parent))
        os.rename(to_dir, old)  # onto an empty directory: allowed, and atomic
    try:
        os.rename(tmp, to_dir)
    except OSError:
        if old is not None:
            os.rename(old, to_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

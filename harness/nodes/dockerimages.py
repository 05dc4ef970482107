"""Image operations of the Docker backend that the package layer needs (layers.py).

A mixin of `DockerBackend` (backend.py), kept apart so that module stays small: these two are
the only modules that import the docker SDK. Every docker error becomes an EngineError.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from docker import DockerClient
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.models.containers import Container

from harness.errors import EngineError


class DockerImageOps:
    """Inspect, read, build-by-script, list and remove images."""

    client: DockerClient

    def image_attrs(self, image: str) -> dict[str, Any]:
        """The engine's inspect of an image (Id, Config, Created, Size); EngineError if absent."""
        try:
            return dict(self.client.images.get(image).attrs)
        except (DockerException, OSError) as err:
            raise EngineError(f"cannot inspect image {image}: {err}") from None

    def image_files(self, image: str, paths: list[str]) -> dict[str, bytes]:
        """Regular files at or below `paths` in the image, by absolute path; missing ones are
        left out. Read once per image id (an image never changes): from a created, never
        started, container (~0.1-0.25 s), then from a cache file (decision 60)."""
        return self._cached(image, paths, lambda: self._read_image_files(image, paths))

    def image_output(self, image: str, argv: list[str]) -> str:
        """stdout of `argv` run in a throwaway container of image (no init, no network), as
        text; run once per image id, then read from the same cache as image_files."""
        files = self._cached(image, ["$ " + " ".join(argv)],
                             lambda: {"stdout": self._run_in_image(image, argv)}, "stdout")
        return files["stdout"].decode(errors="replace")

    def _cached(self, image: str, key: list[str], compute: Callable[[], dict[str, bytes]],
                *needed: str) -> dict[str, bytes]:
        """compute()'s answer for this image id and key, from the cache file when it holds
        one (with every `needed` entry), else computed and written there."""
        cache = _cache_file(str(self.image_attrs(image)["Id"]), key)
        files = _read_cache(cache)
        if files is None or any(name not in files for name in needed):
            files = compute()
            _write_cache(cache, files)
        return files

    @contextmanager
    def _throwaway(self, image: str, create_error: str, run_error: str,
                   **create: Any) -> Iterator[Container]:
        """A created container of image, removed afterwards whatever happens (a leftover is
        labelled or unlabelled junk `harness clean` or the engine sweeps); a docker error is
        an EngineError starting with `create_error` or `run_error`."""
        try:
            container = self.client.containers.create(image, **create)
        except DockerException as err:
            raise EngineError(f"{create_error}: {err}") from None
        try:
            yield container
        except DockerException as err:
            raise EngineError(f"{run_error}: {err}") from None
        finally:
            try:
                container.remove(force=True)
            except DockerException:
                pass

    def _run_in_image(self, image: str, argv: list[str]) -> bytes:
        what = f"cannot run {' '.join(argv)} in image {image}"
        with self._throwaway(image, what, what, network_mode="none",
                             **self._argv_run(image, argv)) as container:
            container.start()
            container.wait()
            return bytes(container.logs(stdout=True, stderr=False))

    def _read_image_files(self, image: str, paths: list[str]) -> dict[str, bytes]:
        files: dict[str, bytes] = {}
        with self._throwaway(image, f"cannot read files of image {image}",
                             f"cannot read {', '.join(paths)} in image {image}",
                             command=["true"]) as container:
            for path in paths:
                try:
                    chunks, _ = container.get_archive(path)
                except NotFound:
                    continue
                parent = path.rstrip("/").rpartition("/")[0]
                with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
                    for member in tar.getmembers():
                        data = tar.extractfile(member) if member.isfile() else None
                        if data is not None:
                            files[f"{parent}/{member.name}"] = data.read()
        return files

    def commit_script(self, image: str, script: str, tag: str, changes: list[str],
                      labels: dict[str, str]) -> tuple[int, str]:
        """Run `sh -c script` in a throwaway container of image (no init, no RAM overlay); on
        exit 0 commit it as tag with the Dockerfile `changes`. (exit code, output tail)."""
        with self._throwaway(image, f"cannot create a build container of {image}",
                             f"building {tag} from {image} failed", labels=labels,
                             **self._argv_run(image, ["/bin/sh", "-c", script])) as container:
            container.start()
            rc = int(container.wait().get("StatusCode", 1))
            output = container.logs(tail=40).decode(errors="replace")
            if rc == 0:
                repo, _, version = tag.rpartition(":")
                container.commit(repository=repo, tag=version, changes=changes)
            return rc, output

    def _argv_run(self, image: str, argv: list[str]) -> dict[str, Any]:
        """create() keywords that run argv: as the command, or, when the image has an
        Entrypoint, as entrypoint + command. Overriding an Entrypoint cannot be undone by a
        commit change when the image had none (`ENTRYPOINT []` is ignored), so only an image
        with one gets it replaced."""
        if self.image_attrs(image).get("Config", {}).get("Entrypoint"):
            return {"entrypoint": argv[:1], "command": argv[1:]}
        return {"command": argv}

    def list_images(self, label: str) -> list[dict[str, Any]]:
        """Images carrying `label`: [{"id", "tags", "labels", "size", "created"}]."""
        try:
            found = self.client.api.images(filters={"label": label})
        except DockerException as err:
            raise EngineError(f"cannot list images labelled {label}: {err}") from None
        return [{"id": i["Id"], "tags": list(i.get("RepoTags") or []),
                 "labels": dict(i.get("Labels") or {}), "size": int(i.get("Size") or 0),
                 "created": int(i.get("Created") or 0)} for i in found]

    def remove_image(self, image: str) -> bool:
        """Remove an image; False when a container still uses it (the engine answers 409)."""
        try:
            self.client.images.remove(image)
        except ImageNotFound:
            return True
        except APIError as err:
            if err.status_code == 409:
                return False
            raise EngineError(f"cannot remove image {image}: {err}") from None
        return True


def _cache_file(image_id: str, paths: list[str]) -> Path:
    """${XDG_CACHE_HOME:-~/.cache}/harness/image-files/<hash of image id and paths>.json"""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    key = hashlib.sha256(json.dumps([image_id, sorted(paths)]).encode()).hexdigest()[:32]
    return Path(root) / "harness" / "image-files" / f"{key}.json"


def _read_cache(path: Path) -> dict[str, bytes] | None:
    """The cached files, or None when absent or unreadable (then they are read again)."""
    try:
        doc = json.loads(path.read_text())
        return {str(name): base64.b64decode(data, validate=True) for name, data in doc.items()}
    except (OSError, ValueError, AttributeError, TypeError, binascii.Error):
        return None


def _write_cache(path: Path, files: dict[str, bytes]) -> None:
    """Whole or not at all (a unique temporary name, then rename); a cache that cannot be
    written is only slower next time."""
    doc = json.dumps({name: base64.b64encode(data).decode() for name, data in files.items()})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".part",
                                         delete=False) as tmp:
            tmp.write(doc)
        os.replace(tmp.name, path)
    except OSError:
        pass

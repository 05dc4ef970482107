"""remote_file: a file downloaded over HTTP(S) (or file://), with an optional sha256 checksum.

Follows chef/chef lib/chef/provider/remote_file/content.rb and provider/file.rb:
- before downloading: when the current file's sha256 starts with `checksum`
  (current_resource_matches_target_checksum?, a case-sensitive prefix match) nothing is fetched;
- `source` may be a list of mirrors, tried in order when one cannot be reached or answers an
  HTTP error (try_multiple_sources);
- after downloading: the content's sha256 must equal `checksum` (checksum_match?, whole and
  case-insensitive), else the run fails with Chef's ChecksumMismatch text and the file stays;
- then it is written like `file` (atomic, owner/group/mode, changed only when it differs).
Nodes reach only the config server and the Debian mirror: point `source` there.
Not done: conditional GET (ETag/Last-Modified); a file without a checksum is fetched each run
and compared, which gives the same result with more traffic.
"""
from __future__ import annotations

import hashlib
import re
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from .errors import ResourceFailure
from .fileutil import ruby_inspect
from .managed import FileResource

TIMEOUT = 60
SCHEME = re.compile(r"\A[A-Za-z][A-Za-z0-9+\-.]*:")      # an absolute URI has a scheme
NETWORK_SHARE = re.compile(r"\A\\\\[A-Za-z0-9+\-.]+")     # fetcher.rb network_share?


def check_sources(value: Any, owner: str) -> None:
    """resource/remote_file.rb validate_source, run by the `source` setter (so at
    declaration, whatever the action): an empty list, or any entry that is not an absolute
    URI (nor a Windows share), is refused with Chef's text."""
    sources = _flatten(value)
    if not sources:
        raise ResourceFailure("remote_file has an empty source", owner)
    for src in sources:
        if not (isinstance(src, str) and (NETWORK_SHARE.match(src) or SCHEME.match(src))):
            raise ResourceFailure(f"{ruby_inspect(src)} is not a valid `source` parameter for "
                                  "remote_file. `source` must be an absolute URI or an array "
                                  "of URIs.", owner)


def _flatten(value: Any) -> list[Any]:
    """Ruby's Array(source).flatten."""
    if not isinstance(value, (list, tuple)):
        return [value]
    return [item for entry in value for item in _flatten(entry)]


class RemoteFile(FileResource):
    kind = "remote_file"
    actions = ("create", "create_if_missing", "delete")
    default_action = "create"
    properties = {"source": None, "checksum": None, "owner": None, "group": None, "mode": None,
                  "headers": {}, "sensitive": False, **FileResource.FILE_PROPERTIES}

    def validate(self) -> None:
        super().validate()
        if not self.pending("source") and self.props["source"] is not None:
            check_sources(self.props["source"], self.key)
        self._fetched: bytes | None = None

    def sources(self) -> list[str]:
        value = self.props["source"]
        return [] if value is None else [str(v) for v in _flatten(value)]

    def current_checksum(self) -> str | None:
        path = Path(self.name)
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None

    def matches_target_checksum(self) -> bool:
        """Chef: `current.checksum =~ /^#{Regexp.escape(new.checksum)}/`."""
        wanted, current = self.props["checksum"], self.current_checksum()
        return bool(wanted and current and current.startswith(str(wanted)))

    def download(self) -> bytes:
        """The first source that answers; the error of the last one when none does."""
        failure = ""
        if not self.sources():     # Chef: unset, `source` is [] and the fetch fails
            raise self.fail("remote_file needs source= (a URL or a list of mirrors)")
        for url in self.sources():
            if NETWORK_SHARE.match(url):
                raise self.fail("Fetching the file on a network share is supported only on the "
                                f"Windows platform. Please change your source: {url}")
            started = time.monotonic()
            self.ctx.step(f"download {url}")
            request = urllib.request.Request(url, headers={
                str(k): str(v) for k, v in (self.props["headers"] or {}).items()})
            try:
                with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                    data: bytes = response.read()
            except (urllib.error.URLError, OSError, ValueError) as exc:
                failure = f"cannot download {url}: {getattr(exc, 'reason', None) or exc}"
                self.ctx.step(failure + ("; trying the next mirror"
                                         if url != self.sources()[-1] else ""))
                continue
            self.ctx.step(f"got {len(data)} bytes in {time.monotonic() - started:.1f}s")
            return data
        raise self.fail(failure)

    def content(self) -> bytes | None:
        if self.matches_target_checksum():
            return None                      # only owner/group/mode are checked
        if self._fetched is None:
            data = self.download()
            wanted = self.props["checksum"]
            actual = hashlib.sha256(data).hexdigest()
            if wanted and str(wanted).lower() != actual:
                raise self.fail(f"Checksum on resource ({str(wanted)[:6]}...) does not match "
                                f"checksum on content ({actual[:6]}...)")
            self._fetched = data
        return self._fetched

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "source": self.sources()}

"""Secrets stay secret in a plan: sensitive resources and decrypted data bag values.

A plan is posted where many can read it (a pull request's job summary), so two things never
appear in clear, in any format:
- every property of a resource marked `sensitive` (Chef prints "suppressed sensitive resource
  output" for the whole resource, lib/chef/resource.rb `to_text`): each shows only as
  changed/unchanged with a digest;
- any value decrypted from an encrypted data bag item, wherever a recipe put it (a template
  that is not marked sensitive, an attribute, a command): the occurrence is replaced by
  `<secret hmac-sha256:...>`.
Digests are HMAC-SHA256 keyed with the data bag secret (a plain hash of a short password can
be brute-forced from a public summary; whoever has the secret can decrypt anyway), so they
are stable from plan to plan; without a secret the key is random per plan, which still tells
changed from unchanged inside one plan.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterable
from typing import Any

from harness.errors import HarnessError
from harness.repo import Repo
from harness.repo.encrypted import decrypt_item, is_encrypted

MIN_SUBSTRING = 4      # shorter secrets are hidden only where a value equals them exactly
DIGEST_CHARS = 16


class Redactor:
    """Replaces known secret values; digests what must not be shown at all."""

    def __init__(self, secrets: Iterable[str], key: bytes | None = None) -> None:
        self.key = key or os.urandom(32)
        self.exact = {s for s in secrets if s}
        long = sorted((s for s in self.exact if len(s) >= MIN_SUBSTRING), key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, long))) if long else None

    def digest(self, value: Any) -> str:
        """`hmac-sha256:<16 hex>` of the value's canonical JSON (bytes and str as they are)."""
        if isinstance(value, bytes):
            data = value
        elif isinstance(value, str):
            data = value.encode()
        else:
            data = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
        return "hmac-sha256:" + hmac.new(self.key, data, hashlib.sha256).hexdigest()[:DIGEST_CHARS]

    def text(self, value: str) -> str:
        """value with every secret occurrence replaced by its digest."""
        if value in self.exact:
            return f"<secret {self.digest(value)}>"
        if self._pattern is None:
            return value
        return self._pattern.sub(lambda m: f"<secret {self.digest(m.group(0))}>", value)

    def value(self, value: Any) -> Any:
        """A JSON value with secrets replaced in every string (keys included)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if value is not None and not isinstance(value, bool) and str(value) in self.exact:
            return f"<secret {self.digest(str(value))}>"
        return value


def decrypted_values(repo: Repo, secret: bytes | None) -> set[str]:
    """Every leaf value (as text) of the repo's encrypted data bag items, when they decrypt.

    An item that does not decrypt with this secret contributes nothing: the converge that
    reads it fails and the plan says so.
    """
    out: set[str] = set()
    if secret is None:
        return out
    for items in repo.data_bags.values():
        for item in items.values():
            if not is_encrypted(item):
                continue
            try:
                plain = decrypt_item(item, secret)
            except HarnessError:
                continue
            plain.pop("id", None)
            out.update(_leaves(plain))
    return out


def _leaves(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_leaves(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_leaves(v) for v in value)) if value else set()
    if value is None or isinstance(value, bool):
        return set()
    return {str(value)}

"""Chef encrypted data bag items, version 3 (aes-256-gcm), on the host side.

Byte-compatible with `knife data bag create --secret-file`: key = sha256(secret without
trailing whitespace), each non-id value encrypted separately as JSON `{"json_wrapper": value}`
with a random 12-byte IV, base64 written the way Ruby's `Base64.encode64` does (60-char lines).
Nodes decrypt with OpenSSL through ctypes (harness/agent/crypto.py); tests cross-check both.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from harness.errors import UsageError
from harness.repo.limits import secret_mode_issue

CIPHER = "aes-256-gcm"
VERSION = 3


def load_secret(path: Path | str) -> bytes:
    """The secret file's content, as Chef reads it (a warning when others can read it)."""
    problem = secret_mode_issue(str(path))
    if problem:
        warnings.warn(problem, stacklevel=2)
    try:
        return Path(path).read_bytes().rstrip()
    except OSError as err:
        raise UsageError(f"cannot read secret file: {err.strerror}", path=str(path)) from None


def _key(secret: bytes | str) -> bytes:
    raw = secret.encode() if isinstance(secret, str) else bytes(secret)
    return hashlib.sha256(raw.rstrip()).digest()


def _encode64(data: bytes) -> str:
    """Ruby's Base64.encode64: 60 characters per line, each line newline-terminated."""
    text = base64.b64encode(data).decode()
    return "".join(text[i:i + 60] + "\n" for i in range(0, len(text), 60))


def _is_encrypted_value(value: Any) -> bool:
    return isinstance(value, dict) and "encrypted_data" in value and "iv" in value


def is_encrypted(item: dict[str, Any]) -> bool:
    """True when any non-id value has the encrypted shape (what Chef checks)."""
    return isinstance(item, dict) and any(
        _is_encrypted_value(v) for k, v in item.items() if k != "id")


def encrypt_item(item: dict[str, Any], secret: bytes | str) -> dict[str, Any]:
    """Encrypt every non-id value of a plain item (version 3); the id stays readable."""
    aead = AESGCM(_key(secret))
    out: dict[str, Any] = {}
    for field, value in item.items():
        if field == "id":
            out[field] = value
            continue
        iv = os.urandom(12)
        plain = json.dumps({"json_wrapper": value}, separators=(",", ":")).encode()
        sealed = aead.encrypt(iv, plain, b"")
        out[field] = {"encrypted_data": _encode64(sealed[:-16]), "iv": _encode64(iv),
                      "auth_tag": _encode64(sealed[-16:]), "version": VERSION, "cipher": CIPHER}
    return out


def decrypt_item(item: dict[str, Any], secret: bytes | str) -> dict[str, Any]:
    """The plain item; UsageError naming the item and field on a wrong secret or format."""
    aead = AESGCM(_key(secret))
    where = f"data bag item {item.get('id')!r}" if isinstance(item, dict) else "data bag item"
    out: dict[str, Any] = {}
    for field, value in item.items():
        if field == "id" or not _is_encrypted_value(value):
            out[field] = value
            continue
        version, cipher = value.get("version"), value.get("cipher", CIPHER)
        if version != VERSION or cipher != CIPHER:
            raise UsageError(f"{where}: field {field!r} is encrypted with version {version} "
                             f"({cipher}); only version 3 (aes-256-gcm) is supported")
        try:
            iv = base64.b64decode(value["iv"])
            sealed = base64.b64decode(value["encrypted_data"]) + base64.b64decode(value["auth_tag"])
            plain = aead.decrypt(iv, sealed, b"")
            out[field] = json.loads(plain)["json_wrapper"]
        except InvalidTag:
            raise UsageError(f"{where}: cannot decrypt field {field!r}: wrong secret "
                             "(authentication failed)") from None
        except (KeyError, TypeError, ValueError, binascii.Error) as err:
            raise UsageError(f"{where}: field {field!r} is not a valid version 3 encrypted "
                             f"value: {err}") from None
    return out

"""Chef encrypted data bag items, versions 1, 2 and 3, on the host side.

Byte-compatible with `knife data bag create --secret-file` (chef/chef
lib/chef/encrypted_data_bag_item/encryptor.rb and decryptor.rb): the secret is the file's
content stripped (Ruby `String#strip`), key = sha256(secret), each non-id value encrypted
separately as JSON `{"json_wrapper": value}`, base64 written the way Ruby's `Base64.encode64`
does (60-char lines).
- v1: aes-256-cbc (PKCS#7 padding), random 16-byte iv; what Chef 10/11 repos hold.
- v2: v1 plus `hmac` = HMAC-SHA256 keyed with the raw secret over the base64 *text* of
  encrypted_data (encrypt-then-MAC), checked in constant time before decrypting.
- v3: aes-256-gcm, random 12-byte iv, `auth_tag` (Chef 13+ default; ours too).
Nodes decrypt with OpenSSL through ctypes (harness/agent/crypto.py); tests cross-check both.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import warnings
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from harness.errors import UsageError
from harness.repo.limits import secret_mode_issue

CIPHERS = {1: "aes-256-cbc", 2: "aes-256-cbc", 3: "aes-256-gcm"}
VERSION = 3
RUBY_WHITESPACE = b" \t\n\v\f\r\0"


def load_secret(path: Path | str) -> bytes:
    """The secret file's content, as Chef reads it (`IO.read(path).strip`); a warning when
    others can read it."""
    problem = secret_mode_issue(str(path))
    if problem:
        warnings.warn(problem, stacklevel=2)
    try:
        return Path(path).read_bytes().strip(RUBY_WHITESPACE)
    except OSError as err:
        raise UsageError(f"cannot read secret file: {err.strerror}", path=str(path)) from None


def _secret(secret: bytes | str) -> bytes:
    raw = secret.encode() if isinstance(secret, str) else bytes(secret)
    return raw.strip(RUBY_WHITESPACE)


def _key(secret: bytes | str) -> bytes:
    return hashlib.sha256(_secret(secret)).digest()


def _encode64(data: bytes) -> str:
    """Ruby's Base64.encode64: 60 characters per line, each line newline-terminated."""
    text = base64.b64encode(data).decode()
    return "".join(text[i:i + 60] + "\n" for i in range(0, len(text), 60))


def _is_encrypted_value(value: Any) -> bool:
    return isinstance(value, dict) and "encrypted_data" in value and "iv" in value


# Chef's VersionNEncryptor.encryptor_keys (lib/chef/encrypted_data_bag_item/encryptor.rb).
# This and is_encrypted are also in harness/agent/crypto.py: the repo model imports only
# harness.errors and itself, and the agent only the stdlib (tests/unit/test_architecture.py)
ENCRYPTOR_KEYS = {1: {"cipher", "encrypted_data", "iv", "version"},
                  2: {"cipher", "encrypted_data", "hmac", "iv", "version"},
                  3: {"auth_tag", "cipher", "encrypted_data", "iv", "version"}}


def looks_like_encrypted(value: Any) -> bool:
    """check_encrypted.rb looks_like_encrypted?: a hash whose keys are exactly its
    version's encryptor keys (Ruby's `case version when 1`: 1.0 is 1, true is not)."""
    if not isinstance(value, dict) or "version" not in value:
        return False
    version = value["version"]
    if isinstance(version, bool) or not isinstance(version, (int, float)):
        return False
    keys = ENCRYPTOR_KEYS[int(version)] if version in ENCRYPTOR_KEYS else None  # 1.0 is 1
    return keys is not None and set(value) == keys


def is_encrypted(item: dict[str, Any]) -> bool:
    """Chef's CheckEncrypted#encrypted? (check_encrypted.rb), which data_query.rb asks
    before decrypting: true only when the item has a value besides "id" and every such
    value looks encrypted; the agent's copy is harness/agent/crypto.py."""
    if not isinstance(item, dict):
        return False
    data = {k: v for k, v in item.items() if k != "id"}
    return bool(data) and all(looks_like_encrypted(v) for v in data.values())


def _hmac(secret: bytes | str, encrypted_data: str) -> bytes:
    return hmac.new(_secret(secret), encrypted_data.encode(), hashlib.sha256).digest()


def encrypt_value(value: Any, secret: bytes | str, version: int = VERSION,
                  iv: bytes | None = None) -> dict[str, Any]:
    """One value in Chef's shape for `version`; `iv` is for known-answer tests only."""
    plain = json.dumps({"json_wrapper": value}, separators=(",", ":")).encode()
    key = _key(secret)
    if version == 3:
        iv = iv or os.urandom(12)
        sealed = AESGCM(key).encrypt(iv, plain, b"")
        return {"encrypted_data": _encode64(sealed[:-16]), "iv": _encode64(iv),
                "auth_tag": _encode64(sealed[-16:]), "version": 3, "cipher": CIPHERS[3]}
    if version not in (1, 2):
        raise UsageError(f"unknown encrypted data bag version {version} (1, 2 or 3)")
    iv = iv or os.urandom(16)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    data = encryptor.update(padder.update(plain) + padder.finalize()) + encryptor.finalize()
    out: dict[str, Any] = {"encrypted_data": _encode64(data)}
    if version == 2:
        out["hmac"] = _encode64(_hmac(secret, out["encrypted_data"]))
    return out | {"iv": _encode64(iv), "version": version, "cipher": CIPHERS[version]}


def encrypt_item(item: dict[str, Any], secret: bytes | str, version: int = VERSION
                 ) -> dict[str, Any]:
    """Encrypt every non-id value of a plain item; the id stays readable."""
    return {field: value if field == "id" else encrypt_value(value, secret, version)
            for field, value in item.items()}


def _decrypt_cbc(key: bytes, iv: bytes, data: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def decrypt_value(value: dict[str, Any], secret: bytes | str, where: str) -> Any:
    """The plain value; UsageError naming `where` on a wrong secret or format."""
    version = value.get("version")
    cipher = value.get("cipher")        # required, as Chef's assert_valid_cipher!
    if version not in CIPHERS or cipher != CIPHERS[version]:
        raise UsageError(f"{where} is encrypted with version {version} ({cipher}); supported: "
                         "version 1 and 2 (aes-256-cbc), 3 (aes-256-gcm)")
    try:
        if version == 2:
            candidate = value.get("hmac")
            if not isinstance(candidate, str) or not hmac.compare_digest(
                    _hmac(secret, str(value["encrypted_data"])), base64.b64decode(candidate)):
                raise UsageError(f"{where}: cannot decrypt: invalid hmac (wrong secret, or "
                                 "the value was changed)")
        iv = base64.b64decode(value["iv"])
        data = base64.b64decode(value["encrypted_data"])
        if version == 3:
            plain = AESGCM(_key(secret)).decrypt(
                iv, data + base64.b64decode(value["auth_tag"]), b"")
        else:
            plain = _decrypt_cbc(_key(secret), iv, data)
    except InvalidTag:
        raise UsageError(f"{where}: cannot decrypt: wrong secret "
                         "(authentication failed)") from None
    except (KeyError, TypeError, ValueError, binascii.Error) as err:
        if version == 1 and isinstance(err, ValueError):
            raise UsageError(f"{where}: cannot decrypt: wrong secret ({err})") from None
        raise UsageError(f"{where} is not a valid version {version} encrypted value: "
                         f"{err}") from None
    try:
        return json.loads(plain)["json_wrapper"]
    except (ValueError, KeyError, TypeError):
        raise UsageError(f'{where}: decrypted to something that is not {{"json_wrapper": ...}}: '
                         "most likely a wrong secret") from None


def decrypt_item(item: dict[str, Any], secret: bytes | str) -> dict[str, Any]:
    """The plain item; UsageError naming the item and field on a wrong secret or format."""
    where = f"data bag item {item.get('id')!r}" if isinstance(item, dict) else "data bag item"
    return {field: value if field == "id" or not _is_encrypted_value(value)
            else decrypt_value(value, secret, f"{where}: field {field!r}")
            for field, value in item.items()}

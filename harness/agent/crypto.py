"""Chef encrypted data bag items, versions 1, 2 and 3, decrypted through OpenSSL's libcrypto.

Nodes have no `cryptography` package, but bookworm's curl pulls in libcrypto.so.3, so ctypes
does the cipher work. As chef/chef lib/chef/encrypted_data_bag_item/decryptor.rb: the secret is
the file's content stripped (Ruby `String#strip`), key = sha256(secret); v1 is aes-256-cbc with
a random 16-byte iv; v2 adds `hmac` = HMAC-SHA256(secret, the base64 text of encrypted_data),
checked in constant time before decrypting; v3 is aes-256-gcm with an auth tag. Every version's
plaintext is JSON `{"json_wrapper": value}`.
"""
from __future__ import annotations

import base64
import ctypes
import ctypes.util
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from .errors import DecryptError

EVP_CTRL_GCM_SET_IVLEN = 0x9
EVP_CTRL_GCM_SET_TAG = 0x11
LIB_NAMES = ("libcrypto.so.3", "libcrypto.so", "libcrypto.so.1.1")


@lru_cache(maxsize=1)
def libcrypto() -> ctypes.CDLL:
    """Load libcrypto once and declare the few functions we call."""
    names = [ctypes.util.find_library("crypto"), *LIB_NAMES]
    for name in filter(None, names):
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError:
            continue
    else:
        raise DecryptError("cannot decrypt data bag items: libcrypto (OpenSSL) not found")
    vp, ip, cp = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
    lib.EVP_CIPHER_CTX_new.restype = vp
    lib.EVP_CIPHER_CTX_free.argtypes = [vp]
    lib.EVP_aes_256_gcm.restype = vp
    lib.EVP_aes_256_cbc.restype = vp
    lib.EVP_DecryptInit_ex.argtypes = [vp, vp, vp, cp, cp]
    lib.EVP_CIPHER_CTX_ctrl.argtypes = [vp, ip, ip, vp]
    lib.EVP_DecryptUpdate.argtypes = [vp, cp, ctypes.POINTER(ip), cp, ip]
    lib.EVP_DecryptFinal_ex.argtypes = [vp, cp, ctypes.POINTER(ip)]
    return lib


@contextmanager
def _cipher_context(lib: ctypes.CDLL) -> Iterator[Any]:
    ctx = lib.EVP_CIPHER_CTX_new()
    if not ctx:
        raise MemoryError("EVP_CIPHER_CTX_new failed")
    try:
        yield ctx
    finally:
        lib.EVP_CIPHER_CTX_free(ctx)


def _decrypt(lib: ctypes.CDLL, ctx: Any, data: bytes, ok: bool, final_error: str,
             before_final: Callable[[], bool] = lambda: True) -> bytes:
    """EVP_DecryptUpdate, `before_final` (GCM sets its tag there), EVP_DecryptFinal_ex."""
    out = ctypes.create_string_buffer(len(data) + 32)
    outlen, finlen = ctypes.c_int(0), ctypes.c_int(0)
    ok = ok and lib.EVP_DecryptUpdate(ctx, out, ctypes.byref(outlen), data, len(data))
    ok = ok and before_final()
    if not ok:
        raise ValueError("OpenSSL refused the cipher parameters")
    tail = ctypes.cast(ctypes.addressof(out) + outlen.value, ctypes.c_char_p)
    if lib.EVP_DecryptFinal_ex(ctx, tail, ctypes.byref(finlen)) <= 0:
        raise ValueError(final_error)
    return out.raw[: outlen.value + finlen.value]


def aes_256_gcm_decrypt(key: bytes, iv: bytes, data: bytes, tag: bytes) -> bytes:
    """Decrypt and authenticate; raises ValueError when the tag does not verify."""
    lib = libcrypto()
    with _cipher_context(lib) as ctx:
        ok = lib.EVP_DecryptInit_ex(ctx, lib.EVP_aes_256_gcm(), None, None, None)
        ok = ok and lib.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, len(iv), None)
        ok = ok and lib.EVP_DecryptInit_ex(ctx, None, None, key, iv)
        tag_buf = ctypes.create_string_buffer(tag, len(tag))
        return _decrypt(lib, ctx, data, bool(ok), "authentication failed", lambda: bool(
            lib.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, len(tag), tag_buf)))


def aes_256_cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """Decrypt with PKCS#7 padding (OpenSSL's default); ValueError on a bad final block."""
    if len(iv) != 16:
        raise ValueError(f"iv is {len(iv)} bytes, aes-256-cbc needs 16")
    lib = libcrypto()
    with _cipher_context(lib) as ctx:
        ok = lib.EVP_DecryptInit_ex(ctx, lib.EVP_aes_256_cbc(), None, key, iv)
        return _decrypt(lib, ctx, data, bool(ok), "bad decrypt")


RUBY_WHITESPACE = b" \t\n\v\f\r\0"


def strip_secret(secret: bytes) -> bytes:
    """Chef's load_secret: `IO.read(path).strip` (Ruby's whitespace includes NUL)."""
    return secret.strip(RUBY_WHITESPACE)


def secret_key(secret: bytes) -> bytes:
    """Chef's key derivation: sha256 of the stripped secret."""
    return hashlib.sha256(strip_secret(secret)).digest()


def hmac_matches(secret: bytes, value: dict[str, Any]) -> bool:
    """v2: HMAC-SHA256 keyed with the raw secret over the stored base64 text of
    encrypted_data, compared in constant time (Chef's candidate_hmac_matches?)."""
    candidate = value.get("hmac")
    if not isinstance(candidate, str):
        return False
    expected = hmac.new(strip_secret(secret), str(value["encrypted_data"]).encode(),
                        hashlib.sha256).digest()
    return hmac.compare_digest(expected, base64.b64decode(candidate))


CIPHERS = {1: "aes-256-cbc", 2: "aes-256-cbc", 3: "aes-256-gcm"}


def decrypt_value(value: dict[str, Any], secret: bytes, key: bytes) -> bytes:
    """The plaintext JSON of one encrypted value; ValueError says why it failed."""
    version = value.get("version")
    if version == 2 and not hmac_matches(secret, value):
        raise ValueError("invalid hmac")
    iv, data = base64.b64decode(value["iv"]), base64.b64decode(value["encrypted_data"])
    if version == 3:
        return aes_256_gcm_decrypt(key, iv, data, base64.b64decode(value["auth_tag"]))
    return aes_256_cbc_decrypt(key, iv, data)


def is_encrypted_value(value: Any) -> bool:
    return isinstance(value, dict) and "encrypted_data" in value and "iv" in value


# Chef's VersionNEncryptor.encryptor_keys (lib/chef/encrypted_data_bag_item/encryptor.rb)
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
    """Chef's CheckEncrypted#encrypted? (lib/chef/encrypted_data_bag_item/
    check_encrypted.rb), which data_query.rb asks before decrypting: true only when the
    item has a value besides "id" and every such value looks encrypted. An item with one
    plain value is returned as stored, its encrypted values left as they are."""
    data = {k: v for k, v in item.items() if k != "id"}
    return bool(data) and all(looks_like_encrypted(v) for v in data.values())


def decrypt_item(item: dict[str, Any], secret: bytes, *, where: str = "data bag item") -> dict[str, Any]:
    """The plaintext item; errors name the item and field (never the secret)."""
    key = secret_key(secret)
    plain: dict[str, Any] = {}
    for field, value in item.items():
        if field == "id" or not is_encrypted_value(value):
            plain[field] = value
            continue
        version = value.get("version")
        cipher = value.get("cipher")        # required, as Chef's assert_valid_cipher!
        if version not in CIPHERS or cipher != CIPHERS[version]:
            raise DecryptError(f"{where}: field {field!r} uses version {version} / {cipher}; "
                               "supported: version 1 and 2 (aes-256-cbc), 3 (aes-256-gcm)")
        try:
            data = decrypt_value(value, secret, key)
        except (ValueError, KeyError, TypeError) as exc:
            raise DecryptError(f"{where}: cannot decrypt field {field!r} ({exc}): "
                               "wrong secret file?") from None
        try:
            plain[field] = json.loads(data)["json_wrapper"]
        except (ValueError, KeyError, TypeError):
            raise DecryptError(f"{where}: field {field!r} decrypted to something that is not "
                               '{"json_wrapper": ...}') from None
    return plain

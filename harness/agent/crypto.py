"""Chef v3 encrypted data bag items (AES-256-GCM), decrypted through OpenSSL's libcrypto.

Nodes have no `cryptography` package, but bookworm's curl pulls in libcrypto.so.3, so ctypes
does the AEAD work. Key = sha256(secret without trailing whitespace); each value's plaintext
is JSON `{"json_wrapper": value}`.
"""
from __future__ import annotations

import base64
import ctypes
import ctypes.util
import hashlib
import json
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
    lib.EVP_DecryptInit_ex.argtypes = [vp, vp, vp, cp, cp]
    lib.EVP_CIPHER_CTX_ctrl.argtypes = [vp, ip, ip, vp]
    lib.EVP_DecryptUpdate.argtypes = [vp, cp, ctypes.POINTER(ip), cp, ip]
    lib.EVP_DecryptFinal_ex.argtypes = [vp, cp, ctypes.POINTER(ip)]
    return lib


def aes_256_gcm_decrypt(key: bytes, iv: bytes, data: bytes, tag: bytes) -> bytes:
    """Decrypt and authenticate; raises ValueError when the tag does not verify."""
    lib = libcrypto()
    ctx = lib.EVP_CIPHER_CTX_new()
    if not ctx:
        raise MemoryError("EVP_CIPHER_CTX_new failed")
    try:
        ok = lib.EVP_DecryptInit_ex(ctx, lib.EVP_aes_256_gcm(), None, None, None)
        ok = ok and lib.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, len(iv), None)
        ok = ok and lib.EVP_DecryptInit_ex(ctx, None, None, key, iv)
        out = ctypes.create_string_buffer(len(data) + 32)
        outlen, finlen = ctypes.c_int(0), ctypes.c_int(0)
        ok = ok and lib.EVP_DecryptUpdate(ctx, out, ctypes.byref(outlen), data, len(data))
        tag_buf = ctypes.create_string_buffer(tag, len(tag))
        ok = ok and lib.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, len(tag), tag_buf)
        if not ok:
            raise ValueError("OpenSSL refused the cipher parameters")
        tail = ctypes.cast(ctypes.addressof(out) + outlen.value, ctypes.c_char_p)
        if lib.EVP_DecryptFinal_ex(ctx, tail, ctypes.byref(finlen)) <= 0:
            raise ValueError("authentication failed")
        return out.raw[: outlen.value + finlen.value]
    finally:
        lib.EVP_CIPHER_CTX_free(ctx)


def secret_key(secret: bytes) -> bytes:
    """Chef's key derivation: sha256 of the secret without trailing whitespace."""
    return hashlib.sha256(secret.rstrip()).digest()


def is_encrypted_value(value: Any) -> bool:
    return isinstance(value, dict) and "encrypted_data" in value and "iv" in value


def is_encrypted(item: dict[str, Any]) -> bool:
    """True when any non-id value has the encrypted shape."""
    return any(is_encrypted_value(v) for k, v in item.items() if k != "id")


def decrypt_item(item: dict[str, Any], secret: bytes, *, where: str = "data bag item") -> dict[str, Any]:
    """The plaintext item; errors name the item and field (never the secret)."""
    key = secret_key(secret)
    plain: dict[str, Any] = {}
    for field, value in item.items():
        if field == "id" or not is_encrypted_value(value):
            plain[field] = value
            continue
        version, cipher = value.get("version"), value.get("cipher", "aes-256-gcm")
        if version != 3 or cipher != "aes-256-gcm":
            raise DecryptError(f"{where}: field {field!r} uses version {version} / {cipher}; "
                               "only version 3 (aes-256-gcm) is supported")
        try:
            data = aes_256_gcm_decrypt(key, base64.b64decode(value["iv"]),
                                       base64.b64decode(value["encrypted_data"]),
                                       base64.b64decode(value["auth_tag"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise DecryptError(f"{where}: cannot decrypt field {field!r} ({exc}): "
                               "wrong secret file?") from None
        try:
            plain[field] = json.loads(data)["json_wrapper"]
        except (ValueError, KeyError, TypeError):
            raise DecryptError(f"{where}: field {field!r} decrypted to something that is not "
                               '{"json_wrapper": ...}') from None
    return plain

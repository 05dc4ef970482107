"""Encrypted data bag items: the agent's libcrypto (ctypes) path against `cryptography`."""
from __future__ import annotations

import base64
import hashlib
import json
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from harness.agent.crypto import aes_256_gcm_decrypt, decrypt_item, is_encrypted
from harness.agent.errors import DecryptError

SECRET = b"correct horse battery staple\n"


def encrypt_value(value, secret: bytes = SECRET) -> dict:
    """One value in Chef's v3 shape, sealed by `cryptography`'s AESGCM."""
    key = hashlib.sha256(secret.rstrip()).digest()
    iv = os.urandom(12)
    sealed = AESGCM(key).encrypt(iv, json.dumps({"json_wrapper": value}).encode(), b"")
    b64 = lambda data: base64.encodebytes(data).decode()  # noqa: E731 (Ruby-style newlines)
    return {"encrypted_data": b64(sealed[:-16]), "iv": b64(iv), "auth_tag": b64(sealed[-16:]),
            "version": 3, "cipher": "aes-256-gcm"}


def test_decrypts_every_json_type():
    plain = {"id": "ops", "password": "s3cr3t", "port": 5, "keys": ["a", "b"],
             "nested": {"x": None, "y": True}, "long": "z" * 5000}
    item = {"id": "ops", **{k: encrypt_value(v) for k, v in plain.items() if k != "id"}}
    assert is_encrypted(item) and not is_encrypted(plain)
    assert decrypt_item(item, SECRET) == plain
    assert decrypt_item(item, SECRET.rstrip() + b"  \n\n") == plain, "trailing space ignored"


def test_items_from_the_host_side_encrypter_decrypt():
    encrypted = pytest.importorskip("harness.repo.encrypted")
    plain = {"id": "db", "user": "app", "password": "pw", "n": [1, {"a": 2}]}
    assert decrypt_item(encrypted.encrypt_item(plain, SECRET), SECRET) == plain


def test_wrong_secret_names_item_and_field():
    item = {"id": "ops", "password": encrypt_value("s3cr3t")}
    with pytest.raises(DecryptError, match=r"users/ops: cannot decrypt field 'password'.*"
                                           r"wrong secret"):
        decrypt_item(item, b"not the secret", where="data bag item users/ops")


def test_tampered_ciphertext_is_rejected():
    key, iv = os.urandom(32), os.urandom(12)
    sealed = bytearray(AESGCM(key).encrypt(iv, b"payload", b""))
    assert aes_256_gcm_decrypt(key, iv, bytes(sealed[:-16]), bytes(sealed[-16:])) == b"payload"
    sealed[0] ^= 1
    with pytest.raises(ValueError, match="authentication failed"):
        aes_256_gcm_decrypt(key, iv, bytes(sealed[:-16]), bytes(sealed[-16:]))


def test_other_versions_are_refused_clearly():
    value = encrypt_value("x") | {"version": 4, "cipher": "aes-256-xts"}
    with pytest.raises(DecryptError, match="supported: version 1 and 2"):
        decrypt_item({"id": "a", "v": value}, SECRET)

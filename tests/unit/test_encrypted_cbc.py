"""Encrypted data bag items v1 and v2 (Chef 10/11-era repos), host side and agent side.

Pinned against chef/chef lib/chef/encrypted_data_bag_item/encryptor.rb (Version1Encryptor,
Version2Encryptor) and decryptor.rb (Version1Decryptor, Version2Decryptor#validate_hmac!):
key = SHA256(secret), aes-256-cbc with a random iv, plaintext `{"json_wrapper": value}`;
v2's `hmac` is HMAC-SHA256 keyed with the raw secret over the base64 *text* of encrypted_data
(so re-wrapping that text breaks it), compared in constant time; the secret is
`IO.read(path).strip` (encrypted_data_bag_item.rb load_secret). The known-answer vectors are
made by the `openssl` command line (an implementation independent of ours).
"""
from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess

import pytest

from harness.agent import crypto
from harness.agent.errors import DecryptError
from harness.errors import UsageError
from harness.repo import encrypted

SECRET = b"  pagerduty-era secret\n"          # Chef strips both ends
ITEM = {"id": "pd", "api_key": "k3y", "port": 443, "hosts": ["a", "b"],
        "nested": {"x": None, "y": True}, "long": "z" * 3000}
IV = bytes(range(16))


def openssl(*args: str, data: bytes) -> bytes:
    if shutil.which("openssl") is None:
        pytest.skip("openssl command line not installed")
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


def known_answer(value: object, version: int) -> dict:
    """A value encrypted by the openssl CLI the way Version{1,2}Encryptor does it."""
    key = hashlib.sha256(SECRET.strip()).digest()
    plain = json.dumps({"json_wrapper": value}, separators=(",", ":")).encode()
    data = openssl("enc", "-aes-256-cbc", "-K", key.hex(), "-iv", IV.hex(), data=plain)
    out = {"encrypted_data": base64.encodebytes(data).decode(),
           "iv": base64.encodebytes(IV).decode(), "version": version, "cipher": "aes-256-cbc"}
    if version == 2:
        mac = openssl("dgst", "-sha256", "-binary", "-hmac", SECRET.strip().decode(),
                      data=out["encrypted_data"].encode())
        out["hmac"] = base64.encodebytes(mac).decode()
    return out


@pytest.mark.parametrize("version", [1, 2])
def test_known_answer_from_openssl_decrypts_on_both_sides(version):
    item = {"id": "pd", "api_key": known_answer("k3y", version),
            "nested": known_answer({"a": [1, 2]}, version)}
    expected = {"id": "pd", "api_key": "k3y", "nested": {"a": [1, 2]}}
    assert encrypted.decrypt_item(item, SECRET) == expected
    assert crypto.decrypt_item(item, SECRET) == expected


@pytest.mark.parametrize("version", [1, 2])
def test_our_encryptor_writes_the_known_answer_bytes(version):
    """Same iv, same bytes as openssl: the ciphertext and hmac Chef would write."""
    ours = encrypted.encrypt_value("k3y", SECRET, version, iv=IV)
    assert ours == known_answer("k3y", version)
    assert set(ours) == {"encrypted_data", "iv", "version", "cipher"} | (
        {"hmac"} if version == 2 else set())


@pytest.mark.parametrize("version", [1, 2, 3])
def test_round_trip_every_json_type_host_to_agent(version):
    sealed = encrypted.encrypt_item(ITEM, SECRET, version)
    assert all(sealed[k]["version"] == version for k in ITEM if k != "id")
    assert encrypted.decrypt_item(sealed, SECRET.strip()) == ITEM
    assert crypto.decrypt_item(sealed, SECRET + b"\n\n") == ITEM
    assert len(base64.b64decode(sealed["api_key"]["iv"])) == (12 if version == 3 else 16)


def test_v2_hmac_is_checked_before_decrypting():
    """Version2Decryptor#validate_hmac!: a changed value or a missing hmac fails even when the
    ciphertext itself would decrypt; the hmac covers the base64 text, newlines included."""
    good = encrypted.encrypt_value("k3y", SECRET, 2)
    rewrapped = good | {"encrypted_data": good["encrypted_data"].replace("\n", "")}
    assert base64.b64decode(rewrapped["encrypted_data"]) == base64.b64decode(good["encrypted_data"])
    other = encrypted.encrypt_value("other", SECRET, 2)
    for bad in (rewrapped, good | {"hmac": other["hmac"]},
                {k: v for k, v in good.items() if k != "hmac"}):
        with pytest.raises(UsageError, match=r"field 'api_key': cannot decrypt: invalid hmac"):
            encrypted.decrypt_item({"id": "pd", "api_key": bad}, SECRET)
        with pytest.raises(DecryptError, match=r"field 'api_key'.*invalid hmac"):
            crypto.decrypt_item({"id": "pd", "api_key": bad}, SECRET)
    assert crypto.hmac_matches(SECRET, good) and not crypto.hmac_matches(b"wrong", good)


def test_v1_wrong_secret_is_one_clear_error():
    """v1 has no MAC: a wrong key fails the padding check or the JSON parse (Chef raises
    DecryptionFailure "Most likely the provided key is incorrect" for both)."""
    item = encrypted.encrypt_item({"id": "pd", "api_key": "k3y"}, SECRET, 1)
    for secret in (b"wrong", b"also wrong", b"third"):
        with pytest.raises(UsageError, match=r"item 'pd': field 'api_key'.*(wrong secret)"):
            encrypted.decrypt_item(item, secret)
        with pytest.raises(DecryptError, match=r"users/pd: cannot decrypt field 'api_key'|"
                                               r"users/pd: field 'api_key' decrypted to"):
            crypto.decrypt_item(item, secret, where="data bag item users/pd")


def test_secret_is_stripped_like_ruby():
    assert encrypted._secret(b"\0\t s \r\n\0") == b"s" == crypto.strip_secret(b"\0\t s \r\n\0")


def test_cipher_must_be_named_like_chef_asserts():
    """Assertions#assert_valid_cipher!: the value's "cipher" must equal the version's
    algorithm; a missing one is refused too."""
    value = encrypted.encrypt_value("k3y", SECRET, 1)
    del value["cipher"]
    with pytest.raises(UsageError, match=r"version 1 \(None\)"):
        encrypted.decrypt_item({"id": "pd", "k": value}, SECRET)
    with pytest.raises(DecryptError, match="version 1 / None"):
        crypto.decrypt_item({"id": "pd", "k": value}, SECRET)

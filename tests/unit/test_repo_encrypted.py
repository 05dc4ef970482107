"""Chef encrypted data bag items, version 3 (v1/v2: test_encrypted_cbc.py): format, round trip,
wrong secret, fixtures."""
from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from harness.errors import UsageError
from harness.repo.encrypted import decrypt_item, encrypt_item, is_encrypted, load_secret

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ITEM = {"id": "mysql", "root": "s3cr3t", "replication": {"user": "repl", "port": 3306},
        "hosts": ["a", "b"], "enabled": True, "nothing": None}


def test_every_non_id_value_has_chefs_v3_shape() -> None:
    sealed = encrypt_item(ITEM, b"secret\n")
    assert sealed["id"] == "mysql"
    assert set(sealed) == set(ITEM)
    for field in ("root", "replication", "hosts", "enabled", "nothing"):
        value = sealed[field]
        assert set(value) == {"encrypted_data", "iv", "auth_tag", "version", "cipher"}
        assert value["version"] == 3 and value["cipher"] == "aes-256-gcm"
        assert len(base64.b64decode(value["iv"])) == 12
        assert len(base64.b64decode(value["auth_tag"])) == 16
    assert is_encrypted(sealed) and not is_encrypted(ITEM)


def test_round_trip_and_trailing_whitespace_of_the_secret_is_ignored() -> None:
    sealed = encrypt_item(ITEM, b"secret\n")
    assert decrypt_item(sealed, b"secret") == ITEM
    assert decrypt_item(sealed, "secret \r\n") == ITEM


def test_decrypts_what_chef_would_write() -> None:
    """Built by hand from Chef's algorithm: key sha256(secret), JSON {"json_wrapper": v}."""
    key = hashlib.sha256(b"chef-secret").digest()
    iv = bytes(range(12))
    sealed = AESGCM(key).encrypt(iv, json.dumps({"json_wrapper": {"pw": "x"}}).encode(), b"")
    item = {"id": "db", "creds": {
        "encrypted_data": base64.encodebytes(sealed[:-16]).decode(),
        "iv": base64.encodebytes(iv).decode(), "auth_tag": base64.b64encode(sealed[-16:]).decode(),
        "version": 3, "cipher": "aes-256-gcm"}}
    assert decrypt_item(item, b"chef-secret\n") == {"id": "db", "creds": {"pw": "x"}}


def test_wrong_secret_is_a_clear_error() -> None:
    sealed = encrypt_item(ITEM, b"right")
    with pytest.raises(UsageError, match=r"item 'mysql'.*field 'root'.*wrong secret"):
        decrypt_item(sealed, b"wrong")


def test_unsupported_versions_and_garbage_are_clear_errors() -> None:
    future = {"id": "x", "pw": {"encrypted_data": "AAAA", "iv": "AAAA", "version": 4,
                                "cipher": "aes-256-xts"}}
    with pytest.raises(UsageError, match=r"version 4 \(aes-256-xts\); supported: version 1"):
        decrypt_item(future, b"s")
    mislabelled = {"id": "x", "pw": {"encrypted_data": "AAAA", "iv": "AAAA", "version": 1,
                                     "cipher": "aes-256-gcm"}}
    with pytest.raises(UsageError, match="version 1 \\(aes-256-gcm\\)"):
        decrypt_item(mislabelled, b"s")
    broken = encrypt_item({"id": "x", "pw": "p"}, b"s")
    broken["pw"]["auth_tag"] = "!!!not base64"
    with pytest.raises(UsageError, match="field 'pw'"):
        decrypt_item(broken, b"s")


def test_each_encryption_uses_a_fresh_iv() -> None:
    one, two = encrypt_item(ITEM, b"s"), encrypt_item(ITEM, b"s")
    assert one["root"]["iv"] != two["root"]["iv"]
    assert one["root"]["encrypted_data"] != two["root"]["encrypted_data"]


@pytest.mark.parametrize("repo,path,field,expected", [
    ("repo_small", "data_bags/secrets/zookeeper.json", "acl_users", ["kafka", "ops"]),
    ("chef_shapes", "data_bags/passwords/mysql.json", "replication",
     {"user": "repl", "password": "r3pl"}),
])
def test_fixture_items_decrypt_with_their_secret_file(repo: str, path: str, field: str,
                                                      expected: object) -> None:
    item = json.loads((FIXTURES / repo / path).read_text())
    assert is_encrypted(item)
    secret = load_secret(FIXTURES / repo / "encrypted_data_bag_secret")
    assert decrypt_item(item, secret)[field] == expected


def test_load_secret_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read secret file") as err:
        load_secret(tmp_path / "nope")
    assert err.value.path == str(tmp_path / "nope")


def test_node_side_decryptor_agrees() -> None:
    """The agent decrypts with OpenSSL via ctypes; both must read the same bytes."""
    crypto = pytest.importorskip("harness.agent.crypto")
    sealed = encrypt_item(ITEM, b"shared secret\n")
    assert crypto.decrypt_item(sealed, b"shared secret") == ITEM

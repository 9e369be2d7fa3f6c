"""How the Azure store signs URLs: account key with a connection string, user delegation key with Entra ID.

Azurite serves Entra ID (OAuth) only over HTTPS, so the user-delegation path is checked here against a stand-in
for the service client; the account-key path runs against Azurite in test_store_contract.py.
"""

from __future__ import annotations

import base64
from datetime import datetime
from urllib.parse import parse_qs

from azure.storage.blob import UserDelegationKey

import pytest

from app.storage.azure_sas import READ, UPLOAD, Signer, attachment

pytestmark = pytest.mark.backend_independent


class TokenCredential:
    async def get_token(self, *scopes: str, **options: object) -> object:
        raise AssertionError("not called: the stand-in service hands out keys itself")


class KeyCredential:
    account_name = "acct"
    account_key = base64.b64encode(b"k" * 32).decode()


class Service:
    """The parts of BlobServiceClient the signer uses."""

    def __init__(self, credential: object, url: str = "https://acct.blob.core.windows.net/") -> None:
        self.credential, self.url, self.account_name = credential, url, "acct"
        self.keys_fetched: list[tuple[datetime, datetime]] = []

    async def get_user_delegation_key(self, key_start_time: datetime, key_expiry_time: datetime) -> UserDelegationKey:
        self.keys_fetched.append((key_start_time, key_expiry_time))
        key = UserDelegationKey()
        key.signed_oid, key.signed_tid = "00000000-0000-0000-0000-0000000000aa", "00000000-0000-0000-0000-0000000000bb"
        key.signed_start = key_start_time.strftime("%Y-%m-%dT%H:%M:%SZ")
        key.signed_expiry = key_expiry_time.strftime("%Y-%m-%dT%H:%M:%SZ")
        key.signed_service, key.signed_version = "b", "2025-11-05"
        key.value = base64.b64encode(b"d" * 32).decode()
        return key


async def test_an_entra_id_credential_signs_with_a_reused_user_delegation_key() -> None:
    service = Service(TokenCredential())
    signer = Signer(service, "models")
    first = parse_qs(await signer.token("sha256/ab/abc", permission=READ, ttl_seconds=300,
                                        content_disposition=attachment("m.onnx"), content_type="application/onnx"))
    second = parse_qs(await signer.token("staging/u1", permission=UPLOAD, ttl_seconds=300))
    assert len(service.keys_fetched) == 1  # one key serves many short-lived URLs
    assert first["skoid"] == ["00000000-0000-0000-0000-0000000000aa"] and first["sp"] == ["r"]
    assert first["spr"] == ["https"] and first["rsct"] == ["application/onnx"]
    assert second["sp"] == ["cw"]  # create and write: no read, no delete
    await signer.token("sha256/ab/abc", permission=READ, ttl_seconds=13 * 3600)  # outlives the cached key
    assert len(service.keys_fetched) == 2
    start, expiry = service.keys_fetched[1]
    assert (expiry - start).total_seconds() >= 13 * 3600


async def test_an_account_key_signs_without_asking_the_service() -> None:
    service = Service(KeyCredential(), url="http://127.0.0.1:10000/devstoreaccount1")
    query = parse_qs(await Signer(service, "models").token("staging/u1", permission=UPLOAD, ttl_seconds=60))
    assert service.keys_fetched == [] and "skoid" not in query and query["sp"] == ["cw"]
    assert "spr" not in query  # plain HTTP only for an emulator's http:// endpoint


async def test_a_credential_that_cannot_sign_gives_no_url() -> None:
    assert await Signer(Service(object()), "models").token("x", permission=READ, ttl_seconds=60) is None


def test_attachment_keeps_any_file_name_safe_in_the_header() -> None:
    assert attachment("model v1.onnx") == "attachment; filename=\"model v1.onnx\"; filename*=UTF-8''model%20v1.onnx"
    header = attachment('modèle "x";\r\n.bin')
    assert "\r" not in header and "\n" not in header
    assert header.startswith('attachment; filename="mod_le _x____.bin"; ')
    assert header.endswith("filename*=UTF-8''mod%C3%A8le%20%22x%22%3B%0D%0A.bin")

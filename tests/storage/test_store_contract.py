"""The ArtifactStore contract, checked on the local folder and on Azure Blob Storage (Azurite)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import random
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from azure.core.exceptions import ServiceRequestError
from azure.storage.blob.aio import BlobClient
from starlette.requests import ClientDisconnect

import app.storage.azure as azure_module
from app.domain.errors import BadUserInput, FailedPrecondition, TooLarge
from app.services.storage_port import ArtifactStore
from tests.storage.conftest import Contents

MiB = 1024 * 1024
LIMIT = 64 * MiB
BIG = random.Random(3).randbytes(21 * MiB + 12345)  # three 8 MiB blocks on Azure, the last one partial
SMALL = bytes(range(256)) * 4

on_azure = pytest.mark.parametrize("store", [pytest.param("azure", marks=pytest.mark.azure_only)], indirect=True)


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def stream(data: bytes, *, piece: int = 1_000_003, disconnect_at: int | None = None):
    """The body as an HTTP server hands it over, in uneven pieces; optionally the client goes away mid-way."""
    for offset in range(0, len(data), piece):
        if disconnect_at is not None and offset >= disconnect_at:
            raise ClientDisconnect()
        yield data[offset:offset + piece]
        await asyncio.sleep(0)


async def read_all(store: ArtifactStore, digest: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in store.read(digest, start, end)])


def blob_name(digest: str, store: ArtifactStore) -> str:
    hex_digest = digest.removeprefix("sha256:")
    prefix = "blobs/" if store.kind == "file" else ""
    return f"{prefix}sha256/{hex_digest[:2]}/{hex_digest}"


async def test_round_trip_of_a_multi_block_body(store: ArtifactStore, contents: Contents) -> None:
    info = await store.write(stream(BIG), max_size=LIMIT)
    assert (info.digest, info.size) == (digest_of(BIG), len(BIG))
    stat = await store.stat(info.digest)
    assert stat is not None and stat.size == len(BIG) and stat.modified is not None
    assert await read_all(store, info.digest) == BIG
    assert await read_all(store, info.digest, 8 * MiB - 3, 8 * MiB + 3) == BIG[8 * MiB - 3:8 * MiB + 3]
    assert await contents.names(uncommitted=True) == [blob_name(info.digest, store)]


async def test_empty_body(store: ArtifactStore) -> None:
    info = await store.write(stream(b""), max_size=LIMIT)
    assert (info.digest, info.size) == (digest_of(b""), 0)
    assert await read_all(store, info.digest) == b""


@pytest.mark.parametrize(("start", "end"), [(0, 1), (100, 300), (1023, 1024), (1021, None), (0, None), (5, 5),
                                            (1024, 1030), (2000, None), (1020, 5000)],
                         ids=["first", "middle", "last", "tail", "all", "empty", "at-end", "past-end", "over-end"])
async def test_byte_ranges(store: ArtifactStore, start: int, end: int | None) -> None:
    info = await store.write(stream(SMALL, piece=100), max_size=LIMIT)
    assert await read_all(store, info.digest, start, end) == SMALL[start:end]


async def test_digest_mismatch_keeps_nothing(store: ArtifactStore, contents: Contents) -> None:
    with pytest.raises(BadUserInput):
        await store.write(stream(SMALL), max_size=LIMIT, expected_digest=digest_of(b"something else"))
    assert await store.stat(digest_of(SMALL)) is None
    assert await store.stat(digest_of(b"something else")) is None
    assert await contents.names() == []


@pytest.mark.parametrize("declared", [True, False], ids=["digest-declared", "digest-unknown"])
async def test_too_large_keeps_nothing(store: ArtifactStore, contents: Contents, declared: bool) -> None:
    with pytest.raises(TooLarge):
        await store.write(stream(BIG), max_size=10 * MiB, expected_digest=digest_of(BIG) if declared else None)
    assert await store.stat(digest_of(BIG)) is None
    assert await contents.names() == []
    if not declared:  # blocks staged to a temporary name are dropped too
        assert await contents.names(uncommitted=True) == []


async def test_stored_content_is_verified_not_uploaded_again(store: ArtifactStore, contents: Contents) -> None:
    first = await store.write(stream(BIG), max_size=LIMIT)
    version = await contents.version(first.digest)
    again = await store.write(stream(BIG), max_size=LIMIT, expected_digest=first.digest)
    assert (again.digest, again.size) == (first.digest, first.size)
    assert await contents.version(first.digest) == version
    assert await contents.uncommitted_blocks(first.digest) == 0  # no block of the body went to Azure
    with pytest.raises(BadUserInput):  # a body that does not match the declared (stored) digest is refused
        await store.write(stream(SMALL), max_size=LIMIT, expected_digest=first.digest)
    assert await read_all(store, first.digest) == BIG
    assert await contents.names(uncommitted=True) == [blob_name(first.digest, store)]


@pytest.mark.parametrize("declared", [True, False], ids=["digest-declared", "digest-unknown"])
async def test_concurrent_writes_of_the_same_content_store_it_once(store: ArtifactStore, contents: Contents,
                                                                   declared: bool) -> None:
    expected = digest_of(BIG) if declared else None
    results = await asyncio.gather(*(store.write(stream(BIG), max_size=LIMIT, expected_digest=expected)
                                     for _ in range(2)))
    assert {(info.digest, info.size) for info in results} == {(digest_of(BIG), len(BIG))}
    assert [info.digest async for info in store.blobs()] == [digest_of(BIG)]
    assert await contents.names() == [blob_name(digest_of(BIG), store)]
    assert await read_all(store, digest_of(BIG)) == BIG


@pytest.mark.parametrize("declared", [True, False], ids=["digest-declared", "digest-unknown"])
async def test_a_write_that_loses_the_race_does_not_overwrite(store: ArtifactStore, contents: Contents,
                                                              monkeypatch: pytest.MonkeyPatch, declared: bool) -> None:
    first = await store.write(stream(BIG), max_size=LIMIT)
    version = await contents.version(first.digest)

    async def not_there_yet(digest: str) -> None:  # as if the other write committed just after this one looked
        return None

    monkeypatch.setattr(store, "stat", not_there_yet)
    again = await store.write(stream(BIG), max_size=LIMIT, expected_digest=first.digest if declared else None)
    assert (again.digest, again.size) == (first.digest, first.size)
    assert await contents.version(first.digest) == version
    assert await contents.names() == [blob_name(first.digest, store)]


@pytest.mark.parametrize("declared", [True, False], ids=["digest-declared", "digest-unknown"])
async def test_interrupted_upload_leaves_no_blob(store: ArtifactStore, contents: Contents, declared: bool) -> None:
    with pytest.raises(ClientDisconnect):
        await store.write(stream(BIG, disconnect_at=17 * MiB), max_size=LIMIT,
                          expected_digest=digest_of(BIG) if declared else None)
    assert await store.stat(digest_of(BIG)) is None
    assert [info async for info in store.blobs()] == []
    assert await contents.names() == []
    if not declared:
        assert await contents.names(uncommitted=True) == []


@on_azure
@pytest.mark.parametrize("declared", [True, False], ids=["digest-declared", "digest-unknown"])
async def test_a_storage_failure_mid_upload_fails_the_write_promptly(store: ArtifactStore, contents: Contents,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     declared: bool) -> None:
    real_stage_block = BlobClient.stage_block
    staged = 0

    async def stage_block_then_outage(self, block_id, data, **options):
        nonlocal staged
        staged += 1
        if staged > 1:
            raise ServiceRequestError("connection refused")
        return await real_stage_block(self, block_id, data, **options)

    monkeypatch.setattr(BlobClient, "stage_block", stage_block_then_outage)
    body = bytes(96 * MiB)  # far more than is buffered: the sender is still sending when the outage is noticed
    with pytest.raises(ServiceRequestError):
        await asyncio.wait_for(store.write(stream(body), max_size=LIMIT * 2,
                                           expected_digest=digest_of(body) if declared else None), 30)
    assert staged < 10  # it stopped taking the body soon after the failure
    assert await contents.names() == []
    if not declared:
        assert await contents.names(uncommitted=True) == []


async def test_write_staged_then_promote(store: ArtifactStore, contents: Contents) -> None:
    assert await store.write_staged("upload-1", stream(BIG), max_size=LIMIT) == len(BIG)
    info = await store.promote("upload-1", max_size=LIMIT)
    assert (info.digest, info.size) == (digest_of(BIG), len(BIG))
    assert await read_all(store, info.digest) == BIG
    assert await contents.names(uncommitted=True) == [blob_name(info.digest, store)]


async def test_promote_of_stored_content_keeps_one_copy(store: ArtifactStore, contents: Contents) -> None:
    stored = await store.write(stream(SMALL), max_size=LIMIT)
    version = await contents.version(stored.digest)
    await store.write_staged("upload-2", stream(SMALL), max_size=LIMIT)
    assert (await store.promote("upload-2", max_size=LIMIT)).digest == stored.digest
    assert await contents.version(stored.digest) == version
    assert await contents.names() == [blob_name(stored.digest, store)]


async def test_promote_over_the_limit_is_refused(store: ArtifactStore, contents: Contents) -> None:
    await store.write_staged("upload-3", stream(SMALL), max_size=LIMIT)
    with pytest.raises(TooLarge):
        await store.promote("upload-3", max_size=100)
    await store.discard("upload-3")
    assert await contents.names() == []


async def test_interrupted_staged_upload_is_discarded(store: ArtifactStore, contents: Contents) -> None:
    with pytest.raises(ClientDisconnect):
        await store.write_staged("upload-4", stream(BIG, disconnect_at=9 * MiB), max_size=LIMIT)
    await store.discard("upload-4")
    await store.discard("never-uploaded")
    assert await contents.names(uncommitted=True) == []
    with pytest.raises(FailedPrecondition):
        await store.promote("upload-4", max_size=LIMIT)


@pytest.mark.parametrize("upload_id", ["no-such-upload", "../escape", ""])
async def test_promote_of_an_unknown_upload_fails(store: ArtifactStore, upload_id: str) -> None:
    with pytest.raises(FailedPrecondition):
        await store.promote(upload_id, max_size=LIMIT)


async def test_blobs_lists_and_delete_removes(store: ArtifactStore, contents: Contents) -> None:
    bodies = [SMALL, b"x", BIG[:3 * MiB]]
    for body in bodies:
        await store.write(stream(body), max_size=LIMIT)
    listed = {info.digest: info.size async for info in store.blobs()}
    assert listed == {digest_of(body): len(body) for body in bodies}
    await store.delete(digest_of(b"x"))
    await store.delete(digest_of(b"x"))  # deleting what is gone is fine
    assert await store.stat(digest_of(b"x")) is None
    assert {info.digest async for info in store.blobs()} == {digest_of(SMALL), digest_of(BIG[:3 * MiB])}


# -- signed URLs: Azure only; the local store has none and says so ---------------------------------------------------

@pytest.mark.parametrize("store", [pytest.param("local", marks=pytest.mark.backend_independent)], indirect=True)
async def test_local_store_has_no_signed_urls(store: ArtifactStore) -> None:
    info = await store.write(stream(SMALL), max_size=LIMIT)
    assert await store.read_url(info.digest, ttl_seconds=60, filename="f", media_type="text/plain") is None
    assert await store.upload_url("upload-put", ttl_seconds=300) is None


@on_azure
async def test_upload_url_takes_a_single_put(store: ArtifactStore) -> None:
    url = await store.upload_url("upload-put", ttl_seconds=300)
    async with httpx.AsyncClient(timeout=60) as http:
        response = await http.put(url, content=BIG, headers={"x-ms-blob-type": "BlockBlob"})
        assert response.status_code == 201, response.text
        assert (await http.get(url)).status_code == 403  # the upload SAS cannot read ...
        assert (await http.delete(url)).status_code == 403  # ... nor delete
    info = await store.promote("upload-put", max_size=LIMIT)
    assert (info.digest, info.size) == (digest_of(BIG), len(BIG))
    assert await read_all(store, info.digest) == BIG


@on_azure
async def test_upload_url_takes_blocks(store: ArtifactStore, contents: Contents) -> None:
    url = await store.upload_url("upload-blocks", ttl_seconds=300)
    ids = [base64.b64encode(f"block-{n:04d}".encode()).decode() for n in range(3)]
    parts = [BIG[:8 * MiB], BIG[8 * MiB:16 * MiB], BIG[16 * MiB:]]
    async with httpx.AsyncClient(timeout=60) as http:
        for block_id, part in zip(ids, parts):
            response = await http.put(f"{url}&comp=block&blockid={block_id}", content=part)
            assert response.status_code == 201, response.text
        body = "<BlockList>" + "".join(f"<Latest>{i}</Latest>" for i in ids) + "</BlockList>"
        response = await http.put(f"{url}&comp=blocklist", content=body)
        assert response.status_code == 201, response.text
    info = await store.promote("upload-blocks", max_size=LIMIT)
    assert info.digest == digest_of(BIG)
    assert await contents.names(uncommitted=True) == [blob_name(info.digest, store)]


@on_azure
@pytest.mark.parametrize("body", [SMALL, BIG], ids=["rewritten-before-copy", "rewritten-while-hashing"])
async def test_promote_refuses_a_staged_blob_rewritten_meanwhile(store: ArtifactStore, contents: Contents,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 body: bytes) -> None:
    url = await store.upload_url("upload-race", ttl_seconds=300)
    real_consume = azure_module.consume

    async def consume_while_the_client_rewrites(chunks, sink, **options):
        async with httpx.AsyncClient() as http:  # the first part was read already; the client swaps the content
            await http.put(url, content=b"swapped", headers={"x-ms-blob-type": "BlockBlob"})
        return await real_consume(chunks, sink, **options)

    async with httpx.AsyncClient(timeout=60) as http:
        await http.put(url, content=body, headers={"x-ms-blob-type": "BlockBlob"})
    monkeypatch.setattr(azure_module, "consume", consume_while_the_client_rewrites)
    with pytest.raises(FailedPrecondition, match="changed"):
        await store.promote("upload-race", max_size=LIMIT)
    assert await store.stat(digest_of(body)) is None and await store.stat(digest_of(b"swapped")) is None
    await store.discard("upload-race")
    assert await contents.names(uncommitted=True) == []


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode({**dict(parse_qsl(parts.query)), **changes})))


@on_azure
async def test_read_url_serves_the_blob_read_only(store: ArtifactStore) -> None:
    info = await store.write(stream(SMALL), max_size=LIMIT)
    url = await store.read_url(info.digest, ttl_seconds=60, filename="model v1.onnx", media_type="application/onnx")
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
        assert response.status_code == 200 and response.content == SMALL
        assert response.headers["content-type"] == "application/onnx"
        assert 'filename="model v1.onnx"' in response.headers["content-disposition"]
        ranged = await http.get(url, headers={"Range": "bytes=10-19"})
        assert ranged.status_code == 206 and ranged.content == SMALL[10:20]
        assert (await http.put(url, content=b"x", headers={"x-ms-blob-type": "BlockBlob"})).status_code == 403
        assert (await http.delete(url)).status_code == 403
        signature = dict(parse_qsl(urlsplit(url).query))["sig"]
        tampered = _with_query(url, sig=("A" if signature[0] != "A" else "B") + signature[1:])
        assert (await http.get(tampered)).status_code == 403
        assert (await http.get(_with_query(url, rsct="text/html"))).status_code == 403  # overrides are signed
        short = await store.read_url(info.digest, ttl_seconds=1, filename="f", media_type="text/plain")
        await asyncio.sleep(2.2)
        assert (await http.get(short)).status_code == 403

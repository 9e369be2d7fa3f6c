"""`modelreg artifacts verify` and `gc`: corruption is reported, unreferenced old blobs go, referenced stay."""

import hashlib
import os
from datetime import timedelta

from azure.storage.blob.aio import BlobServiceClient

from app.db.uow import SqlUnitOfWorkFactory
from app.services.common import utc_now
from app.services.maintenance import collect_garbage, verify_store

KEPT, GARBAGE = b"referenced content", b"orphaned content"
REGISTER = """
mutation($input: CreateModelVersionInput!) { createModelVersion(input: $input) { modelVersion { version } } }
"""


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def seeded(api, app):
    for data in (KEPT, GARBAGE):
        await api.client.put("/api/artifacts/blobs", content=data,
                             headers={"authorization": f"Bearer {api.token('mlops')}"})
    await api.ok(REGISTER, {"input": {"name": "gc", "createModelIfMissing": True,
                                      "files": [{"path": "kept.bin", "digest": sha(KEPT)}]}})
    return app.state.services.artifacts.store, SqlUnitOfWorkFactory(app.state.database)


async def digests(store):
    return {blob.digest async for blob in store.blobs()}


async def test_gc_deletes_only_old_unreferenced_blobs(api, app):
    store, uow = await seeded(api, app)
    recent = await collect_garbage(uow, store, grace=timedelta(hours=1))
    assert recent.deleted == [] and recent.kept_recent >= 2
    dry = await collect_garbage(uow, store, grace=timedelta(0), dry_run=True)
    assert sha(GARBAGE) in dry.deleted and sha(KEPT) not in dry.deleted
    assert {sha(KEPT), sha(GARBAGE)} <= await digests(store)
    done = await collect_garbage(uow, store, grace=timedelta(0))
    assert sha(GARBAGE) in done.deleted
    remaining = await digests(store)
    assert sha(KEPT) in remaining and sha(GARBAGE) not in remaining


async def tamper(store, settings, digest):
    """Change a stored blob's bytes behind the registry's back, as disk rot or a rogue operator would."""
    hex_digest = digest.removeprefix("sha256:")
    if store.kind == "file":
        path = store.path_of(digest)
        os.chmod(path, 0o644)
        path.write_bytes(b"tampered")
        return
    container = settings.effective_artifact_store.removeprefix("azure://")
    async with BlobServiceClient.from_connection_string(settings.azure_connection_string) as service:
        blob = service.get_blob_client(container, f"sha256/{hex_digest[:2]}/{hex_digest}")
        await blob.upload_blob(b"tampered", overwrite=True)


async def test_verify_reports_a_blob_whose_content_changed(api, app, settings):
    store, _ = await seeded(api, app)
    assert (await verify_store(store)).mismatches == []
    await tamper(store, settings, sha(KEPT))
    report = await verify_store(store)
    assert report.mismatches == [sha(KEPT)]


async def leave_temporary(store, settings, name: str, data: bytes) -> None:
    """What a crash mid-write leaves: a temporary file (local) or a committed tmp/ blob (Azure)."""
    if store.kind == "file":
        (store.root / "tmp" / name).write_bytes(data)
        return
    container = settings.effective_artifact_store.removeprefix("azure://")
    async with BlobServiceClient.from_connection_string(settings.azure_connection_string) as service:
        await service.get_blob_client(container, f"tmp/{name}").upload_blob(data)


async def temporaries(store, settings) -> list[str]:
    if store.kind == "file":
        return sorted(path.name for path in (store.root / "tmp").iterdir())
    container = settings.effective_artifact_store.removeprefix("azure://")
    async with BlobServiceClient.from_connection_string(settings.azure_connection_string) as service:
        client = service.get_container_client(container)
        return sorted([item.name.removeprefix("tmp/") async for item in client.list_blobs(name_starts_with="tmp/")])


async def test_gc_removes_partial_temporary_files_older_than_the_grace(api, app, settings):
    """A crash mid-upload left its partial temporary file for ever: neither a restart nor `gc --grace 0s` removed
    it. gc removes those not modified for longer than the grace (younger ones may be uploads in flight)."""
    store, uow = await seeded(api, app)
    await leave_temporary(store, settings, "partial-upload", b"x" * 1000)
    kept = await collect_garbage(uow, store, grace=timedelta(hours=1))
    assert kept.temporary_deleted == [] and await temporaries(store, settings) == ["partial-upload"]
    dry = await collect_garbage(uow, store, grace=timedelta(hours=1), now=utc_now() + timedelta(hours=2),
                                dry_run=True)
    assert dry.temporary_deleted == ["tmp/partial-upload"] and dry.temporary_bytes == 1000
    assert await temporaries(store, settings) == ["partial-upload"]
    done = await collect_garbage(uow, store, grace=timedelta(0), now=utc_now() + timedelta(seconds=1))
    assert done.temporary_deleted == ["tmp/partial-upload"]
    assert await temporaries(store, settings) == []
    assert sha(KEPT) in await digests(store)

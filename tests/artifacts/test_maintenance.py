"""`modelreg artifacts verify` and `gc`: corruption is reported, unreferenced old blobs go, referenced stay."""

import hashlib
import os
from datetime import timedelta

from azure.storage.blob.aio import BlobServiceClient

from app.db.uow import SqlUnitOfWorkFactory
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

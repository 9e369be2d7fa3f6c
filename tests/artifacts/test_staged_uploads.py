"""Staged uploads: hand out an upload, send the bytes, register, verify in the background."""

import hashlib

import httpx

CREATE_UPLOAD = """
mutation { createArtifactUpload(input: {}) { uploadId uploadUrl direct expiresAt } }
"""
CREATE_VERSION = """
mutation($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { modelVersion { version status statusMessage } }
}
"""
VERSION = """
query($v: Int!) { modelVersion(name: "big", version: $v) { status statusMessage artifact { files { path digest } } } }
"""
DATA = b"weights" * 300_000


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def staged(api, data: bytes) -> str:
    upload = (await api.ok(CREATE_UPLOAD, None, "data-scientist"))["createArtifactUpload"]
    if upload["direct"]:  # a signed URL straight to the storage service: no registry token
        async with httpx.AsyncClient() as storage:
            response = await storage.put(upload["uploadUrl"], content=data, headers={"x-ms-blob-type": "BlockBlob"})
    else:
        assert upload["uploadUrl"].endswith(f"/api/artifacts/uploads/{upload['uploadId']}")
        response = await api.client.put(upload["uploadUrl"], content=data,
                                        headers={"authorization": f"Bearer {api.token('data-scientist')}"})
    assert response.status_code in (200, 201), response.text
    return upload["uploadId"]


async def create(api, files):
    return await api.gql(CREATE_VERSION, {"input": {"name": "big", "createModelIfMissing": True, "files": files}},
                         "data-scientist")


async def test_staged_upload_is_verified_then_ready(api, app):
    upload_id = await staged(api, DATA)
    body = await create(api, [{"path": "weights.bin", "uploadId": upload_id, "digest": sha(DATA), "size": len(DATA)}])
    assert body["data"]["createModelVersion"]["modelVersion"]["status"] == "PENDING_REGISTRATION"
    await app.state.verifier.wait()
    version = (await api.ok(VERSION, {"v": 1}))["modelVersion"]
    assert (version["status"], version["statusMessage"]) == ("READY", None)
    assert version["artifact"]["files"] == [{"path": "weights.bin", "digest": sha(DATA)}]
    download = await api.client.get("/api/artifacts/files", params={"uri": "models:/big/1", "path": "weights.bin"},
                                    headers={"authorization": f"Bearer {api.token('auditor')}"})
    assert download.content == DATA


async def test_declared_digest_that_does_not_match_fails_registration_with_the_reason(api, app):
    upload_id = await staged(api, DATA)
    await create(api, [{"path": "weights.bin", "uploadId": upload_id, "digest": sha(b"something else"),
                        "size": len(DATA)}])
    await app.state.verifier.wait()
    version = (await api.ok(VERSION, {"v": 1}))["modelVersion"]
    assert version["status"] == "FAILED_REGISTRATION"
    assert "weights.bin" in version["statusMessage"] and sha(DATA) in version["statusMessage"]


async def test_an_upload_serves_one_version_only(api, app):
    upload_id = await staged(api, DATA)
    file = {"path": "w.bin", "uploadId": upload_id, "digest": sha(DATA), "size": len(DATA)}
    await create(api, [file])
    second = await create(api, [file])
    assert second["errors"][0]["extensions"]["code"] == "FAILED_PRECONDITION"
    unknown = await create(api, [{**file, "uploadId": "0" * 32}])
    assert unknown["errors"][0]["extensions"]["code"] == "FAILED_PRECONDITION"
    await app.state.verifier.wait()


async def test_staged_file_needs_declared_digest_and_size(api):
    body = await create(api, [{"path": "w.bin", "uploadId": "abc"}])
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_only_artifact_writers_may_create_uploads(api):
    error = await api.error(CREATE_UPLOAD, None, "auditor")
    assert error["extensions"]["code"] == "FORBIDDEN" and "artifact:write" in error["message"]


async def test_verification_outcomes_are_events(api, app):
    good, bad = await staged(api, DATA), await staged(api, DATA)
    await create(api, [{"path": "a.bin", "uploadId": good, "digest": sha(DATA), "size": len(DATA)}])
    await create(api, [{"path": "b.bin", "uploadId": bad, "digest": sha(b"other"), "size": len(DATA)}])
    await app.state.verifier.wait()
    async with app.state.uow(write=False) as uow:
        events = [(e.type, e.version) for e in await uow.events.after(0, 1000) if e.model_name == "big"]
    # A pending version is created without `version.ready`; verification adds READY or FAILED.
    assert ("version.created", 1) in events and ("version.created", 2) in events
    assert ("version.ready", 1) in events and ("version.failed", 2) in events
    assert ("version.ready", 2) not in events

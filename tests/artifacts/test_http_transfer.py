"""Artifact files over HTTP on the configured store: upload, register, download (ranges, ETag), archive."""

import asyncio
import hashlib
import io
import tarfile

from sqlalchemy import text

from app.db.migrate import sync_engine

CREATE_VERSION = """
mutation($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) {
    modelVersion { version status uri artifact { uri digest size manifestDigest
      files { path size digest mediaType downloadUrl } } }
  }
}
"""
RESOLVE = """query($uri: String!) { resolveModelUri(uri: $uri) { digest pinnedUri } }"""
MODEL = b"\x80\x04model-bytes" * 100_000
TOKENIZER = b'{"vocab": ["a", "b"]}'


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def upload(api, data: bytes, *roles, **params):
    return await api.client.put("/api/artifacts/blobs", content=data, params=params,
                                headers={"authorization": f"Bearer {api.token(*(roles or ('data-scientist',)))}"})


async def register(api, name="m", files=None):
    files = files or [{"path": "model/model.onnx", "digest": sha(MODEL)},
                      {"path": "tokenizer.json", "digest": sha(TOKENIZER)}]
    return await api.gql(CREATE_VERSION, {"input": {"name": name, "createModelIfMissing": True, "files": files}})


async def get(api, path="model/model.onnx", uri="models:/m/1", *roles, headers=None, url="/api/artifacts/files"):
    token = api.token(*(roles or ("auditor",)))
    return await api.client.get(url, params={"uri": uri, "path": path},
                                headers={"authorization": f"Bearer {token}", **(headers or {})})



async def stored_digests(app) -> set[str]:
    return {blob.digest async for blob in app.state.services.artifacts.store.blobs()}


async def test_upload_answers_digest_and_size_and_repeats_cheaply(api):
    first = await upload(api, MODEL)
    assert first.status_code == 201 and first.json() == {"digest": sha(MODEL), "size": len(MODEL)}
    again = await upload(api, MODEL, digest=sha(MODEL))
    assert again.json() == first.json()


async def test_digest_mismatch_is_refused_and_nothing_kept(api, app):
    before = await stored_digests(app)
    response = await upload(api, b"other bytes", digest=sha(b"expected bytes"))
    assert response.status_code == 400 and response.json()["error"]["code"] == "BAD_USER_INPUT"
    assert await stored_digests(app) == before


async def test_too_large_is_413_and_nothing_kept(api, app, monkeypatch):
    monkeypatch.setattr(app.state.services.artifacts, "max_upload_size", 1000)
    before = await stored_digests(app)
    response = await upload(api, b"x" * 5000)
    assert response.status_code == 413
    assert await stored_digests(app) == before


async def test_roles_without_artifact_write_cannot_upload(api):
    response = await upload(api, b"x", "approver")
    assert response.status_code == 403 and "artifact:write" in response.json()["error"]["message"]


async def test_register_with_files_then_download_with_ranges_and_etag(api):
    await upload(api, MODEL)
    await upload(api, TOKENIZER)
    body = await register(api)
    version = body["data"]["createModelVersion"]["modelVersion"]
    assert version["status"] == "READY"
    artifact = version["artifact"]
    assert artifact["uri"] == "models:/m/1" and artifact["size"] == len(MODEL) + len(TOKENIZER)
    assert artifact["manifestDigest"] == artifact["digest"] and artifact["digest"].startswith("sha256:")
    assert [(f["path"], f["digest"], f["mediaType"]) for f in artifact["files"]] == [
        ("model/model.onnx", sha(MODEL), "application/octet-stream"),
        ("tokenizer.json", sha(TOKENIZER), "application/json")]
    assert artifact["files"][0]["downloadUrl"].endswith("/api/artifacts/files?uri=models%3A%2Fm%2F1&path=model%2Fmodel.onnx")
    resolved = (await api.ok(RESOLVE, {"uri": "models:/m/latest"}))["resolveModelUri"]
    assert resolved["digest"] == artifact["manifestDigest"]

    whole = await get(api)
    assert whole.status_code == 200 and whole.content == MODEL
    assert whole.headers["etag"] == f'"{sha(MODEL)}"' and whole.headers["content-length"] == str(len(MODEL))
    assert whole.headers["content-type"] == "application/octet-stream"
    part = await get(api, headers={"range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == MODEL[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(MODEL)}"
    tail = await get(api, headers={"range": "bytes=-5"})
    assert tail.content == MODEL[-5:]
    assert (await get(api, headers={"range": f"bytes={len(MODEL)}-"})).status_code == 416
    assert (await get(api, headers={"if-none-match": f'"{sha(MODEL)}"'})).status_code == 304
    assert (await get(api, path="nope.bin")).status_code == 404
    assert (await get(api, uri="models:/m/2")).status_code == 404


async def test_missing_files_are_a_failed_precondition_naming_them(api, database_url):
    await upload(api, MODEL)
    body = await register(api, files=[{"path": "model.onnx", "digest": sha(MODEL)},
                                      {"path": "weights.bin", "digest": sha(b"never uploaded")}])
    error = body["errors"][0]
    assert error["extensions"]["code"] == "FAILED_PRECONDITION" and "weights.bin" in error["message"]
    assert "model.onnx" not in error["message"]
    engine = sync_engine(database_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM model_versions")).scalar() == 0
    engine.dispose()


async def test_a_declared_size_that_differs_from_the_stored_one_is_refused(api, database_url):
    """A file given by digest with a `size` that is not the stored content's size was registered with the stored
    size, silently; now it is BAD_USER_INPUT naming the field and the two sizes, and nothing is written."""
    await upload(api, MODEL)
    await upload(api, TOKENIZER)
    body = await register(api, files=[{"path": "model.onnx", "digest": sha(MODEL), "size": len(MODEL) + 1},
                                      {"path": "tokenizer.json", "digest": sha(TOKENIZER), "size": len(TOKENIZER)}])
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"].get("field") == "files.size", error
    assert "model.onnx" in error["message"] and str(len(MODEL)) in error["message"], error
    assert "tokenizer.json" not in error["message"]
    engine = sync_engine(database_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM model_versions")).scalar() == 0
    engine.dispose()
    # The right size (or none) registers.
    body = await register(api, files=[{"path": "model.onnx", "digest": sha(MODEL), "size": len(MODEL)},
                                      {"path": "tokenizer.json", "digest": sha(TOKENIZER)}])
    assert "errors" not in body, body


async def test_bad_paths_are_refused(api):
    await upload(api, MODEL)
    for path in ["../escape", "/abs", "a//b", "a/./b", "dir\\file", "a/b/"]:
        body = await register(api, files=[{"path": path, "digest": sha(MODEL)}])
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", path
    body = await register(api, files=[{"path": "a", "digest": sha(MODEL)}, {"path": "a", "digest": sha(MODEL)}])
    assert "listed twice" in body["errors"][0]["message"]
    body = await register(api, files=[{"path": "a", "digest": sha(MODEL)}, {"path": "a/b", "digest": sha(MODEL)}])
    assert "both a file and a folder" in body["errors"][0]["message"]


async def test_archive_streams_the_whole_version_as_tar(api):
    await upload(api, MODEL)
    await upload(api, TOKENIZER)
    await register(api)
    response = await get(api, url="/api/artifacts/archive", path=None)
    assert response.status_code == 200 and response.headers["content-type"] == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(response.content)) as archive:
        assert archive.getnames() == ["model/model.onnx", "tokenizer.json"]
        assert archive.extractfile("model/model.onnx").read() == MODEL


async def test_downloads_of_production_files_are_recorded(api, database_url):
    await upload(api, MODEL)
    await upload(api, TOKENIZER)
    await register(api)
    await get(api)  # stage NONE: not recorded
    engine = sync_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE model_versions SET stage = 'PRODUCTION'"))
    await get(api, "tokenizer.json", "models:/m/Production", "auditor")
    await get(api, url="/api/artifacts/archive", path=None)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT path, subject, subject_kind FROM artifact_downloads ORDER BY id")).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [("tokenizer.json", "tester", "USER"), (None, "tester", "USER")]


async def test_concurrent_uploads_of_the_same_content_store_it_once(api, app):
    data = b"same" * 1_000_000
    responses = await asyncio.gather(*(upload(api, data) for _ in range(4)))
    assert {r.status_code for r in responses} == {201}
    assert {r.json()["digest"] for r in responses} == {sha(data)}
    assert sha(data) in await stored_digests(app)

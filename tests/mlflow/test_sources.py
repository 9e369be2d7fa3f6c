"""Registration from a source through the MLflow door (in process): what is copied, what stays a reference, what
fails, and that the copy that MLflow's client downloads is checked against its digests."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.mlflow.azure_sources import AzureSourceAccount
from tests.support.client import Api, api_with_settings

CREATE = "/api/2.0/mlflow/model-versions/create"
GET = "/api/2.0/mlflow/model-versions/get"
FILES = """
query Files($name: String!, $version: Int!) {
  modelVersion(name: $name, version: $version) { status statusMessage artifact { uri files { path digest size } } }
}"""


class FileServer:
    """An HTTP server on loopback serving one file; ``fail_after`` answers 500 from that request on."""

    def __init__(self, body: bytes, fail_after: int | None = None) -> None:
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                if fail_after is not None and server.requests > fail_after:
                    self.send_response(500)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/weights.bin"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    (folder / "data").mkdir(parents=True)
    (folder / "MLmodel").write_text("flavors: {}\n")
    (folder / "data" / "weights.bin").write_bytes(b"\x00\x01" * 1000)
    return folder


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    server = FileServer(b"weights" * 100)
    yield server
    server.stop()


async def register(api: Api, name: str, source: str) -> dict:
    headers = {"Authorization": f"Bearer {api.token('data-scientist')}"}
    await api.client.post("/api/2.0/mlflow/registered-models/create", json={"name": name}, headers=headers)
    response = await api.client.post(CREATE, json={"name": name, "source": source}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["model_version"]


async def settled(api: Api, name: str, version: str = "1", seconds: float = 20) -> dict:
    """The version once it is no longer PENDING_REGISTRATION (the copy runs in the background)."""
    token = api.token("data-scientist")
    for _ in range(int(seconds / 0.05)):
        response = await api.client.get(GET, params={"name": name, "version": version},
                                         headers={"Authorization": f"Bearer {token}"})
        found = response.json()["model_version"]
        if found["status"] != "PENDING_REGISTRATION":
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"still pending after {seconds}s")


async def test_a_local_folder_inside_the_allowed_roots_is_copied(api, settings, model_dir):
    async with api_with_settings(settings, api, source_local_roots=str(model_dir.parent)) as local:
        created = await register(local, "src/local", str(model_dir))
        assert created["status"] == "PENDING_REGISTRATION"
        assert (await settled(local, "src~local"))["status"] == "READY"
        version = (await local.ok(FILES, {"name": "src/local", "version": 1}))["modelVersion"]
        digest = "sha256:" + hashlib.sha256(b"\x00\x01" * 1000).hexdigest()
        assert version["artifact"]["uri"] == "models:/src/local/1"
        assert {(f["path"], f["digest"]) for f in version["artifact"]["files"]} >= {("data/weights.bin", digest)}
        again = await register(local, "src/local", model_dir.as_uri())  # file:// says the same
        assert (await settled(local, "src~local", again["version"]))["source"] == model_dir.as_uri()


async def test_sources_the_registry_may_not_read_stay_references(api, settings, model_dir, file_server):
    outside = model_dir.parent / "outside"
    outside.mkdir()
    (outside / "secret").write_text("not for the registry")
    (model_dir / "data" / "link").symlink_to(outside / "secret")
    async with api_with_settings(settings, api, source_local_roots=str(model_dir)) as local:
        # A folder outside the roots, and a loopback URL (private targets are refused by default).
        for name, source in [("ref/outside", str(outside)), ("ref/private", file_server.url)]:
            created = await register(local, name, source)
            assert (created["status"], created["source"]) == ("READY", source)
            assert (await local.ok(FILES, {"name": name, "version": 1}))["modelVersion"]["artifact"] == {
                "uri": source, "files": []}
        assert file_server.requests == 0
        await register(local, "ref/inside", str(model_dir))  # the link out of the root is not followed
        await settled(local, "ref~inside")
        files = (await local.ok(FILES, {"name": "ref/inside", "version": 1}))["modelVersion"]["artifact"]["files"]
        assert sorted(f["path"] for f in files) == ["MLmodel", "data/weights.bin"]


async def test_an_allowed_http_source_is_copied(api, settings, file_server):
    async with api_with_settings(settings, api, source_allow_private=True) as local:
        await register(local, "http/model", file_server.url)
        assert (await settled(local, "http~model"))["status"] == "READY"
        files = (await local.ok(FILES, {"name": "http/model", "version": 1}))["modelVersion"]["artifact"]["files"]
        assert files == [{"path": "weights.bin", "size": 700,
                          "digest": "sha256:" + hashlib.sha256(b"weights" * 100).hexdigest()}]


async def test_a_source_that_fails_while_copying_fails_the_registration(api, settings):
    flaky = FileServer(b"x" * 10, fail_after=1)  # answers the listing, then fails every read
    try:
        async with api_with_settings(settings, api, source_allow_private=True) as local:
            await register(local, "http/flaky", flaky.url)
            failed = await settled(local, "http~flaky")
            assert failed["status"] == "FAILED_REGISTRATION"
            assert "answered 500" in failed["status_message"] and flaky.requests == 4  # listing + three reads
    finally:
        flaky.stop()


@pytest.mark.skipif(os.environ.get("MODELREG_TEST_ARTIFACT_STORE", "local") != "local",
                    reason="corrupts a blob of the local store on disk")
async def test_a_download_of_corrupted_bytes_is_cut_off(api, settings, model_dir):
    async with api_with_settings(settings, api, source_local_roots=str(model_dir.parent)) as local:
        await register(local, "src/corrupt", str(model_dir))
        await settled(local, "src~corrupt")
        files = (await local.ok(FILES, {"name": "src/corrupt", "version": 1}))["modelVersion"]["artifact"]["files"]
        digest = next(f["digest"] for f in files if f["path"] == "MLmodel").removeprefix("sha256:")
        (settings.artifact_dir / "blobs" / "sha256" / digest[:2] / digest).write_text("flavors: {tampered: true}")
        url = "/api/2.0/mlflow-artifacts/artifacts/models/src~corrupt/1/MLmodel"
        headers = {"Authorization": f"Bearer {local.token('data-scientist')}"}
        with pytest.raises(RuntimeError, match="do not match"):
            await local.client.get(url, headers=headers)
        listing = await local.client.get("/api/2.0/mlflow-artifacts/artifacts", headers=headers,
                                         params={"path": "models/src~corrupt/1"})
        assert listing.json()["files"] == [{"path": "MLmodel", "is_dir": False, "file_size": 12},
                                           {"path": "data", "is_dir": True}]


def test_azure_locations_are_recognised_on_the_registrys_account_only():
    class Service:
        url = "https://acct.blob.core.windows.net/"

    account = AzureSourceAccount(Service())  # type: ignore[arg-type]
    assert account.locate("wasbs://models@acct.blob.core.windows.net/fraud/model") == ("models", "fraud/model")
    assert account.locate("https://acct.blob.core.windows.net/models/fraud/model/") == ("models", "fraud/model")
    assert account.locate("wasbs://models@other.blob.core.windows.net/x") is None
    assert account.locate("https://other.example/models/x") is None


@pytest.mark.azure_only
async def test_a_folder_in_the_registrys_azure_account_is_copied(api, settings):
    from azure.storage.blob.aio import BlobServiceClient

    if settings.azure_connection_string is None:  # run alone, outside CI's Azure leg
        pytest.skip("needs the suite on Azure Blob Storage (MODELREG_TEST_ARTIFACT_STORE=azure)")
    async with BlobServiceClient.from_connection_string(settings.azure_connection_string) as service:
        container = service.get_container_client("mlflow-sources")
        if not await container.exists():
            await container.create_container()
        await container.upload_blob("runs/7/model/MLmodel", b"flavors: {}\n", overwrite=True)
        await container.upload_blob("runs/7/model/data/weights.bin", b"w" * 300, overwrite=True)
        await container.upload_blob("runs/7/model2/other", b"a sibling sharing the prefix", overwrite=True)
        source = f"{service.url.rstrip('/')}/mlflow-sources/runs/7/model"
    await register(api, "azure/model", source)
    assert (await settled(api, "azure~model"))["status"] == "READY"
    files = (await api.ok(FILES, {"name": "azure/model", "version": 1}))["modelVersion"]["artifact"]["files"]
    assert sorted((f["path"], f["size"]) for f in files) == [("MLmodel", 12), ("data/weights.bin", 300)]

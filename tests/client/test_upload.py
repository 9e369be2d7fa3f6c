"""The client's uploads against a live server, on the suite's artifact store: large files go through a staged upload
straight to storage where the store signs URLs (Azure, in CI's second leg: one Put Blob, or blocks then a block
list), else through the registry's blob endpoint; the version they register is READY with the exact bytes."""

from __future__ import annotations

import os

import pytest
from modelreg_client import Client, PushSpec, pull, push
from modelreg_client import upload as upload_module

from app.auth import dev_issuer

pytestmark = pytest.mark.e2e


@pytest.fixture
def registry(live_server):
    bearer = dev_issuer.mint_token(live_server.data_dir, subject="ci-upload", roles=["ci"], audience="modelreg",
                                   ttl_seconds=600, service=True)
    with Client(live_server.url, bearer) as client:
        yield client


def test_large_files_take_the_staged_path_the_store_offers(registry, tmp_path, monkeypatch):
    monkeypatch.setattr(upload_module, "STAGED_THRESHOLD", 1024)  # "large" from 1 KiB
    monkeypatch.setattr(upload_module, "BLOCK_SIZE", 1024 * 1024)  # Azure: blocks from 1 MiB
    contents = {"one-block.bin": os.urandom(200_000), "blocks.bin": os.urandom(2 * 1024 * 1024 + 5),
                "small.txt": b"small"}
    folder = tmp_path / "model"
    folder.mkdir()
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    direct = registry.create_upload()["createArtifactUpload"]["direct"]  # Azure: True, the local folder: False
    storage_puts = []
    original = upload_module.Uploader._storage_put
    monkeypatch.setattr(upload_module.Uploader, "_storage_put",
                        lambda self, url, *rest: storage_puts.append(url) or original(self, url, *rest))

    pushed = push(registry, PushSpec(path=folder, name="upload/staged", wait=True, timeout=60))
    assert pushed.version["status"] == "READY" and pushed.files == 3
    # Direct: one Put Blob for the 200 kB file, three Put Block for the 2 MiB one; else all through the registry.
    assert len(storage_puts) == (4 if direct else 0)
    assert sum("comp=block" in url for url in storage_puts) == (3 if direct else 0)
    pulled = pull(registry, pushed.uri, tmp_path / "out")
    assert pulled.downloaded == 3
    assert {name: (tmp_path / "out" / name).read_bytes() for name in contents} == contents

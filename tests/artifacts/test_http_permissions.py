"""The artifact HTTP endpoints decide through the same policy: uploads need artifact:write, downloads
artifact:read (all four roles); a token without a known role gets FORBIDDEN naming the permission."""

import hashlib

import pytest

DATA = b"permission-check"
DIGEST = "sha256:" + hashlib.sha256(DATA).hexdigest()
REGISTER = """
mutation($input: CreateModelVersionInput!) { createModelVersion(input: $input) { modelVersion { version } } }
"""
WRITERS = {"data-scientist", "mlops", "ci"}
READERS = {"data-scientist", "mlops", "approver", "auditor", "ci"}


def auth(api, role):
    return {"authorization": f"Bearer {api.token(role, sub=f'as-{role}')}"}


@pytest.mark.parametrize("role", ["data-scientist", "mlops", "approver", "auditor", "ci", "nobody"])
async def test_upload_and_download_follow_the_policy(api, role):
    await api.client.put("/api/artifacts/blobs", content=DATA, headers=auth(api, "mlops"))
    await api.ok(REGISTER, {"input": {"name": "p", "createModelIfMissing": True,
                                      "files": [{"path": "f.bin", "digest": DIGEST}]}})

    upload = await api.client.put("/api/artifacts/blobs", content=DATA, headers=auth(api, role))
    if role in WRITERS:
        assert upload.status_code == 201
    else:
        assert upload.status_code == 403 and "artifact:write" in upload.json()["error"]["message"]

    for url, params in [("/api/artifacts/files", {"uri": "models:/p/1", "path": "f.bin"}),
                        ("/api/artifacts/archive", {"uri": "models:/p/1"})]:
        download = await api.client.get(url, params=params, headers=auth(api, role))
        if role in READERS:
            assert download.status_code == 200
        else:
            assert download.status_code == 403 and "artifact:read" in download.json()["error"]["message"]


async def test_artifact_endpoints_need_a_token(api):
    for method, url in [("PUT", "/api/artifacts/blobs"), ("GET", "/api/artifacts/files"),
                        ("GET", "/api/artifacts/archive"), ("PUT", "/api/artifacts/uploads/x")]:
        response = await api.client.request(method, url)
        assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")

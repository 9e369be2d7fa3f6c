"""Uploads cut off by the client leave nothing behind (a real server, a real socket, the suite's store)."""

import socket
import time

import httpx
import pytest

from app.auth import dev_issuer
from tests.support.store_contents import store_names

pytestmark = pytest.mark.e2e


def test_connection_dropped_mid_body_leaves_no_blob(live_server, artifact_store_env):
    token = dev_issuer.mint_token(live_server.data_dir, subject="ci", roles=["mlops"], audience="modelreg")
    before = store_names(live_server.data_dir, artifact_store_env)
    with socket.create_connection(("127.0.0.1", live_server.port)) as connection:
        connection.sendall((f"PUT /api/artifacts/blobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                            f"Content-Length: {50 * 1024 * 1024}\r\n\r\n").encode())
        connection.sendall(b"x" * (12 * 1024 * 1024))
        time.sleep(0.5)
    deadline = time.monotonic() + 15
    while store_names(live_server.data_dir, artifact_store_env) != before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert store_names(live_server.data_dir, artifact_store_env) == before
    # The server is still healthy and accepts the next upload.
    response = httpx.put(f"{live_server.url}/api/artifacts/blobs", content=b"after",
                         headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201

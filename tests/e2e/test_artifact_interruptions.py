"""Uploads cut off by the client or by a crash leave nothing behind (real server processes, real sockets): the
suite's store keeps no partial blob, a disconnect is audited as the client's doing (not INTERNAL, no ERROR in the
log), and a partial temporary file a crash (kill -9) left behind is removed when a server starts."""

import json
import os
import socket
import time

import httpx
import pytest

from app.auth import dev_issuer
from tests.support.databases import fresh_database
from tests.support.live_server import LiveServer
from tests.support.store_contents import store_names

pytestmark = pytest.mark.e2e

LAST_ATTEMPT = """
query($action: String!) {
  auditEvents(filter: {action: $action}, orderBy: {field: SEQUENCE, direction: DESC}, first: 1) {
    nodes { outcome detail } } }
"""
CREATE_UPLOAD = "mutation { createArtifactUpload(input: {}) { uploadId } }"


def send_partial_body(port: int, token: str, path: str = "/api/artifacts/blobs", sent: int = 12 * 1024 * 1024,
                      declared: int = 50 * 1024 * 1024) -> socket.socket:
    """An upload that declares ``declared`` bytes and sends ``sent``; the caller closes (or abandons) the socket."""
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall((f"PUT {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                        f"Content-Length: {declared}\r\n\r\n").encode())
    connection.sendall(b"x" * sent)
    return connection


def wait_until(check, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s: {check.__doc__ or check}")
        time.sleep(0.1)


@pytest.mark.parametrize("action", ["artifact.upload", "artifact.upload.receive"])
def test_connection_dropped_mid_body_leaves_no_blob_and_is_audited_as_a_disconnect(live_server, artifact_store_env,
                                                                                    action):
    """Both upload endpoints: a direct upload, and the body of a staged upload sent through the registry. The
    disconnect was audited INTERNAL with the detail `ClientDisconnect`."""
    token = dev_issuer.mint_token(live_server.data_dir, subject="ci", roles=["mlops"], audience="modelreg")
    path = "/api/artifacts/blobs"
    if action == "artifact.upload.receive":
        created = httpx.post(f"{live_server.url}/graphql", json={"query": CREATE_UPLOAD},
                             headers={"Authorization": f"Bearer {token}"}).json()
        path = f"/api/artifacts/uploads/{created['data']['createArtifactUpload']['uploadId']}"
    auditor = dev_issuer.mint_token(live_server.data_dir, subject="aud", roles=["auditor"], audience="modelreg")

    def audited() -> list[dict]:
        response = httpx.post(f"{live_server.url}/graphql", json={"query": LAST_ATTEMPT, "variables": {
            "action": action}}, headers={"Authorization": f"Bearer {auditor}"})
        return response.json()["data"]["auditEvents"]["nodes"]

    before = store_names(live_server.data_dir, artifact_store_env)
    previous = audited()
    log_start = len(live_server.log())
    with send_partial_body(live_server.port, token, path):
        time.sleep(0.5)
    wait_until(lambda: audited() != previous)
    wait_until(lambda: store_names(live_server.data_dir, artifact_store_env) == before)
    [event] = audited()
    assert event["outcome"] == "BAD_USER_INPUT", event
    assert event["detail"].startswith("the client disconnected after ") and "bytes" in event["detail"], event
    errors = [line for line in live_server.log()[log_start:].splitlines() if '"level": "ERROR"' in line
              or '"levelname": "ERROR"' in line or line.startswith("ERROR")]
    assert errors == []
    # The server is still healthy and accepts the next upload.
    response = httpx.put(f"{live_server.url}/api/artifacts/blobs", content=b"after",
                         headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201


def test_a_partial_temporary_file_left_by_a_crash_is_removed_at_start_up(tmp_path_factory):
    """The local store (its own folder): kill -9 mid-upload leaves tmp/<random>; the next start removes it once it
    is older than the start-up grace (a younger one may be another replica's upload in flight)."""
    server_dir = tmp_path_factory.mktemp("crash-upload")
    tmp = server_dir / "artifacts" / "tmp"
    with fresh_database(server_dir, "crashupload") as url:
        first = LiveServer(server_dir, url)
        token = dev_issuer.mint_token(server_dir, subject="ci", roles=["mlops"], audience="modelreg")
        connection = send_partial_body(first.port, token)
        try:
            wait_until(lambda: any(path.stat().st_size > 0 for path in tmp.iterdir()))
            first.process.kill()
            first.process.wait(10)
            first.stop()
        finally:
            connection.close()
        [left] = list(tmp.iterdir())
        recent = left.with_name("in-flight-elsewhere")
        recent.write_bytes(b"another replica is writing this")
        two_hours_ago = time.time() - 7200
        os.utime(left, (two_hours_ago, two_hours_ago))
        second = LiveServer(server_dir, url)
        try:
            assert sorted(path.name for path in tmp.iterdir()) == ["in-flight-elsewhere"]
            line = second.wait_for_log("removed partial temporary files")
            assert json.dumps(left.name) in line or left.name in line
        finally:
            second.stop()

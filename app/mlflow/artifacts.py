"""The download URI the MLflow endpoints hand out: the part of MLflow's artifact proxy API its client uses to
download a model (``mlflow.pyfunc.load_model("models:/...")``), served from the registry's store.

``GET /api/2.0/mlflow-artifacts/artifacts?path=models/NAME/VERSION[/DIR]`` lists a directory of a version;
``GET /api/2.0/mlflow-artifacts/artifacts/models/NAME/VERSION/PATH`` streams a file, hashing it on the way: if the
stored bytes do not match the digest the version's manifest records, the transfer is cut off (the client sees a
failed download, never wrong bytes) and the mismatch is logged. Reads go through the artifact service, so they are
authorized and downloads of PRODUCTION versions are recorded as on /api/artifacts. Uploads are not accepted: a
version's files are fixed when it is registered.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from app.domain.artifacts import ArtifactFile, check_path
from app.domain.errors import BadUserInput, NotFound
from app.http.errors import principal_of
from app.logs import current_request_id

from .errors import mlflow_endpoint
from .names import to_modelreg

log = logging.getLogger("modelreg.mlflow")

ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


def _version_path(path: str) -> tuple[str, str]:
    """(``models:/`` URI, path inside the version) of ``models/NAME/VERSION[/PATH]``."""
    parts = path.strip("/").split("/", 3)
    if len(parts) < 3 or parts[0] != "models" or not parts[2].isdigit():
        raise NotFound(f"{path!r} is not a model version's file: paths are models/NAME/VERSION/PATH", field="path")
    inside = parts[3].strip("/") if len(parts) == 4 else ""
    if inside:
        check_path(inside, "path")
    return f"models:/{to_modelreg(parts[1])}/{parts[2]}", inside


@mlflow_endpoint
async def list_artifacts(request: Request) -> Response:
    uri, folder = _version_path(request.query_params.get("path", ""))
    service = request.app.state.services.artifacts
    found = await service.version_files(principal_of(request), uri, path=None, request_id=current_request_id())
    prefix = folder + "/" if folder else ""
    entries: dict[str, dict[str, Any]] = {}
    for file in found.files:
        if not file.path.startswith(prefix):
            continue
        head, _, rest = file.path[len(prefix) :].partition("/")
        entries[head] = (
            {"path": head, "is_dir": True} if rest else {"path": head, "is_dir": False, "file_size": file.size}
        )
    if folder and not entries:
        if any(file.path == folder for file in found.files):
            return JSONResponse({"files": []})  # a file, not a directory: MLflow lists nothing
        raise NotFound(f"version has no directory {folder!r}", field="path")
    return JSONResponse({"files": sorted(entries.values(), key=lambda entry: entry["path"])})


async def _verified(chunks: AsyncIterator[bytes], file: ArtifactFile) -> AsyncIterator[bytes]:
    digest = hashlib.sha256()
    async for chunk in chunks:
        digest.update(chunk)
        yield chunk
    if f"sha256:{digest.hexdigest()}" != file.digest:
        log.error("stored file does not match its digest", extra={"path": file.path, "digest": file.digest})
        raise RuntimeError(f"stored bytes of {file.path} do not match {file.digest}")  # cuts the transfer off


@mlflow_endpoint
async def download_artifact(request: Request) -> Response:
    uri, path = _version_path(request.path_params["path"])
    if not path:
        raise BadUserInput("name a file inside the version", field="path")
    service = request.app.state.services.artifacts
    found = await service.version_files(principal_of(request), uri, path=path, request_id=current_request_id())
    file = found.files[0]
    headers = {"Content-Length": str(file.size), "ETag": f'"{file.digest}"'}
    return StreamingResponse(_verified(service.read(file), file), headers=headers, media_type=file.media_type)


def mlflow_artifact_routes() -> list[Route]:
    return [
        Route(ARTIFACTS, list_artifacts, methods=["GET"]),
        Route(ARTIFACTS + "/{path:path}", download_artifact, methods=["GET"]),
    ]

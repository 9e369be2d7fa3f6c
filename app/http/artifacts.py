"""Artifact transfer over plain HTTP: streaming uploads, downloads with ranges, whole versions as tar."""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from app.domain.artifacts import ArtifactFile
from app.domain.errors import BadUserInput, TooLarge
from app.logs import current_request_id
from app.services.artifacts import ArtifactService

from .content_disposition import attachment
from .errors import Endpoint, error_response, principal_of, rest_endpoint
from .tar import tar_stream

_HEX = re.compile(r"[0-9a-f]{64}")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _service(request: Request) -> ArtifactService:
    return request.app.state.services.artifacts


def _expected_digest(request: Request) -> str | None:
    """From ``?digest=sha256:<hex>`` or the ``X-Content-SHA256: <hex>`` header."""
    if "digest" in request.query_params:
        return request.query_params["digest"]
    header = request.headers.get("x-content-sha256")
    if header is None:
        return None
    if not _HEX.fullmatch(header.lower()):
        raise BadUserInput("X-Content-SHA256 must be 64 hex characters", field="X-Content-SHA256")
    return f"sha256:{header.lower()}"


def _check_length(request: Request, limit: int) -> None:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise TooLarge(f"the body is larger than the limit of {limit} bytes", field="body")


async def _body(request: Request) -> AsyncIterator[bytes]:
    """The request body; a client gone mid-body is the client's doing: BAD_USER_INPUT saying how far it got (the
    audit log records that, not INTERNAL), and the stores drop what they had."""
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            yield chunk
    except ClientDisconnect:
        raise BadUserInput(
            f"the client disconnected after {received} bytes of the body; nothing was kept", field="body"
        ) from None


def _handles_errors(endpoint: Endpoint) -> Endpoint:
    """The REST error shape (``rest_endpoint``); a client gone mid-upload gets no answer (nobody listens)."""

    @rest_endpoint
    @functools.wraps(endpoint)
    async def wrapped(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ClientDisconnect:
            return Response(status_code=499)  # nobody is listening; stores have dropped the partial upload

    return wrapped


@_handles_errors
async def upload_blob(request: Request) -> Response:
    """PUT or POST raw bytes (chunked allowed); answers ``{digest, size}``. A stated digest must match."""
    service = _service(request)
    principal = principal_of(request)
    _check_length(request, service.max_upload_size)
    info = await service.upload(principal, _body(request), _expected_digest(request))
    return JSONResponse({"digest": info.digest, "size": info.size}, status_code=201)


@_handles_errors
async def stored_blob(request: Request) -> Response:
    """HEAD (or GET) /api/artifacts/blobs/sha256:<hex>: 200 with ``{digest, size}`` when that content is stored, 404
    when not, so a client skips uploading what the registry already has."""
    info = await _service(request).stored_blob(principal_of(request), request.path_params["digest"])
    return JSONResponse({"digest": info.digest, "size": info.size})


@_handles_errors
async def upload_staged(request: Request) -> Response:
    """PUT the bytes of a staged upload (for stores without signed upload URLs, or clients that prefer it)."""
    service = _service(request)
    principal = principal_of(request)
    _check_length(request, service.max_upload_size)
    size = await service.receive_upload(principal, request.path_params["upload_id"], _body(request))
    return JSONResponse({"uploadId": request.path_params["upload_id"], "size": size}, status_code=201)


def _uri_of(request: Request) -> str:
    params = request.query_params
    if "uri" in params:
        return params["uri"]
    if "name" in params and "version" in params:
        return f"models:/{params['name']}/{params['version']}"
    raise BadUserInput(
        "name the version: ?uri=models:/NAME/VERSION (or /STAGE, @ALIAS), or ?name=&version=", field="uri"
    )


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end) from a single ``Range: bytes=...``; None for the whole file; ValueError when unsatisfiable."""
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if not match or match.group(1) == match.group(2) == "":
        raise ValueError(header)
    first, last = match.groups()
    if first == "":
        start, end = max(0, size - int(last)), size
    else:
        start, end = int(first), size if last == "" else min(int(last) + 1, size)
    if start >= size or start >= end:
        raise ValueError(header)
    return start, end


@_handles_errors
async def download_file(request: Request) -> Response:
    """GET one file of a version by ``uri`` (or ``name`` and ``version``) and ``path``, with Range support;
    ``redirect=true`` sends the client to a short-lived signed URL where the store has them."""
    service = _service(request)
    path = request.query_params.get("path")
    if not path:
        raise BadUserInput("give ?path= of the file within the version (see ModelVersion.artifact.files)", field="path")
    found = await service.version_files(
        principal_of(request), _uri_of(request), path=path, request_id=current_request_id()
    )
    file = found.files[0]
    etag = f'"{file.digest}"'
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=31536000, immutable",
        "Content-Disposition": attachment(file.path.rsplit("/", 1)[-1]),
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    redirect = (
        request.query_params.get("redirect", "").lower() in ("1", "true")
        or request.app.state.settings.download_redirect
    )
    if redirect and (url := await service.signed_url(file)):
        return RedirectResponse(url, status_code=307)
    try:
        byte_range = _byte_range(request.headers.get("range"), file.size)
    except ValueError:
        refusal = BadUserInput(
            f"Range {request.headers.get('range')!r} is not satisfiable for a file of {file.size} bytes", field="Range"
        )
        return error_response(refusal, status=416, headers={**headers, "Content-Range": f"bytes */{file.size}"})
    start, end = byte_range or (0, file.size)
    headers["Content-Length"] = str(end - start)
    status = 200
    if byte_range is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{file.size}"
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=file.media_type)
    return StreamingResponse(
        service.read(file, start, end), status_code=status, headers=headers, media_type=file.media_type
    )


@_handles_errors
async def download_archive(request: Request) -> Response:
    """GET a whole version as one uncompressed tar stream, for images that cannot run a client."""
    service = _service(request)
    found = await service.version_files(
        principal_of(request), _uri_of(request), path=None, request_id=current_request_id()
    )
    version = found.version
    name = f"{version.model_name.replace('/', '_')}-{version.version}.tar"

    def contents(file: ArtifactFile) -> AsyncIterator[bytes]:
        return service.read(file)

    return StreamingResponse(
        tar_stream(found.files, contents, mtime=version.created_at.timestamp()),
        media_type="application/x-tar",
        headers={
            "Content-Disposition": attachment(name),
            "ETag": f'"{version.artifact.digest}"' if version.artifact else "",
        },
    )


def artifact_routes() -> list[Route]:
    return [
        Route("/api/artifacts/blobs", upload_blob, methods=["PUT", "POST"]),
        Route("/api/artifacts/blobs/{digest}", stored_blob, methods=["GET", "HEAD"]),
        Route("/api/artifacts/uploads/{upload_id}", upload_staged, methods=["PUT"]),
        Route("/api/artifacts/files", download_file, methods=["GET", "HEAD"]),
        Route("/api/artifacts/archive", download_archive, methods=["GET"]),
    ]

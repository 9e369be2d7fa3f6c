"""``GET /api/serving/{environment}/{model}``: what a serving system should run, cheap to poll.

The answer lists the deployment's entries with each version's manifest digest and file download URLs. Its ETag
is the digest of the body, so polling with ``If-None-Match`` costs a 304 until the deployment changes.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .errors import principal_of, rest_endpoint


def _etag_matches(header: str | None, etag: str) -> bool:
    if header is None:
        return False
    return header.strip() == "*" or etag in [tag.strip().removeprefix("W/") for tag in header.split(",")]


@rest_endpoint
async def serving(request: Request) -> Response:
    environment, name = request.path_params["environment"], request.path_params["model"]
    deployment, versions, files = await request.app.state.services.deployment_reads.serving(
        principal_of(request), name, environment
    )
    base = str(request.base_url).rstrip("/")
    entries = []
    for entry in deployment.entries:
        version = versions[entry.version_id]
        uri = f"models:/{name}/{entry.version}"
        entries.append(
            {
                "version": entry.version,
                "uri": uri,
                "role": entry.role.value,
                "trafficPercent": entry.traffic_percent,
                "manifestDigest": version.artifact.digest if version.artifact else None,
                "artifactUri": version.artifact.uri if version.artifact else None,
                "files": [
                    {
                        "path": f.path,
                        "digest": f.digest,
                        "size": f.size,
                        "downloadUrl": f"{base}/api/artifacts/files?{urlencode({'uri': uri, 'path': f.path})}",
                    }
                    for f in files.get(entry.version_id, [])
                ],
            }
        )
    body = json.dumps(
        {
            "model": name,
            "environment": environment,
            "revision": deployment.revision,
            "updatedAt": deployment.updated_at.isoformat(),
            "entries": entries,
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    etag = '"' + hashlib.sha256(body).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def serving_routes() -> list[Route]:
    return [Route("/api/serving/{environment}/{model:path}", serving, methods=["GET"])]

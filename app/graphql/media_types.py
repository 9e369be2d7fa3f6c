"""GraphQL over HTTP media types: which one a client asked for, and what counts as a request error.

``application/graphql-response+json`` answers a request error (no ``data``, no error with a ``path``) with HTTP 400;
``application/json`` keeps HTTP 200, as the GraphQL-over-HTTP spec asks of that media type (docs/http-api.md).
"""

from __future__ import annotations

from typing import Any, cast

from strawberry.http import GraphQLHTTPResponse

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"


def negotiate(accept: str | None) -> str:
    """The response media type for an ``Accept`` header value.

    ``application/graphql-response+json`` when its q-value is positive and at least that of
    ``application/json`` (which ``*/*`` and ``application/*`` also stand for); otherwise
    ``application/json``, the spec's default for legacy clients and for types we cannot produce.
    """
    quality = {GRAPHQL_RESPONSE_JSON: 0.0, JSON: 0.0}
    for item in (accept or "").split(","):
        media_range, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media_range = media_range.lower()
        target = (
            GRAPHQL_RESPONSE_JSON
            if media_range == GRAPHQL_RESPONSE_JSON
            else (JSON if media_range in (JSON, "application/*", "*/*") else None)
        )
        if target:
            quality[target] = max(quality[target], q)
    preferred = quality[GRAPHQL_RESPONSE_JSON]
    return GRAPHQL_RESPONSE_JSON if preferred > 0 and preferred >= quality[JSON] else JSON


def is_request_error(response: GraphQLHTTPResponse) -> bool:
    """No data and no error with a path: the request failed before execution (or variable coercion)."""
    errors = cast(list[dict[str, Any]], response.get("errors") or [])  # formatted errors: JSON objects
    return response.get("data") is None and bool(errors) and all("path" not in error for error in errors)

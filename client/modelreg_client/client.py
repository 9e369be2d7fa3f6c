"""``Client``: the registry's GraphQL API (typed operations from generated.py) and its REST endpoints over one
httpx connection pool, with every refusal raised as ``ModelregError`` carrying the server's code."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import httpx

from .errors import ModelregError
from .generated import Operations

DEFAULT_URL = "http://127.0.0.1:8000"
USER_AGENT = "modelreg-client/0.1"
ACCEPT = "application/graphql-response+json, application/json;q=0.9"


def _unavailable(url: str, error: httpx.HTTPError) -> ModelregError:
    """The server could not be reached at all (exit code 9)."""
    return ModelregError("UNAVAILABLE", f"cannot reach the registry at {url}: {error} (check MODELREG_URL)")


def rest_error(response: httpx.Response) -> ModelregError:
    """The REST error shape ``{"error": {code, message, requestId, field}}`` (also GraphQL's, for a 401 from an
    older server) as an exception; anything else as INTERNAL naming the status."""
    request_id = response.headers.get("x-request-id")
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        return ModelregError(
            error.get("code", "INTERNAL"),
            error.get("message", ""),
            field=error.get("field"),
            request_id=error.get("requestId") or request_id,
        )
    if isinstance(body, dict) and body.get("errors"):
        return graphql_error(body["errors"][0], request_id)
    code = {401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND"}.get(response.status_code, "INTERNAL")
    return ModelregError(code, f"HTTP {response.status_code} from {response.request.url}", request_id=request_id)


def graphql_error(error: dict[str, Any], request_id: str | None) -> ModelregError:
    """One GraphQL error (``extensions.code``, ``field``, ``requestId``) as an exception."""
    extensions = error.get("extensions") or {}
    return ModelregError(
        extensions.get("code", "INTERNAL"),
        error.get("message", ""),
        field=extensions.get("field"),
        request_id=extensions.get("requestId") or request_id,
    )


class Client(Operations):
    """A registry at ``url`` called with a bearer ``token``. Use as a context manager (or call ``close``).

    >>> with Client("https://modelreg.example.com", token) as registry:
    ...     registry.whoami()["viewer"]
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 60.0,
    ) -> None:
        self.url = (url or os.environ.get("MODELREG_URL") or DEFAULT_URL).rstrip("/")
        headers = {"user-agent": USER_AGENT}
        if token:
            headers["authorization"] = f"Bearer {token}"
        # Uploads and downloads stream: a long read timeout, not a total one.
        self.http = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def execute(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        """POST a document; its ``data``, or the first error raised as ModelregError."""
        try:
            response = self.http.post(
                "/graphql", json={"query": document, "variables": variables}, headers={"accept": ACCEPT}
            )
        except httpx.HTTPError as error:
            raise _unavailable(self.url, error) from None
        try:
            body = response.json()
        except ValueError:
            raise rest_error(response) from None
        if not isinstance(body, dict):
            raise rest_error(response)
        if body.get("errors"):
            raise graphql_error(body["errors"][0], response.headers.get("x-request-id"))
        if response.status_code >= 400 or not isinstance(body.get("data"), dict):
            raise rest_error(response)
        return body["data"]

    def rest(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A REST call (read whole); a status of 400 or more raised as ModelregError."""
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise _unavailable(self.url, error) from None
        if response.status_code >= 400:
            raise rest_error(response)
        return response

    @contextlib.contextmanager
    def stream(self, method: str, url: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """A streamed REST call; a status of 400 or more (but 416, for the caller to handle) raised."""
        try:
            with self.http.stream(method, url, **kwargs) as response:
                if response.status_code >= 400 and response.status_code != 416:
                    response.read()
                    raise rest_error(response)
                yield response
        except httpx.HTTPError as error:
            raise _unavailable(self.url, error) from None

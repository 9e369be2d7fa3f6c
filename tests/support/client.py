"""Calling the API in tests: tokens from the development issuer and GraphQL requests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from app.auth import dev_issuer
from app.config import Settings


class Api:
    """GraphQL over an httpx client (in-process ASGI or a real server), with tokens minted per role."""

    def __init__(self, client: httpx.AsyncClient, data_dir: Path, audience: str = "modelreg",
                 database_url: str = "") -> None:
        self.client = client
        self.data_dir = data_dir
        self.database_url = database_url  # the database the application behind ``client`` uses
        self.audience = audience
        self._tokens: dict[tuple, str] = {}

    def token(self, *roles: str, sub: str = "tester", service: bool = False, ttl: int = 3600) -> str:
        """A development-issuer token; the same caller gets the same token within a test (signing is slow)."""
        key = (roles, sub, service, ttl)
        if key not in self._tokens:
            self._tokens[key] = dev_issuer.mint_token(self.data_dir, subject=sub, roles=list(roles),
                                                      audience=self.audience, ttl_seconds=ttl, service=service)
        return self._tokens[key]

    async def post(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None,
                   headers: dict[str, str] | None = None) -> httpx.Response:
        all_headers = {"content-type": "application/json", **(headers or {})}
        if token:
            all_headers["authorization"] = f"Bearer {token}"
        return await self.client.post("/graphql", json={"query": query, "variables": variables or {}},
                                      headers=all_headers)

    async def gql(self, query: str, variables: dict[str, Any] | None = None, *roles: str,
                  sub: str = "tester", token: str | None = None) -> dict[str, Any]:
        """Run a document as a caller with ``roles`` (default mlops); return the JSON body."""
        response = await self.post(query, variables, token=token or self.token(*(roles or ("mlops",)), sub=sub))
        assert response.status_code == 200, response.text
        return response.json()

    async def ok(self, query: str, variables: dict[str, Any] | None = None, *roles: str,
                 sub: str = "tester") -> dict[str, Any]:
        """Like gql, asserting there were no errors; returns ``data``."""
        body = await self.gql(query, variables, *roles, sub=sub)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    async def error(self, query: str, variables: dict[str, Any] | None = None, *roles: str,
                    sub: str = "tester") -> dict[str, Any]:
        """Like gql, asserting exactly one error; returns it."""
        body = await self.gql(query, variables, *roles, sub=sub)
        assert body.get("errors") and len(body["errors"]) == 1, body
        return body["errors"][0]


@contextlib.asynccontextmanager
async def api_with_settings(settings: Settings, api: Api, **overrides: Any) -> AsyncIterator[Api]:
    """An in-process API on the same (freshly wiped) database as ``api``, its settings changed by ``overrides``."""
    from app.main import create_app

    application = create_app(settings.with_overrides(**overrides))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                     base_url="http://testserver") as client:
            yield Api(client, api.data_dir, database_url=api.database_url)
    finally:
        await application.state.database.dispose()

"""Helpers for the governance tests: an API on a promotion policy of the test's own, and calls as named people."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, AsyncIterator


from app.config import Settings
from tests.graphql.test_schema_coverage import token
from tests.support.client import Api, api_with_settings


@contextlib.asynccontextmanager
async def api_with_promotion(settings: Settings, api: Api, tmp_path: Path, policy: str) -> AsyncIterator[Api]:
    """An API on the same (freshly wiped) database whose promotion policy is ``policy`` (YAML)."""
    path = tmp_path / "promotion.yaml"
    path.write_text(policy, encoding="utf-8")
    async with api_with_settings(settings, api, promotion_policy=path) as changed:
        yield changed


async def call(api: Api, document: str, variables: dict[str, Any] | None, role: str, sub: str) -> dict[str, Any]:
    response = await api.post(document, variables, token=token(api, role, sub=sub))
    assert response.status_code == 200, response.text
    return response.json()


async def ok(api: Api, document: str, variables: dict[str, Any] | None, role: str, sub: str) -> dict[str, Any]:
    body = await call(api, document, variables, role, sub)
    assert not body.get("errors"), body["errors"]
    return body["data"]


async def error(api: Api, document: str, variables: dict[str, Any] | None, role: str, sub: str) -> dict[str, Any]:
    body = await call(api, document, variables, role, sub)
    assert body.get("errors") and len(body["errors"]) == 1, body
    return body["errors"][0]

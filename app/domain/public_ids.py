"""Global ids: the opaque ids the API hands out (`node(id:)`), also used in messages and audit targets so that
nobody outside the database ever sees a row number."""

from __future__ import annotations

import base64


def global_id(type_name: str, key: int) -> str:
    """The opaque id of object ``key`` of GraphQL type ``type_name`` (urlsafe base64 of ``Type:key``)."""
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode().rstrip("=")

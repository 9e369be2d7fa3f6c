"""Fast JSON (orjson) for the hot paths: GraphQL responses and JSON columns, with the standard library as the
fallback for what orjson refuses (integers beyond 64 bits), so the output never depends on which one ran."""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    """Compact JSON as UTF-8 bytes."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits, a non-string key
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def dumps_text(value: Any) -> str:
    """Compact JSON as text (what SQLAlchemy's JSON columns store)."""
    return dumps(value).decode()


loads = orjson.loads

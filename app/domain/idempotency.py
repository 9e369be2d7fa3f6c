"""Idempotency keys: a retried mutation with the same key answers what the first call did (issue 14).

A key belongs to one caller and one mutation: the table is keyed by (principal subject, operation, key), so two CI
jobs that happen to pick the same key never see each other's answers. What the first call asked for is kept as a
digest of its input; the same key with another input is a CONFLICT naming ``idempotencyKey`` (as Stripe answers),
never a silent replay of something else. Keys expire after ``KEY_LIFETIME``; an expired key is free again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, is_dataclass
from datetime import datetime, timedelta
from typing import Any

from .audit import jsonable
from .errors import BadUserInput, Conflict

FIELD = "idempotencyKey"
KEY_MAX = 255
KEY_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True)
class IdempotencyRecord:
    """What the first call with a key asked for (``digest``) and produced (``result_id``, the created object's key)."""

    subject: str
    operation: str
    key: str
    digest: str
    result_id: int | None
    created_at: datetime


def check_key(key: str) -> None:
    """1 to 255 printable characters (no control characters); BAD_USER_INPUT naming the field otherwise."""
    if not 1 <= len(key) <= KEY_MAX:
        raise BadUserInput(f"idempotencyKey must be 1 to {KEY_MAX} characters long, not {len(key)}", field=FIELD)
    if not key.isprintable():
        raise BadUserInput("idempotencyKey may hold printable characters only (no control characters)", field=FIELD)


def digest(request: Any) -> str:
    """A stable sha256 of a mutation's input (dataclasses, enums, times and collections as canonical JSON)."""
    if is_dataclass(request) and not isinstance(request, type):
        request = asdict(request)
    text = json.dumps(jsonable(request), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def expired(record: IdempotencyRecord, now: datetime) -> bool:
    return record.created_at <= now - KEY_LIFETIME


def check_same_request(record: IdempotencyRecord, request_digest: str, operation: str) -> None:
    """A key names one request: reusing it for another input is a CONFLICT, whatever that input is."""
    if record.digest != request_digest:
        raise Conflict(
            f"idempotencyKey {record.key!r} was used for a different {operation} input in the last "
            f"{int(KEY_LIFETIME.total_seconds() // 3600)} hours; use a new key for a new request",
            field=FIELD,
        )

"""Webhooks: who wants which events, how each delivery is signed, and when a failed one is tried again."""

from __future__ import annotations

import hashlib
import hmac
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from urllib.parse import urlsplit

from . import rules
from .addresses import InvalidHost, host_refusal, literal_address
from .errors import BadUserInput
from .events import ALL_EVENT_TYPES, DomainEvent, EventFilter
from .read_scope import EVERYTHING, ReadScope

SECRET_MIN = 16
SECRET_MAX = 256
SIGNATURE_HEADER = "Modelreg-Signature"
EVENT_ID_HEADER = "Modelreg-Event-Id"
EVENT_TYPE_HEADER = "Modelreg-Event-Type"
DELIVERY_ID_HEADER = "Modelreg-Delivery-Id"


class DeliveryStatus(str, Enum):
    PENDING = "PENDING"  # due at next_attempt_at (also while a dispatcher holds its lease)
    DELIVERED = "DELIVERED"  # the receiver answered 2xx
    DEAD = "DEAD"  # retries ran out: dead-lettered, redeliver by hand


@dataclass(frozen=True)
class Webhook:
    id: int
    url: str
    event_types: frozenset[str]
    model_name_pattern: str | None
    secret_hint: str
    description: str | None
    active: bool
    created_at: datetime
    created_by: str
    updated_at: datetime
    read_scope: ReadScope = EVERYTHING  # what its creator could read (scoped reads): it delivers nothing else

    @property
    def filter(self) -> EventFilter:
        return EventFilter(self.event_types, self.model_name_pattern, self.read_scope)


@dataclass(frozen=True)
class Delivery:
    id: int
    webhook_id: int
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_latency_ms: int | None
    last_error: str | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class Claim:
    """A delivery a dispatcher holds for sending, with what it needs to decide about a retry."""

    delivery_id: int
    webhook_id: int
    event: DomainEvent
    attempts: int
    created_at: datetime


def check_url(url: str) -> str:
    rules.check_text(url, "url", 2000, required=True)
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as error:
        raise BadUserInput(f"url is not a valid URL: {error}", field="url") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise BadUserInput("url must be an http:// or https:// URL with a host", field="url")
    if parts.username or parts.password:
        raise BadUserInput("url must not carry credentials; the signature authenticates the registry", field="url")
    try:
        literal_address(hostname)
    except InvalidHost as error:
        raise BadUserInput(f"url's host {error}", field="url") from None
    return url


def check_public_target(url: str) -> None:
    """Refuse a URL (already passed ``check_url``) whose host is non-public on its face: a literal private,
    loopback, link-local... address in any spelling, or a localhost name. Names are not resolved here (the answer
    may differ at delivery, and DNS may be slow or unreachable from the API): every delivery checks again."""
    reason = host_refusal(urlsplit(url).hostname or "")
    if reason is not None:
        raise BadUserInput(
            f"url must reach a public address, and {reason} (set MODELREG_WEBHOOK_ALLOW_PRIVATE=true to allow "
            "private targets)",
            field="url",
        )


def check_event_types(types: frozenset[str]) -> frozenset[str]:
    unknown = sorted(types - ALL_EVENT_TYPES)
    if unknown:
        raise BadUserInput(
            f"unknown event types {unknown}; known: {', '.join(sorted(ALL_EVENT_TYPES))}", field="events"
        )
    return types


def check_secret(secret: str) -> str:
    if not SECRET_MIN <= len(secret or "") <= SECRET_MAX:
        raise BadUserInput(f"secret must be {SECRET_MIN}-{SECRET_MAX} characters (use a random one)", field="secret")
    return secret


def check_pattern(pattern: str | None) -> str | None:
    return rules.check_text(pattern, "modelNamePattern", rules.MODEL_NAME_MAX)


@dataclass(frozen=True)
class NewWebhook:
    url: str
    secret: str
    event_types: frozenset[str] = frozenset()  # empty: every event
    model_name_pattern: str | None = None
    description: str | None = None
    active: bool = True

    def validate(self) -> None:
        check_url(self.url)
        check_secret(self.secret)
        check_event_types(self.event_types)
        check_pattern(self.model_name_pattern)
        rules.check_text(self.description, "description", rules.SHORT_TEXT_MAX)


@dataclass(frozen=True)
class WebhookChanges:
    """Only the fields that are set change; an empty ``model_name_pattern`` clears it."""

    url: str | None = None
    secret: str | None = None
    event_types: frozenset[str] | None = None
    model_name_pattern: str | None = None
    description: str | None = None
    active: bool | None = None

    def validate(self) -> None:
        if self.url is not None:
            check_url(self.url)
        if self.secret is not None:
            check_secret(self.secret)
        if self.event_types is not None:
            check_event_types(self.event_types)
        check_pattern(self.model_name_pattern)
        rules.check_text(self.description, "description", rules.SHORT_TEXT_MAX)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, for ``period`` after the first attempt; then the delivery is DEAD."""

    first_delay: timedelta = timedelta(seconds=5)
    max_delay: timedelta = timedelta(minutes=30)
    period: timedelta = timedelta(hours=24)

    def next_attempt(
        self, attempts: int, first_attempt_at: datetime, now: datetime, rng: random.Random | None = None
    ) -> datetime | None:
        """When to try again after ``attempts`` failures, or None when the retry period is over."""
        ceiling = min(self.max_delay.total_seconds(), self.first_delay.total_seconds() * 2 ** max(attempts - 1, 0))
        delay = (rng or random).uniform(ceiling / 2, ceiling)  # "equal jitter": spread, but never hammer
        moment = now + timedelta(seconds=delay)
        return None if moment > first_attempt_at + self.period else moment

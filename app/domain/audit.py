"""The audit log's events, their canonical JSON and the hash chain that makes tampering visible."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from .errors import ErrorCode
from .public_ids import global_id

GENESIS_HASH = "0" * 64
OUTCOME_OK = "ok"
# What ``outcome`` can hold: ``ok``, or the code of the error the caller got. A closed set (the API's enum).
OUTCOMES = (OUTCOME_OK, *(code.value for code in ErrorCode))


def utc_text(moment: datetime) -> str:
    """A time as the audit log writes it: UTC, microseconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def jsonable(value: Any) -> Any:
    """Plain JSON values for before/after snapshots: times as UTC text, enums as their values, sets sorted."""
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(item) for item in value)
    return value


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text, no NaN: one text per value, so its hash is reproducible."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


# The object whose database key the stored ``id`` of a target of each type is, by its API type name. A target of a
# type not listed keeps its stored id as it is (an upload id, a digest: not row numbers); aliases and deployments
# are stored with the key of their model (they are named by ``model@alias`` and ``model@environment``).
KEY_OWNERS = {
    "RegisteredModel": "RegisteredModel",
    "ModelVersion": "ModelVersion",
    "TransitionRequest": "TransitionRequest",
    "Webhook": "Webhook",
    "Dataset": "Dataset",
    "Run": "Run",
    "CodeCommit": "CodeCommit",
    "ExternalNode": "ExternalNode",
    "ModelAlias": "RegisteredModel",
    "Deployment": "RegisteredModel",
}


@dataclass(frozen=True)
class AuditTarget:
    """What an event is about: a type (RegisteredModel, ModelVersion, TransitionRequest...), its id and name.

    ``id`` is stored as the use case gave it (a database key for registry objects): the hash chain covers it, so it
    never changes. ``public_id`` is what the API shows instead."""

    type: str
    id: str | None = None
    name: str | None = None
    version: int | None = None

    @property
    def public_id(self) -> str | None:
        """The global id of the object the stored key names (see ``KEY_OWNERS``), or the stored id of a target
        whose id is no database key; None without an id."""
        owner = KEY_OWNERS.get(self.type)
        if self.id is None or owner is None or not (self.id.isascii() and self.id.isdigit()):
            return self.id
        return global_id(owner, int(self.id))


@dataclass(frozen=True)
class TargetKey:
    """Targets whose stored id is ``key`` and whose type is one of ``types``: what one global id names."""

    types: frozenset[str]
    key: str


def targets_keyed_by(type_name: str, key: int) -> TargetKey | None:
    """The targets whose ``public_id`` is the global id of object ``key`` of ``type_name`` (None: no target is)."""
    types = frozenset(target for target, owner in KEY_OWNERS.items() if owner == type_name)
    return TargetKey(types, str(key)) if types else None


@dataclass(frozen=True)
class AuditDraft:
    """An event before the log gives it a sequence number and a place in the chain."""

    occurred_at: datetime
    actor_subject: str
    actor_kind: str
    actor_roles: tuple[str, ...]
    action: str
    target: AuditTarget
    outcome: str = OUTCOME_OK
    before: Any = None
    after: Any = None
    detail: str | None = None
    request_id: str | None = None
    client_address: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class AuditEvent:
    """One stored event: the draft's content, its sequence number and its links in the hash chain."""

    seq: int
    draft: AuditDraft
    prev_hash: str
    hash: str

    def document(self) -> dict[str, Any]:
        return event_document(self.seq, self.draft, self.prev_hash)


def event_document(seq: int, draft: AuditDraft, prev_hash: str) -> dict[str, Any]:
    """The event as the JSON object whose canonical text is hashed (and exported)."""
    return {
        "seq": seq,
        "occurredAt": utc_text(draft.occurred_at),
        "actor": {"subject": draft.actor_subject, "kind": draft.actor_kind, "roles": list(draft.actor_roles)},
        "action": draft.action,
        "target": {
            "type": draft.target.type,
            "id": draft.target.id,
            "name": draft.target.name,
            "version": draft.target.version,
        },
        "before": draft.before,
        "after": draft.after,
        "outcome": draft.outcome,
        "detail": draft.detail,
        "requestId": draft.request_id,
        "clientAddress": draft.client_address,
        "userAgent": draft.user_agent,
        "prevHash": prev_hash,
    }


def event_hash(seq: int, draft: AuditDraft, prev_hash: str) -> str:
    """sha256 of the canonical JSON of the event, which includes the previous event's hash."""
    return hashlib.sha256(canonical_json(event_document(seq, draft, prev_hash)).encode()).hexdigest()


def chain(seq: int, draft: AuditDraft, prev_hash: str) -> AuditEvent:
    return AuditEvent(seq=seq, draft=draft, prev_hash=prev_hash, hash=event_hash(seq, draft, prev_hash))


@dataclass(frozen=True)
class AuditFilter:
    """Auditor query conditions, combined with AND."""

    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target: str | None = None  # the target's name, or its id where that is no database key (uploads, digests)
    target_key: TargetKey | None = None  # or the targets a global id names
    outcome: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


@dataclass
class IntegrityReport:
    """The result of recomputing the chain: the first broken event, if any, and the head to anchor elsewhere."""

    checked: int = 0
    first_broken_seq: int | None = None
    problem: str | None = None
    head_seq: int | None = None
    head_hash: str | None = None
    _expected_seq: int = field(default=1, repr=False)
    _prev_hash: str = field(default=GENESIS_HASH, repr=False)

    @property
    def ok(self) -> bool:
        return self.first_broken_seq is None

    def feed(self, events: Iterable[AuditEvent]) -> bool:
        """Check the next events in sequence order; False once a broken event is found (the rest is moot)."""
        for event in events:
            if not self.ok:
                return False
            self.checked += 1
            problem = None
            if event.seq != self._expected_seq:
                problem = (
                    f"events {self._expected_seq}..{event.seq - 1} are missing (deleted, or the rows were renumbered)"
                    if event.seq > self._expected_seq
                    else f"sequence number {event.seq} is out of order (expected {self._expected_seq})"
                )
            elif event.prev_hash != self._prev_hash:
                problem = "its previous-event hash does not match the hash of the event before it"
            elif event_hash(event.seq, event.draft, event.prev_hash) != event.hash:
                problem = "its content does not match its hash (the row was edited)"
            if problem:
                self.first_broken_seq, self.problem = event.seq, problem
                return False
            self._expected_seq, self._prev_hash = event.seq + 1, event.hash
            self.head_seq, self.head_hash = event.seq, event.hash
        return self.ok


def model_target(name: str, model_id: int | None = None) -> AuditTarget:
    return AuditTarget("RegisteredModel", str(model_id) if model_id is not None else None, name)


def version_target(name: str, number: int | None, version_id: int | None = None) -> AuditTarget:
    return AuditTarget("ModelVersion", str(version_id) if version_id is not None else None, name, number)

"""Enums, scalars and small value types shared by several aggregates."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import Enum
from typing import Any, NewType, TypeVar, overload

import strawberry
from strawberry.schema.types.base_scalars import DateTimeDefinition

from app.domain import entities, queries
from app.domain.errors import BadUserInput

V = TypeVar("V")


@strawberry.enum(description="Lifecycle stage of a model version.")
class Stage(Enum):
    NONE = strawberry.enum_value("NONE", description="Registered, not yet in any stage.")
    STAGING = strawberry.enum_value("STAGING", description="Being validated before production.")
    PRODUCTION = strawberry.enum_value("PRODUCTION", description="Serving production traffic.")
    ARCHIVED = strawberry.enum_value("ARCHIVED", description="Retired; kept for the record.")

    def to_domain(self) -> entities.Stage:
        return entities.Stage(self.value)


@strawberry.enum(description="Registration status of a model version.")
class VersionStatus(Enum):
    PENDING_REGISTRATION = strawberry.enum_value(
        "PENDING_REGISTRATION", description="Files are still being verified; not usable yet."
    )
    READY = strawberry.enum_value("READY", description="Registered and immutable; usable.")
    FAILED_REGISTRATION = strawberry.enum_value(
        "FAILED_REGISTRATION", description="Verification failed; see the version's description of the reason."
    )


@strawberry.enum(description="Experiment tracker that produced a run.")
class TrackerKind(Enum):
    MLFLOW = strawberry.enum_value("MLFLOW", description="An MLflow tracking server run.")
    WANDB = strawberry.enum_value("WANDB", description="A Weights & Biases run.")
    SAGEMAKER = strawberry.enum_value("SAGEMAKER", description="A SageMaker training job or experiment trial.")
    OTHER = strawberry.enum_value("OTHER", description="Any other tracker or a plain CI job.")


@strawberry.enum(description="How much harm a model's failure could do (business metadata).")
class RiskTier(Enum):
    LOW = strawberry.enum_value("LOW", description="Little harm: internal tooling, easily corrected.")
    MEDIUM = strawberry.enum_value("MEDIUM", description="Noticeable harm to customers or revenue.")
    HIGH = strawberry.enum_value("HIGH", description="Serious harm; decisions about people or money.")
    CRITICAL = strawberry.enum_value("CRITICAL", description="Safety-relevant or legally high-risk use.")

    def to_domain(self) -> entities.RiskTier:
        return entities.RiskTier(self.value)


@strawberry.enum(description="Where a model stands with regulation (business metadata).")
class RegulatoryStatus(Enum):
    NOT_ASSESSED = strawberry.enum_value("NOT_ASSESSED", description="Nobody has assessed it yet.")
    NOT_REGULATED = strawberry.enum_value("NOT_REGULATED", description="Assessed: no regulation applies.")
    UNDER_REVIEW = strawberry.enum_value("UNDER_REVIEW", description="A regulatory review is in progress.")
    APPROVED = strawberry.enum_value("APPROVED", description="Approved by the regulator or compliance.")
    RESTRICTED = strawberry.enum_value("RESTRICTED", description="Allowed only under stated restrictions.")

    def to_domain(self) -> entities.RegulatoryStatus:
        return entities.RegulatoryStatus(self.value)


@strawberry.enum(description="Sort direction.")
class OrderDirection(Enum):
    ASC = strawberry.enum_value("ASC", description="Smallest, oldest or alphabetically first first.")
    DESC = strawberry.enum_value("DESC", description="Largest, newest or alphabetically last first.")

    def to_domain(self) -> queries.Direction:
        return queries.Direction(self.value)


@strawberry.enum(description="Kind of caller.")
class PrincipalKind(Enum):
    USER = strawberry.enum_value("USER", description="A person.")
    SERVICE = strawberry.enum_value("SERVICE", description="A machine identity such as a CI pipeline.")


@strawberry.type(
    description="Who did something, by the subject of their token (`modelreg` for the server itself). Every "
    '"who" field of the API (createdBy, requestedBy, resolvedBy, changedBy, updatedBy, decidedBy, actor) has '
    "this shape."
)
class Actor:
    subject: str = strawberry.field(description="Subject (`sub`) of the caller's token.")
    kind: PrincipalKind | None = strawberry.field(
        description="A person or a machine identity, where it was recorded with the action (audit events, "
        "registry events); null elsewhere."
    )

    @classmethod
    def of(cls, subject: str, kind: PrincipalKind | None = None) -> Actor:
        return cls(subject=subject, kind=kind)


@strawberry.type(description="A key-value label.")
class Tag:
    key: str = strawberry.field(description="Tag key.")
    value: str = strawberry.field(description="Tag value.")


def tags_of(mapping: dict[str, str]) -> list[Tag]:
    return [Tag(key=k, value=v) for k, v in sorted(mapping.items())]


def alias_objects(found: list[Any]) -> list[Any]:
    """The GraphQL objects of a model's or version's aliases (domain ``ModelAlias`` entities)."""
    from .aliases import ModelAlias  # aliases.py imports the model and version types, which import this module

    return [ModelAlias(entity=alias) for alias in found]


@strawberry.input(description="A key-value label to set.")
class TagInput:
    key: str = strawberry.field(description="Tag key: 1-250 letters, digits, spaces or `_.-/:`.")
    value: str = strawberry.field(description="Tag value, at most 5000 characters.")


_LONG_TEXT = re.compile(r"-?[0-9]{1,19}")
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_EXACT_FLOAT = 2**53


def _parse_long(value: object) -> int:
    """A Long from a variable or literal: an integer, a whole float up to 2^53, or a decimal string."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif (isinstance(value, float) and value.is_integer() and abs(value) <= _EXACT_FLOAT) or (
        isinstance(value, str) and _LONG_TEXT.fullmatch(value)
    ):
        number = int(value)
    if number is None or not _LONG_MIN <= number <= _LONG_MAX:
        raise ValueError("Long is a 64-bit signed integer: give a whole number (or its decimal digits as a string)")
    return number


Long = NewType("Long", int)
"""A 64-bit integer in the schema (``LONG_SCALAR`` says how it is written and read)."""


def long_or_none(value: int | None) -> Long | None:
    return None if value is None else Long(value)


LONG_SCALAR = strawberry.scalar(
    name="Long",
    description="A 64-bit signed integer (byte sizes, row counts, event sequence numbers). Sent as a JSON "
    "integer, exact in JavaScript up to 2^53-1; accepted as an integer or as a string of decimal digits.",
    serialize=int,
    parse_value=_parse_long,
)


def unique_map(pairs: list[tuple[str, V]], field: str) -> dict[str, V]:
    """Key-value inputs as a dict, refusing a key given twice (it would silently keep only one value)."""
    result: dict[str, V] = {}
    for key, value in pairs:
        if key in result:
            raise BadUserInput(f"{field}: {key[:80]!r} is given twice; give each key once", field=field)
        result[key] = value
    return result


def tag_map(tags: list[TagInput] | None) -> dict[str, str]:
    return unique_map([(tag.key, tag.value) for tag in tags or ()], "tags")


@strawberry.input(description="Text matching; the conditions given are combined with AND.")
class StringMatch:
    equals: str | None = strawberry.field(default=None, description="Exactly this text.")
    prefix: str | None = strawberry.field(default=None, description="Starts with this text (case-sensitive).")
    contains: str | None = strawberry.field(default=None, description="Contains this text (case-insensitive).")

    def to_domain(self) -> queries.TextMatch:
        return queries.TextMatch(equals=self.equals, prefix=self.prefix, contains=self.contains)


@strawberry.input(description="A tag that must be present, optionally with a given value.")
class TagMatch:
    key: str = strawberry.field(description="Tag key that must be present.")
    value: str | None = strawberry.field(default=None, description="When set, the tag must have exactly this value.")

    def to_domain(self) -> queries.TagMatch:
        return queries.TagMatch(key=self.key, value=self.value)


def _parse_datetime(value: object) -> datetime:
    """A DateTime from a variable or literal, as an aware UTC time: the one place DateTime inputs are read.

    ISO 8601 as Strawberry's own DateTime reads it; without an offset the time is UTC. A time whose UTC
    equivalent falls outside years 1-9999 (``9999-12-31T23:59:59-14:00``) is refused here, so every DateTime
    argument and input field answers BAD_USER_INPUT instead of failing later inside a resolver."""
    moment: datetime = DateTimeDefinition.parse_value(value)  # type: ignore[misc]  # a str, or it raised
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            f"{str(value)[:64]} has no UTC equivalent between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z; "
            "give a time in that range"
        ) from None


DATETIME_SCALAR = strawberry.scalar(
    name="DateTime",
    description="Date with time (isoformat)",
    serialize=datetime.isoformat,
    parse_value=_parse_datetime,
)


@overload
def _aware(moment: datetime) -> datetime: ...
@overload
def _aware(moment: datetime | None) -> datetime | None: ...
def _aware(moment: datetime | None) -> datetime | None:
    """Times without an offset are taken as UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def time_range(after: datetime | None, before: datetime | None) -> queries.TimeRange | None:
    if after is None and before is None:
        return None
    return queries.TimeRange(after=_aware(after), before=_aware(before))

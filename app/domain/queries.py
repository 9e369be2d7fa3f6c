"""Filters, orderings and pages for listing models and versions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Generic, TypeVar

from .entities import RegulatoryStatus, RiskTier, Stage, VersionStatus

T = TypeVar("T")


class Direction(str, Enum):
    ASC = "ASC"
    DESC = "DESC"


class ModelOrderField(str, Enum):
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    NAME = "NAME"


class VersionOrderField(str, Enum):
    CREATED_AT = "CREATED_AT"
    NAME = "NAME"
    VERSION = "VERSION"
    METRIC = "METRIC"


@dataclass(frozen=True)
class TextMatch:
    """Exact, prefix and substring match on a text field; set ones are combined with AND."""

    equals: str | None = None
    prefix: str | None = None
    contains: str | None = None


@dataclass(frozen=True)
class TagMatch:
    """A tag that must be present, optionally with a given value."""

    key: str
    value: str | None = None


@dataclass(frozen=True)
class MetricThreshold:
    """A bound on a metric: a version matches when one of its values of that name lies within all bounds."""

    name: str
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None


@dataclass(frozen=True)
class TimeRange:
    after: datetime | None = None
    before: datetime | None = None


@dataclass(frozen=True)
class ModelFilter:
    name: TextMatch | None = None
    tags: tuple[TagMatch, ...] = ()
    owner: str | None = None
    created_by: str | None = None
    created: TimeRange | None = None
    use_case: TextMatch | None = None
    risk_tiers: tuple[RiskTier, ...] = ()
    regulatory_statuses: tuple[RegulatoryStatus, ...] = ()


@dataclass(frozen=True)
class VersionFilter:
    model_name: TextMatch | None = None
    model_id: int | None = None
    tags: tuple[TagMatch, ...] = ()
    stages: tuple[Stage, ...] = ()
    statuses: tuple[VersionStatus, ...] = ()
    owner: str | None = None
    created_by: str | None = None
    created: TimeRange | None = None
    metrics: tuple[MetricThreshold, ...] = ()


@dataclass(frozen=True)
class ModelOrder:
    field: ModelOrderField = ModelOrderField.NAME
    direction: Direction = Direction.ASC


@dataclass(frozen=True)
class VersionOrder:
    field: VersionOrderField = VersionOrderField.CREATED_AT
    direction: Direction = Direction.DESC
    metric: str | None = None


@dataclass(frozen=True)
class PageRequest:
    """Forward cursor pagination: at most ``first`` items after the (opaque) ``after`` cursor."""

    first: int
    after: str | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results with the cursor of each item."""

    items: list[tuple[str, T]] = field(default_factory=list)
    has_next_page: bool = False
    total_count: int = 0

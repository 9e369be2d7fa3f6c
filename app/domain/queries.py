"""Filters, orderings and pages for listing models and versions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Generic, TypeVar

from .entities import RegulatoryStatus, RiskTier, Stage, VersionStatus
from .errors import BadUserInput

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
    """Exact, prefix and substring match on a text field; set ones are combined with AND. The rest serve MLflow's
    search syntax: a SQL LIKE pattern (``%`` and ``_``; ``ilike`` ignores case), inequality and (not) one of."""

    equals: str | None = None
    prefix: str | None = None
    contains: str | None = None
    not_equals: str | None = None
    like: str | None = None
    ilike: str | None = None
    one_of: tuple[str, ...] | None = None
    none_of: tuple[str, ...] | None = None


@dataclass(frozen=True)
class NumberMatch:
    """Comparisons of an integer field, combined with AND."""

    equals: int | None = None
    not_equals: int | None = None
    gt: int | None = None
    gte: int | None = None
    lt: int | None = None
    lte: int | None = None


@dataclass(frozen=True)
class TagMatch:
    """A tag that must be present, optionally with a given value (or, for MLflow's search syntax, a value that
    matches a LIKE pattern); ``not_equals`` instead matches when the tag is absent or has another value."""

    key: str
    value: str | None = None
    like: str | None = None
    ilike: str | None = None
    not_equals: str | None = None


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
    run_id: TextMatch | None = None
    source: TextMatch | None = None  # what a version was registered from (its source, else its artifact URI)
    number: NumberMatch | None = None


# A filter's conditions of one kind each add a subquery: SQLite refuses a statement nested deeper than 1000
# ("Expression tree is too large"), and no screen asks for more than a few.
MAX_FILTER_CONDITIONS = 50


def check_filter(tags: tuple[TagMatch, ...], metrics: tuple[MetricThreshold, ...] = ()) -> None:
    """BAD_USER_INPUT when a filter has more tag or metric conditions than ``MAX_FILTER_CONDITIONS``."""
    for name, conditions in (("filter.tags", tags), ("filter.metrics", metrics)):
        if len(conditions) > MAX_FILTER_CONDITIONS:
            raise BadUserInput(
                f"{name} has {len(conditions)} conditions; at most {MAX_FILTER_CONDITIONS} are allowed",
                field=name,
            )


@dataclass(frozen=True)
class ModelOrder:
    field: ModelOrderField = ModelOrderField.CREATED_AT
    direction: Direction = Direction.DESC


@dataclass(frozen=True)
class VersionOrder:
    field: VersionOrderField = VersionOrderField.CREATED_AT
    direction: Direction = Direction.DESC
    metric: str | None = None


DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True)
class PageRequest:
    """A window of a keyset-ordered list, as Relay defines it: the items after ``after`` and before ``before``
    (cursors, both optional), then the first ``first`` of them or the last ``last`` (at most one of the two;
    neither means the first ``DEFAULT_PAGE_SIZE``)."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    @property
    def backward(self) -> bool:
        """True when the window is taken from its end (``last``)."""
        return self.last is not None

    @property
    def size(self) -> int:
        """How many items the page holds at most."""
        if self.last is not None:
            return self.last
        return DEFAULT_PAGE_SIZE if self.first is None else self.first


def check_page(page: PageRequest, max_page_size: int) -> PageRequest:
    """The page request, if its sizes are within bounds and it asks for one end of the window only."""
    if page.first is not None and page.last is not None:
        raise BadUserInput("pass first (with after) or last (with before), not both", field="last")
    for name, size in (("first", page.first), ("last", page.last)):
        if size is not None and not 0 <= size <= max_page_size:
            raise BadUserInput(f"{name} must be between 0 and {max_page_size}", field=name)
    return page


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results with the cursor of each item, in list order whichever end it was taken from."""

    items: list[tuple[str, T]] = field(default_factory=list)
    has_next_page: bool = False
    total_count: int = 0
    has_previous_page: bool = False

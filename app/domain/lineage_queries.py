"""What lineage reads ask for and get back: filters for datasets and runs, the raw result of a graph walk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .entities import TrackerKind
from .lineage import EdgeKind, NodeRef
from .queries import TextMatch


@dataclass(frozen=True)
class DatasetFilter:
    name: TextMatch | None = None
    version: str | None = None
    digest: str | None = None
    source_system: str | None = None
    format: str | None = None


@dataclass(frozen=True)
class RunFilter:
    tracker: TrackerKind | None = None
    run_id: str | None = None
    experiment_name: TextMatch | None = None


@dataclass(frozen=True)
class WalkRow:
    """A node a walk reached, at its shortest distance from the root."""

    node_id: int
    ref: NodeRef
    depth: int


@dataclass(frozen=True)
class EdgeRow:
    kind: EdgeKind
    source_id: int
    target_id: int
    relation: str | None
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class Walk:
    nodes: list[WalkRow]
    edges: list[EdgeRow]
    truncated: bool

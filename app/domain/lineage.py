"""The lineage graph: what produced each model version. Nodes, edges, the rules on which edge may join
which nodes, and the commands that register them (docs/lineage.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from .entities import ModelVersion, TrackerKind
from .errors import BadUserInput, FailedPrecondition

MAX_DEPTH = 50
MAX_NODES = 2000
DEFAULT_DEPTH = 3
DEFAULT_MAX_NODES = 200


class NodeKind(str, Enum):
    DATASET = "DATASET"
    RUN = "RUN"
    CODE_COMMIT = "CODE_COMMIT"
    MODEL_VERSION = "MODEL_VERSION"
    EXTERNAL = "EXTERNAL"


class EdgeKind(str, Enum):
    """Edges point the way data flows: from what was used (upstream) to what was made (downstream)."""

    TRAINED_ON = "TRAINED_ON"
    VALIDATED_ON = "VALIDATED_ON"
    EVALUATED_ON = "EVALUATED_ON"
    PRODUCED = "PRODUCED"
    BUILT_FROM = "BUILT_FROM"
    DERIVED_FROM = "DERIVED_FROM"
    DEPLOYED_AS = "DEPLOYED_AS"


class WalkDirection(str, Enum):
    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"


DATASET_USES = (EdgeKind.TRAINED_ON, EdgeKind.VALIDATED_ON, EdgeKind.EVALUATED_ON)
# Edges into a READY version that would rewrite what produced it.
DEFINING_KINDS = frozenset({EdgeKind.TRAINED_ON, EdgeKind.VALIDATED_ON, EdgeKind.PRODUCED, EdgeKind.BUILT_FROM})

_ALLOWED: dict[EdgeKind, tuple[frozenset[NodeKind], frozenset[NodeKind]]] = {
    **{
        kind: (frozenset({NodeKind.DATASET}), frozenset({NodeKind.RUN, NodeKind.MODEL_VERSION}))
        for kind in DATASET_USES
    },
    EdgeKind.PRODUCED: (frozenset({NodeKind.RUN}), frozenset({NodeKind.MODEL_VERSION, NodeKind.DATASET})),
    EdgeKind.BUILT_FROM: (frozenset({NodeKind.CODE_COMMIT}), frozenset({NodeKind.RUN, NodeKind.MODEL_VERSION})),
    EdgeKind.DERIVED_FROM: (frozenset({NodeKind.MODEL_VERSION}), frozenset({NodeKind.MODEL_VERSION})),
    EdgeKind.DEPLOYED_AS: (frozenset({NodeKind.MODEL_VERSION}), frozenset({NodeKind.EXTERNAL})),
}


@dataclass(frozen=True)
class NodeRef:
    """A lineage node as the API names it: its kind and its entity's key (a version's id for versions, the
    lineage node id for everything else)."""

    kind: NodeKind
    key: int


def check_edge_endpoints(kind: EdgeKind, upstream: NodeKind, downstream: NodeKind) -> None:
    """Refuse an edge between kinds of nodes it cannot join (an ExternalNode may stand on either side of any
    kind but DERIVED_FROM)."""
    ups, downs = _ALLOWED[kind]
    external_ok = kind is not EdgeKind.DERIVED_FROM
    if (upstream in ups or (external_ok and upstream is NodeKind.EXTERNAL)) and (
        downstream in downs or (external_ok and downstream is NodeKind.EXTERNAL)
    ):
        return
    expected = f"{' or '.join(sorted(k.value for k in ups))} -> {' or '.join(sorted(k.value for k in downs))}"
    raise BadUserInput(
        f"a {kind.value} edge joins {expected} (upstream -> downstream), not {upstream.value} -> {downstream.value}",
        field="kind",
    )


def check_not_frozen(kind: EdgeKind, downstream: ModelVersion) -> None:
    """What defines a READY version is frozen; later evaluations and derivations may still be linked."""
    if kind in DEFINING_KINDS and downstream.status.value == "READY":
        raise FailedPrecondition(
            f"models:/{downstream.model_name}/{downstream.version} is READY: its {kind.value} lineage was fixed "
            "when it was registered (give it with createModelVersion); only EVALUATED_ON and DERIVED_FROM edges "
            "can be added later",
            field="kind",
        )


@dataclass(frozen=True)
class RunEnvironment:
    """Where a run ran, so it can be run again."""

    python_version: str | None = None
    requirements_digest: str | None = None
    container_image: str | None = None


@dataclass(frozen=True)
class Dataset:
    id: int
    name: str
    version: str | None
    uri: str | None
    digest: str | None
    format: str | None
    size: int | None
    row_count: int | None
    schema: Any
    source_system: str | None
    created_at: datetime
    created_by: str

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}" if self.version else self.name


@dataclass(frozen=True)
class Run:
    id: int
    tracker: TrackerKind
    run_id: str
    run_uri: str | None
    experiment_name: str | None
    params: dict[str, str]
    metrics: dict[str, float]
    started_at: datetime | None
    ended_at: datetime | None
    environment: RunEnvironment
    created_at: datetime
    created_by: str

    @property
    def label(self) -> str:
        return f"{self.tracker.value} run {self.run_id}"


@dataclass(frozen=True)
class CodeCommit:
    id: int
    repository_url: str
    commit_sha: str
    branch: str | None
    created_at: datetime
    created_by: str

    @property
    def label(self) -> str:
        repository = self.repository_url.rstrip("/").removesuffix(".git").rsplit("/", 2)[-2:]
        return f"{'/'.join(repository)}@{self.commit_sha[:7]}"


@dataclass(frozen=True)
class ExternalNode:
    id: int
    name: str
    category: str | None
    uri: str | None
    description: str | None
    properties: Any
    created_at: datetime
    created_by: str

    @property
    def label(self) -> str:
        return self.name


@dataclass(frozen=True)
class RedactedNode:
    """A node the caller may not read (scoped reads, docs/authorization.md): its kind and nothing else. Its
    reference in a graph is a stand-in (a negative key, numbered per walk), never the object's own id."""

    kind: NodeKind

    @property
    def label(self) -> str:
        return "(redacted)"


LineageEntity = Dataset | Run | CodeCommit | ExternalNode | ModelVersion | RedactedNode


def label_of(entity: LineageEntity) -> str:
    if isinstance(entity, ModelVersion):
        return f"models:/{entity.model_name}/{entity.version}"
    return entity.label


@dataclass(frozen=True)
class LineageEdge:
    kind: EdgeKind
    upstream: NodeRef
    downstream: NodeRef
    relation: str | None
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class GraphNode:
    ref: NodeRef
    depth: int
    entity: LineageEntity


@dataclass(frozen=True)
class LineageGraph:
    root: NodeRef
    nodes: list[GraphNode]
    edges: list[LineageEdge]
    truncated: bool


@dataclass(frozen=True)
class WalkRequest:
    """A bounded traversal from one node."""

    root: NodeRef
    direction: WalkDirection = WalkDirection.UPSTREAM
    depth: int = DEFAULT_DEPTH
    edge_kinds: tuple[EdgeKind, ...] = ()  # empty: every kind
    max_nodes: int = DEFAULT_MAX_NODES

    def validate(self) -> None:
        if not 1 <= self.depth <= MAX_DEPTH:
            raise BadUserInput(f"depth must be between 1 and {MAX_DEPTH}", field="depth")
        if not 1 <= self.max_nodes <= MAX_NODES:
            raise BadUserInput(f"maxNodes must be between 1 and {MAX_NODES}", field="maxNodes")

    @property
    def kinds(self) -> tuple[EdgeKind, ...]:
        return tuple(dict.fromkeys(self.edge_kinds)) or tuple(EdgeKind)

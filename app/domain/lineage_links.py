"""The rules of linking lineage, as pure functions: a registered node never changes, an edge never changes, what
defines a READY version is frozen (also through the run that produced it), a version has one producing run, and the
graph has no cycles.

``services/lineage_links.py`` reads what a rule needs (the node registered under the same identity, the existing
edge, the versions a run produced, the producing runs, the path an edge would close) and calls the rule; each
function here takes data and returns a decision or raises the error the caller sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from .entities import ModelVersion, VersionStatus
from .errors import Conflict, FailedPrecondition
from .lineage import DEFINING_KINDS, EdgeKind, NodeKind, check_not_frozen, label_of
from .lineage_commands import NewCodeCommit, NewDataset, NewEdge, NewExternalNode, NewRun

NewNode = NewDataset | NewRun | NewCodeCommit | NewExternalNode

# Fields compared when an identity is registered again (identity fields always match).
COMPARED: dict[type, tuple[str, ...]] = {
    NewDataset: ("name", "uri", "digest", "format", "size", "row_count", "schema", "source_system"),
    NewRun: ("run_uri", "experiment_name", "params", "metrics", "started_at", "ended_at"),
    NewCodeCommit: ("branch",),
    NewExternalNode: ("category", "uri", "description", "properties"),
}
NODE_NAMES: dict[type, str] = {
    NewDataset: "dataset",
    NewRun: "run",
    NewCodeCommit: "code commit",
    NewExternalNode: "external node",
}


# Registering nodes.


def _camel(name: str) -> str:
    return name.split("_")[0] + "".join(part.title() for part in name.split("_")[1:])


def differences(new: NewNode, existing: Any) -> list[str]:
    """Fields set on both sides with different values (camelCase, as the API names them). A dataset found by its
    digest alone is that content under whatever name it was registered with."""
    names = [
        name
        for name in COMPARED[type(new)]
        if not (isinstance(new, NewDataset) and new.version is None and name == "name")
    ]
    pairs = [(name, getattr(new, name), getattr(existing, name)) for name in names]
    if isinstance(new, NewRun):
        pairs += [
            (f"environment.{f.name}", getattr(new.environment, f.name), getattr(existing.environment, f.name))
            for f in fields(new.environment)
        ]
    return [
        ".".join(_camel(part) for part in name.split("."))
        for name, mine, theirs in pairs
        if mine not in (None, {}) and theirs not in (None, {}) and mine != theirs
    ]


def check_unchanged(new: NewNode, existing: Any) -> None:
    """CONFLICT when ``new`` registers the identity of ``existing`` (the node registered under it) again with a field
    both give set differently: registered nodes never change. The error's field is the first that differs."""
    differing = differences(new, existing)
    if differing:
        raise Conflict(
            f"{NODE_NAMES[type(new)]} {label_of(existing)!r} is already registered with another "
            f"{', '.join(differing)}; registered nodes never change (register a new version of it)",
            field=differing[0],
        )


def check_found_after_race(new: NewNode, existing: Any | None) -> None:
    """CONFLICT when a registration that lost the race to a concurrent one cannot find that one's node either
    (``existing``: what the second lookup found): the client is to try again."""
    if existing is None:
        raise Conflict(
            f"this {NODE_NAMES[type(new)]} collides with another registration made at the same time; try again"
        )


# Adding edges.


def check_same_relation(edge: NewEdge, existing_relation: str | None) -> None:
    """CONFLICT when the edge exists already (with ``existing_relation``) and ``edge`` gives another relation: edges
    never change. Not giving one asks for the edge as it is."""
    if edge.relation is not None and existing_relation != edge.relation:
        raise Conflict(
            f"this {edge.kind.value} edge exists with relation {existing_relation!r}; edges never change",
            field="relation",
        )


def defines_run(edge: NewEdge) -> bool:
    """Whether the edge would change what defines a run, and so of the versions it produced."""
    return edge.downstream.kind is NodeKind.RUN and edge.kind in DEFINING_KINDS


def check_definition_open(edge: NewEdge, version: ModelVersion | None, produced: Sequence[ModelVersion] = ()) -> None:
    """FAILED_PRECONDITION when the edge would rewrite what defines a READY version: a defining edge into the
    version (``version``: the downstream node, when it is one), or into a run that produced one (``produced``: the
    versions that run produced, read only when ``defines_run``; the first READY one is named)."""
    if version is not None:
        check_not_frozen(edge.kind, version)
        return
    if not defines_run(edge):
        return
    ready = [found for found in produced if found.status is VersionStatus.READY]
    if ready:
        check_not_frozen(edge.kind, ready[0])


def produces_version(edge: NewEdge, version: ModelVersion | None) -> bool:
    """Whether the edge names the run that produced a version (``version``: the downstream node, when it is one)."""
    return edge.kind is EdgeKind.PRODUCED and version is not None


def check_one_producing_run(edge: NewEdge, version: ModelVersion | None, producing_runs: int) -> None:
    """FAILED_PRECONDITION when a PRODUCED edge goes into a version that has a producing run already
    (``producing_runs``: how many, read only when ``produces_version``): a version is produced by one run."""
    if produces_version(edge, version) and producing_runs:
        assert version is not None  # produces_version
        raise FailedPrecondition(
            f"{label_of(version)} already has a producing run; a version is produced by one run", field="upstreamId"
        )


def check_no_cycle(edge: NewEdge, cycle: Sequence[str]) -> None:
    """FAILED_PRECONDITION when the edge would close a cycle: ``cycle`` labels the nodes of the path from its
    downstream node to its upstream node and back to the downstream node (empty when there is no such path)."""
    if cycle:
        raise FailedPrecondition(
            f"this {edge.kind.value} edge would close a cycle: {' -> '.join(cycle)}", field="upstreamId"
        )

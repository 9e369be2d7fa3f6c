"""Registering lineage nodes and edges inside a caller's write transaction.

Shared by the lineage use cases and by ``createModelVersion``, which links a new version's run, code,
datasets and parents in the same transaction as the version.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import fields
from datetime import datetime
from typing import Any, cast

from app.domain.commands import NewVersion
from app.domain.deletion import Derivation
from app.domain.entities import ModelVersion, VersionStatus
from app.domain.errors import Conflict, FailedPrecondition, NotFound
from app.domain.lineage import (
    DEFINING_KINDS,
    EdgeKind,
    NodeKind,
    NodeRef,
    check_not_frozen,
    label_of,
)
from app.domain.lineage_commands import NewCodeCommit, NewDataset, NewEdge, NewExternalNode, NewRun, ParentRef
from app.domain.uris import parse_model_uri

from .common import version_at_uri
from .ports import UnitOfWork

# Fields compared when an identity is registered again (identity fields always match).
_COMPARED = {
    NewDataset: ("name", "uri", "digest", "format", "size", "row_count", "schema", "source_system"),
    NewRun: ("run_uri", "experiment_name", "params", "metrics", "started_at", "ended_at"),
    NewCodeCommit: ("branch",),
    NewExternalNode: ("category", "uri", "description", "properties"),
}
_NAMES = {NewDataset: "dataset", NewRun: "run", NewCodeCommit: "code commit", NewExternalNode: "external node"}


def _differences(new: Any, existing: Any) -> list[str]:
    """Fields set on both sides with different values (camelCase, as the API names them). A dataset found by its
    digest alone is that content under whatever name it was registered with."""
    names = [
        name
        for name in _COMPARED[type(new)]
        if not (isinstance(new, NewDataset) and new.version is None and name == "name")
    ]
    pairs = [(name, getattr(new, name), getattr(existing, name)) for name in names]
    if isinstance(new, NewRun):
        pairs += [
            (f"environment.{f.name}", getattr(new.environment, f.name), getattr(existing.environment, f.name))
            for f in fields(new.environment)
        ]

    def camel(name: str) -> str:
        return name.split("_")[0] + "".join(part.title() for part in name.split("_")[1:])

    return [
        ".".join(camel(part) for part in name.split("."))
        for name, mine, theirs in pairs
        if mine not in (None, {}) and theirs not in (None, {}) and mine != theirs
    ]


async def register(uow: UnitOfWork, new: Any, actor: str, now: datetime) -> tuple[Any, bool]:
    """The node for ``new`` (a validated NewDataset, NewRun, NewCodeCommit or NewExternalNode) and whether it was
    created now. Registering an identity again returns the existing node, unless a field differs: CONFLICT."""
    steps: dict[type, tuple[Callable[[Any], Awaitable[Any]], Callable[[Any, str, datetime], Awaitable[Any]]]] = {
        NewDataset: (uow.lineage.find_dataset, uow.lineage.add_dataset),
        NewRun: (uow.lineage.find_run, uow.lineage.add_run),
        NewCodeCommit: (uow.lineage.find_commit, uow.lineage.add_commit),
        NewExternalNode: (uow.lineage.find_external, uow.lineage.add_external),
    }
    find, add = steps[type(new)]
    existing = await find(new)
    if existing is None:
        added = await add(new, actor, now)
        if added is not None:
            return added, True
        existing = await find(new)  # a concurrent transaction registered it first
        if existing is None:
            raise Conflict(
                f"this {_NAMES[type(new)]} collides with another registration made at the same time; try again"
            )
    differing = _differences(new, existing)
    if differing:
        raise Conflict(
            f"{_NAMES[type(new)]} {label_of(existing)!r} is already registered with another "
            f"{', '.join(differing)}; registered nodes never change (register a new version of it)",
            field=differing[0],
        )
    return existing, False


async def node_of(uow: UnitOfWork, ref: NodeRef, actor: str, now: datetime) -> tuple[int, ModelVersion | None]:
    """The node id behind a reference (a version gets its node on first link) and the version, if it is one."""
    if ref.kind is NodeKind.MODEL_VERSION:
        version = (await uow.versions.get_many([ref.key])).get(ref.key)
        if version is None:
            raise NotFound("no model version has this id", field="id")
        return await uow.lineage.version_node(version.id, actor, now), version
    node_id = await uow.lineage.node_id(ref)
    if node_id is None:
        raise NotFound(f"no {ref.kind.value} node has this id", field="id")
    return node_id, None


async def entities_of(uow: UnitOfWork, refs: list[NodeRef]) -> dict[NodeRef, Any]:
    """The entity behind each reference: one statement per kind present (versions included)."""
    found: dict[NodeRef, Any] = {}
    for kind in NodeKind:
        keys = [ref.key for ref in refs if ref.kind is kind]
        if keys:
            batch = await (
                uow.versions.get_many(keys) if kind is NodeKind.MODEL_VERSION else uow.lineage.entities(kind, keys)
            )
            found.update({NodeRef(kind, key): entity for key, entity in batch.items()})
    return found


async def describe(uow: UnitOfWork, node_ids: list[int]) -> list[str]:
    """Labels of nodes, in order (for messages such as a refused cycle)."""
    refs = await uow.lineage.refs(node_ids)
    found = await entities_of(uow, list(refs.values()))
    return [label_of(found[refs[node_id]]) if refs.get(node_id) in found else f"node {node_id}" for node_id in node_ids]


async def link(
    uow: UnitOfWork, edge: NewEdge, actor: str, now: datetime, *, new_downstream: bool = False
) -> tuple[int, int, bool]:
    """Add an edge unless it exists: (upstream node, downstream node, whether it was added).

    The same edge again is returned as it is (with another ``relation``: CONFLICT). Refused: edges that rewrite
    what defines a READY version (also through the run that produced it), a second producing run, and cycles.
    ``new_downstream`` skips the checks a version being created right now cannot fail.
    """
    edge.validate()
    if not new_downstream:
        await uow.lineage.lock_graph()  # checks and insert as one step, whoever links concurrently
    source_id, _ = await node_of(uow, edge.upstream, actor, now)
    target_id, version = await node_of(uow, edge.downstream, actor, now)
    existing = await uow.lineage.existing_edge(edge.kind, source_id, target_id)
    if existing is not None:
        if edge.relation is not None and existing.relation != edge.relation:
            raise Conflict(
                f"this {edge.kind.value} edge exists with relation {existing.relation!r}; edges never change",
                field="relation",
            )
        return source_id, target_id, False
    if not new_downstream:
        await _check_not_frozen(uow, edge, target_id, version)
    if (
        edge.kind is EdgeKind.PRODUCED
        and version is not None
        and await uow.lineage.sources([target_id], [EdgeKind.PRODUCED])
    ):
        raise FailedPrecondition(
            f"{label_of(version)} already has a producing run; a version is produced by one run", field="upstreamId"
        )
    if not new_downstream:
        cycle = await uow.walks.path(target_id, source_id)
        if cycle:
            labels = await describe(uow, [*cycle, target_id])
            raise FailedPrecondition(
                f"this {edge.kind.value} edge would close a cycle: {' -> '.join(labels)}", field="upstreamId"
            )
    added = await uow.lineage.add_edge(edge.kind, source_id, target_id, edge.relation, actor, now)
    return source_id, target_id, added


async def _check_not_frozen(uow: UnitOfWork, edge: NewEdge, target_id: int, version: ModelVersion | None) -> None:
    """A READY version's definition is fixed: no defining edge into it, nor into the run that produced it."""
    if version is not None:
        check_not_frozen(edge.kind, version)
        return
    if edge.downstream.kind is not NodeKind.RUN or edge.kind not in DEFINING_KINDS:
        return
    produced = await uow.lineage.produced_versions(target_id)
    ready = [found for found in (await uow.versions.get_many(produced)).values() if found.status is VersionStatus.READY]
    if ready:
        check_not_frozen(edge.kind, ready[0])


async def resolve_parents(uow: UnitOfWork, parents: tuple[ParentRef, ...]) -> list[tuple[ModelVersion, str | None]]:
    """The parent versions of a version about to be created, resolved before it exists (so that
    ``models:/NAME/latest`` of its own model means the newest version before it)."""
    resolved: list[tuple[ModelVersion, str | None]] = []
    for parent in parents:
        found: ModelVersion | None
        if parent.uri is not None:
            found = await version_at_uri(uow, parse_model_uri(parent.uri))
        else:
            found = None
            if parent.version_id is not None:  # NewVersion.validate: an id when there is no URI
                found = (await uow.versions.get_many([parent.version_id])).get(parent.version_id)
            if found is None:
                raise NotFound("parents: no model version has this id", field="parents.id")
        resolved.append((found, parent.relation))
    return resolved


async def link_new_version(
    uow: UnitOfWork,
    version: ModelVersion,
    command: NewVersion,
    parents: list[tuple[ModelVersion, str | None]],
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """Link a version being created to its run, code, datasets and (resolved) parents; what was linked, for the
    audit log."""
    me = NodeRef(NodeKind.MODEL_VERSION, version.id)
    linked: dict[str, Any] = {}
    if command.run is not None:
        run, _ = await register(uow, command.run, actor, now)
        await link(uow, NewEdge(EdgeKind.PRODUCED, NodeRef(NodeKind.RUN, run.id), me), actor, now, new_downstream=True)
        linked["run"] = run.id
    if command.code is not None:
        commit, _ = await register(uow, command.code, actor, now)
        await link(
            uow,
            NewEdge(EdgeKind.BUILT_FROM, NodeRef(NodeKind.CODE_COMMIT, commit.id), me),
            actor,
            now,
            new_downstream=True,
        )
        linked["codeCommit"] = commit.id
    # Inline datasets are registered in one order, whatever the caller's, so concurrent creates cannot deadlock.
    inline = sorted(
        {use.dataset for use in command.datasets if use.dataset is not None},
        key=lambda new: (new.name, new.version or "", new.digest or ""),
    )
    registered = {new: (await register(uow, new, actor, now))[0].id for new in inline}
    datasets = []
    for use in command.datasets:
        # NewVersion.validate: an id when there is no inline dataset
        dataset_id = registered[use.dataset] if use.dataset is not None else cast(int, use.dataset_id)
        await link(uow, NewEdge(use.kind, NodeRef(NodeKind.DATASET, dataset_id), me), actor, now, new_downstream=True)
        datasets.append({"dataset": dataset_id, "kind": use.kind.value})
    for parent, relation in parents:
        edge = NewEdge(EdgeKind.DERIVED_FROM, NodeRef(NodeKind.MODEL_VERSION, parent.id), me, relation)
        await link(uow, edge, actor, now, new_downstream=True)
    if datasets:
        linked["datasets"] = datasets
    if parents:
        linked["parents"] = [
            {"version": parent.id, "uri": label_of(parent), "relation": relation} for parent, relation in parents
        ]
    return linked


async def derivations(
    uow: UnitOfWork, version: ModelVersion | None = None, *, model_id: int | None = None
) -> list[Derivation]:
    """(parent, child) versions of the DERIVED_FROM edges from a version, or from any version of a model: what
    ``check_not_a_parent`` needs before either is deleted."""
    if version is not None:
        children = await uow.lineage.derived_children([version.id])
    else:
        children = await uow.lineage.derived_children(model_id=model_id)
    if not children:
        return []
    found = await uow.versions.get_many(list({child for _, child in children} | {parent for parent, _ in children}))
    return [(found[parent], found[child]) for parent, child in children]

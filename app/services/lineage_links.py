"""Registering lineage nodes and edges inside a caller's write transaction.

Shared by the lineage use cases and by ``createModelVersion``, which links a new version's run, code,
datasets and parents in the same transaction as the version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from app.domain.commands import NewVersion
from app.domain.deletion import Derivation
from app.domain.entities import ModelVersion, RegisteredModel
from app.domain.errors import NotFound
from app.domain.lineage import EdgeKind, NodeKind, NodeRef, label_of
from app.domain.lineage_commands import NewEdge, ParentRef
from app.domain.lineage_links import (
    check_definition_open,
    check_found_after_race,
    check_no_cycle,
    check_one_producing_run,
    check_same_relation,
    check_unchanged,
    defines_run,
    produces_version,
)
from app.domain.uris import parse_model_uri

from .common import version_at_uri
from .ports import UnitOfWork


async def register(uow: UnitOfWork, new: Any, actor: str, now: datetime) -> tuple[Any, bool]:
    """The node for ``new`` (a validated NewDataset, NewRun, NewCodeCommit or NewExternalNode) and whether it was
    created now. Registering an identity again returns the existing node, unless a field differs: CONFLICT."""
    existing, created = await uow.lineage.find_or_add(new, actor, now)
    if created:
        return existing, True
    if existing is None:
        existing = await uow.lineage.find(new)  # a concurrent transaction registered it first
        check_found_after_race(new, existing)
    check_unchanged(new, existing)
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
    return [
        label_of(found[refs[node_id]]) if refs.get(node_id) in found else "a node that no longer exists"
        for node_id in node_ids
    ]


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
        check_same_relation(edge, existing.relation)
        return source_id, target_id, False
    if not new_downstream:
        check_definition_open(edge, version, await _produced_by(uow, edge, target_id, version))
    producing = await uow.lineage.sources([target_id], [EdgeKind.PRODUCED]) if produces_version(edge, version) else []
    check_one_producing_run(edge, version, len(producing))
    if not new_downstream:
        path = await uow.walks.path(target_id, source_id)
        check_no_cycle(edge, await describe(uow, [*path, target_id]) if path else [])
    added = await uow.lineage.add_edge(edge.kind, source_id, target_id, edge.relation, actor, now)
    return source_id, target_id, added


async def _produced_by(
    uow: UnitOfWork, edge: NewEdge, target_id: int, version: ModelVersion | None
) -> list[ModelVersion]:
    """The versions the downstream run produced, when ``check_definition_open`` needs them (else none)."""
    if version is not None or not defines_run(edge):
        return []
    produced = await uow.lineage.produced_versions(target_id)
    return list((await uow.versions.get_many(produced)).values())


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


async def lock_with_parents(
    uow: UnitOfWork, model: RegisteredModel, parents: list[tuple[ModelVersion, str | None]]
) -> list[tuple[ModelVersion, str | None]]:
    """Lock the row of the model a version is being created in, and of its parents' models (in id order, so two
    creates cannot deadlock), then read the parents again. Deleting a version or a model locks its model's row
    before checking what stands on it, so a deletion that comes second sees what the create added (the new version
    goes with its model; its DERIVED_FROM edge makes the parent's deletion refuse), and a create that comes second
    finds its model or a parent gone: NOT_FOUND naming it (issue 14, point 9)."""
    other_ids = sorted({parent.model_id for parent, _ in parents} - {model.id})
    others = await uow.models.get_many(other_ids) if other_ids else {}
    for model_id in sorted({model.id, *others}):
        name = model.name if model_id == model.id else others[model_id].name
        locked = await uow.models.get_by_name(name, for_update=True)
        if locked is None and model_id == model.id:
            raise NotFound(f"registered model {model.name!r} does not exist", field="name")
    if not parents:
        return parents
    again = await uow.versions.get_many([parent.id for parent, _ in parents])
    for parent, _ in parents:
        if parent.id not in again:
            raise NotFound(f"parents: {label_of(parent)} was deleted meanwhile", field="parents")
    return [(again[parent.id], relation) for parent, relation in parents]


async def link_new_version(
    uow: UnitOfWork,
    version: ModelVersion,
    command: NewVersion,
    parents: list[tuple[ModelVersion, str | None]],
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """Link a version being created to its run, code, datasets and (resolved) parents; what was linked, for the
    audit log.

    Nothing can have linked a version that did not exist before this transaction, so none of ``link``'s checks can
    fail here (no edge to find, no second producing run, no cycle): the version's node and all its edges are written
    together (one statement on PostgreSQL, two on SQLite). The same edge named twice is written once, as ``link``
    would (another relation: CONFLICT).
    """
    me = NodeRef(NodeKind.MODEL_VERSION, version.id)
    linked: dict[str, Any] = {}
    edges: list[NewEdge] = []
    sources: dict[NodeRef, int] = {}
    if command.run is not None:
        run, _ = await register(uow, command.run, actor, now)
        edges.append(NewEdge(EdgeKind.PRODUCED, NodeRef(NodeKind.RUN, run.id), me))
        linked["run"] = run.id
    if command.code is not None:
        commit, _ = await register(uow, command.code, actor, now)
        edges.append(NewEdge(EdgeKind.BUILT_FROM, NodeRef(NodeKind.CODE_COMMIT, commit.id), me))
        linked["codeCommit"] = commit.id
    sources.update({edge.upstream: edge.upstream.key for edge in edges})  # registered just now: they exist
    # Inline datasets are registered in one order, whatever the caller's, so concurrent creates cannot deadlock.
    inline = sorted(
        {use.dataset for use in command.datasets if use.dataset is not None},
        key=lambda new: (new.name, new.version or "", new.digest or ""),
    )
    registered = {new: (await register(uow, new, actor, now))[0].id for new in inline}
    sources.update({NodeRef(NodeKind.DATASET, node_id): node_id for node_id in registered.values()})
    datasets = []
    for use in command.datasets:
        # NewVersion.validate: an id when there is no inline dataset
        dataset_id = registered[use.dataset] if use.dataset is not None else cast(int, use.dataset_id)
        edges.append(NewEdge(use.kind, NodeRef(NodeKind.DATASET, dataset_id), me))
        datasets.append({"dataset": dataset_id, "kind": use.kind.value})
    for parent, relation in parents:
        upstream = NodeRef(NodeKind.MODEL_VERSION, parent.id)
        edges.append(NewEdge(EdgeKind.DERIVED_FROM, upstream, me, relation))
        sources[upstream] = await uow.lineage.version_node(parent.id, actor, now)  # read again, locked: it exists
    await uow.lineage.link_new_version(version.id, await _distinct_edges(uow, edges, sources), actor, now)
    if datasets:
        linked["datasets"] = datasets
    if parents:
        linked["parents"] = [
            {"version": parent.id, "uri": label_of(parent), "relation": relation} for parent, relation in parents
        ]
    return linked


async def _distinct_edges(
    uow: UnitOfWork, edges: list[NewEdge], sources: dict[NodeRef, int]
) -> list[tuple[EdgeKind, int, str | None]]:
    """``(kind, upstream node, relation)`` of each distinct edge into a new version, checked as ``link`` checks
    them; ``sources`` holds the nodes known to exist, any other (a dataset named by id) is looked up."""
    first: dict[tuple[EdgeKind, NodeRef], NewEdge] = {}
    for edge in edges:
        edge.validate()
        seen = first.get((edge.kind, edge.upstream))
        if seen is not None:
            check_same_relation(edge, seen.relation)
            continue
        first[(edge.kind, edge.upstream)] = edge
        if edge.upstream not in sources:  # a dataset named by id
            node_id = await uow.lineage.node_id(edge.upstream)
            if node_id is None:
                raise NotFound(f"no {edge.upstream.kind.value} node has this id", field="id")
            sources[edge.upstream] = node_id
    return [(edge.kind, sources[edge.upstream], edge.relation) for edge in first.values()]


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

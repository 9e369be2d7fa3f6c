"""Lineage use cases that write: registering datasets, runs, code commits and external nodes, adding edges."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, overload

from app.domain.audit import AuditTarget
from app.domain.events import EventDraft, EventType
from app.domain.identity import Permission, Principal
from app.domain.lineage import CodeCommit, Dataset, ExternalNode, LineageEdge, NodeKind, Run, label_of
from app.domain.lineage_commands import NewCodeCommit, NewDataset, NewEdge, NewExternalNode, NewRun

from .audit import AuditTrail
from .common import utc_now
from .lineage_links import link, register
from .ports import ANYWHERE, Authorizer, Clock

_TYPES = {NewDataset: "Dataset", NewRun: "Run", NewCodeCommit: "CodeCommit", NewExternalNode: "ExternalNode"}
_ACTIONS = {
    NewDataset: "dataset.register",
    NewRun: "run.register",
    NewCodeCommit: "code_commit.register",
    NewExternalNode: "external_node.register",
}


def _identity(new: Any) -> str:
    if isinstance(new, NewDataset):
        return f"{new.name} {new.version or new.digest}"
    if isinstance(new, NewRun):
        return f"{new.tracker.value} run {new.run_id}"
    if isinstance(new, NewCodeCommit):
        return f"{new.repository_url}@{new.commit_sha}"
    return new.name


class LineageService:
    def __init__(self, authorizer: Authorizer, trail: AuditTrail, clock: Clock = utc_now) -> None:
        self._authorizer = authorizer
        self._trail = trail
        self._clock = clock

    @overload
    async def register(self, principal: Principal, new: NewDataset) -> tuple[Dataset, bool]: ...
    @overload
    async def register(self, principal: Principal, new: NewRun) -> tuple[Run, bool]: ...
    @overload
    async def register(self, principal: Principal, new: NewCodeCommit) -> tuple[CodeCommit, bool]: ...
    @overload
    async def register(self, principal: Principal, new: NewExternalNode) -> tuple[ExternalNode, bool]: ...
    async def register(
        self, principal: Principal, new: NewDataset | NewRun | NewCodeCommit | NewExternalNode
    ) -> tuple[Dataset | Run | CodeCommit | ExternalNode, bool]:
        """Register a node, or return the one already registered under the same identity (``created`` False).
        The same identity with a different value in a field both give is CONFLICT: nodes never change."""
        kind = type(new)
        target = AuditTarget(_TYPES[kind], None, _identity(new)[:256])
        async with self._trail.attempt(principal, _ACTIONS[kind], target) as attempt:
            self._authorizer.require(principal, Permission.LINEAGE_WRITE, ANYWHERE)  # shared nodes
            new.validate()
            new = new.canonical()
            async with attempt.transaction() as uow:
                node, created = await register(uow, new, principal.subject, self._clock())
                # A repeated registration changes nothing, and is recorded as such.
                attempt.record(
                    after={**asdict(new), "created": created},
                    target=AuditTarget(_TYPES[kind], str(node.id), label_of(node)[:256]),
                    events=[EventDraft(EventType.LINEAGE_CHANGED)],
                )
        return node, created

    async def add_edge(self, principal: Principal, edge: NewEdge) -> tuple[LineageEdge, bool]:
        """Link two nodes (upstream -> downstream); adding an existing edge returns it (``created`` False)."""
        target = AuditTarget("LineageEdge", None, edge.kind.value)
        async with self._trail.attempt(principal, "lineage.edge.add", target) as attempt:
            self._authorizer.require(principal, Permission.LINEAGE_WRITE, ANYWHERE)  # then where its versions are
            edge.validate()
            now = self._clock()
            async with attempt.transaction() as uow:
                # An edge to or from a model version is a change to that model's lineage: a role in its namespace
                ends = [ref.key for ref in (edge.upstream, edge.downstream) if ref.kind is NodeKind.MODEL_VERSION]
                for version in (await uow.versions.get_many(ends)).values() if ends else ():
                    self._authorizer.require(principal, Permission.LINEAGE_WRITE, version.model_name)
                source_id, target_id, created = await link(uow, edge, principal.subject, now)
                found = await uow.lineage.edge(edge.kind, source_id, target_id)
                attempt.record(
                    after={
                        "kind": edge.kind.value,
                        "relation": found.relation,
                        "created": created,
                        "upstream": _ref(found.upstream),
                        "downstream": _ref(found.downstream),
                    },
                    events=[EventDraft(EventType.LINEAGE_CHANGED)],
                )
        return found, created


def _ref(ref: Any) -> dict[str, Any]:
    return {"kind": ref.kind.value, "id": ref.key}

"""Transition requests, their decisions, and the stage history of versions."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.entities import ModelVersion, RegisteredModel, Stage
from app.domain.governance import (
    OPEN_STATUSES,
    Approval,
    Decision,
    GateResult,
    NewTransition,
    StageChange,
    TransitionFilter,
    TransitionKind,
    TransitionRequest,
    TransitionStatus,
)
from app.domain.queries import Direction, Page, PageRequest
from app.domain.read_scope import EVERYTHING, ReadScope

from ..governance_tables import StageChangeRow, TransitionDecisionRow, TransitionRequestRow
from ..pagination import SqlColumn, fetch_page
from ..read_scope import name_in_scope
from ..tables import ModelRow, VersionRow


def _gates(results: list[GateResult] | tuple[GateResult, ...]) -> list[dict]:
    return [{"gate": r.gate, "passed": r.passed, "detail": r.detail} for r in results]


def _request(row: TransitionRequestRow, model_name: str, version: int) -> TransitionRequest:
    return TransitionRequest(
        id=row.id,
        model_id=row.model_id,
        model_name=model_name,
        version_id=row.version_id,
        version=version,
        kind=TransitionKind(row.kind),
        from_stage=Stage(row.from_stage),
        to_stage=Stage(row.to_stage) if row.to_stage else None,
        alias=row.alias,
        status=TransitionStatus(row.status),
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        comment=row.comment,
        required_approvals=row.required_approvals,
        archive_existing_production=row.archive_existing_production,
        gate_results=tuple(GateResult(g["gate"], g["passed"], g["detail"]) for g in row.gate_results or ()),
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        resolution_comment=row.resolution_comment,
        production_versions=tuple(row.production_versions) if row.production_versions is not None else None,
        required_groups=tuple((str(group), int(count)) for group, count in row.required_groups or ()),
    )


def _change(row: StageChangeRow, model_name: str) -> StageChange:
    return StageChange(
        id=row.id,
        model_id=row.model_id,
        model_name=model_name,
        version=row.version,
        from_stage=Stage(row.from_stage),
        to_stage=Stage(row.to_stage),
        changed_at=row.changed_at,
        changed_by=row.changed_by,
        reason=row.reason,
        request_id=row.request_id,
    )


def _approval(row: TransitionDecisionRow) -> Approval:
    return Approval(
        row.id,
        row.request_id,
        row.approver,
        Decision(row.decision),
        row.comment,
        row.decided_at,
        tuple(row.approver_groups or ()),
    )


class SqlTransitionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def _select(self, *extra: SqlColumn) -> Select:
        return (
            select(TransitionRequestRow, ModelRow.name, VersionRow.version, *extra)
            .join(ModelRow, ModelRow.id == TransitionRequestRow.model_id)
            .join(VersionRow, VersionRow.id == TransitionRequestRow.version_id)
        )

    async def add(
        self,
        model: RegisteredModel,
        version: ModelVersion,
        new: NewTransition,
        required_approvals: int,
        gates: list[GateResult],
        actor: str,
        now: datetime,
        production_versions: Sequence[int] | None = None,
        required_groups: Sequence[tuple[str, int]] = (),
    ) -> TransitionRequest:
        row = TransitionRequestRow(
            model_id=model.id,
            version_id=version.id,
            kind=new.kind.value,
            from_stage=version.stage.value,
            to_stage=new.to_stage.value if new.to_stage else None,
            alias=new.alias,
            status=TransitionStatus.PENDING.value,
            requested_by=actor,
            requested_at=now,
            comment=new.comment,
            required_approvals=required_approvals,
            archive_existing_production=new.archive_existing_production,
            gate_results=_gates(gates),
            production_versions=list(production_versions) if production_versions is not None else None,
            required_groups=[[group, count] for group, count in required_groups] or None,
        )
        self._session.add(row)
        await self._session.flush()
        return _request(row, model.name, version.version)

    async def acknowledge_production(self, request_id: int, production_versions: Sequence[int]) -> None:
        """An approver approved the request again, seeing these versions in PRODUCTION: they are what it replaces."""
        await self._session.execute(
            update(TransitionRequestRow)
            .where(TransitionRequestRow.id == request_id)
            .values(production_versions=list(production_versions))
        )

    async def get(self, request_id: int) -> TransitionRequest | None:
        query = self._select().where(TransitionRequestRow.id == request_id).execution_options(populate_existing=True)
        row = (await self._session.execute(query)).first()
        return _request(*row) if row else None

    async def get_many(self, ids: list[int]) -> dict[int, TransitionRequest]:
        rows = await self._session.execute(self._select().where(TransitionRequestRow.id.in_(ids)))
        return {row[0].id: _request(*row) for row in rows}

    async def open_duplicate(self, version_id: int, new: NewTransition) -> int | None:
        """The id of an open request for the same version and target, if any."""
        if new.kind is TransitionKind.ALIAS:
            target = TransitionRequestRow.alias == new.alias
        else:
            assert new.to_stage is not None, "a STAGE request names its target stage"
            target = TransitionRequestRow.to_stage == new.to_stage.value
        query = select(TransitionRequestRow.id).where(
            TransitionRequestRow.version_id == version_id,
            TransitionRequestRow.kind == new.kind.value,
            target,
            TransitionRequestRow.status.in_([s.value for s in OPEN_STATUSES]),
        )
        return (await self._session.execute(query.limit(1))).scalar_one_or_none()

    async def resolve(
        self,
        request_id: int,
        status: TransitionStatus,
        gates: list[GateResult] | None = None,
        *,
        by: str | None = None,
        at: datetime | None = None,
        comment: str | None = None,
    ) -> None:
        values: dict[str, object] = {"status": status.value}
        if gates is not None:
            values["gate_results"] = _gates(gates)
        if at is not None:
            values.update(resolved_at=at, resolved_by=by, resolution_comment=comment)
        await self._session.execute(
            update(TransitionRequestRow).where(TransitionRequestRow.id == request_id).values(**values)
        )

    async def add_decision(
        self,
        request_id: int,
        approver: str,
        decision: Decision,
        comment: str | None,
        now: datetime,
        groups: Sequence[str] = (),
    ) -> None:
        self._session.add(
            TransitionDecisionRow(
                request_id=request_id,
                approver=approver,
                decision=decision.value,
                comment=comment,
                decided_at=now,
                approver_groups=list(groups) or None,
            )
        )
        await self._session.flush()

    async def decisions(self, request_ids: list[int]) -> dict[int, list[Approval]]:
        """Each request's decisions, oldest first."""
        result: dict[int, list[Approval]] = {request_id: [] for request_id in request_ids}
        query = (
            select(TransitionDecisionRow)
            .where(TransitionDecisionRow.request_id.in_(request_ids))
            .order_by(TransitionDecisionRow.decided_at, TransitionDecisionRow.id)
        )
        for row in (await self._session.execute(query)).scalars():
            result[row.request_id].append(_approval(row))
        return result

    async def decisions_by_id(self, ids: list[int]) -> dict[int, Approval]:
        query = select(TransitionDecisionRow).where(TransitionDecisionRow.id.in_(ids))
        return {row.id: _approval(row) for row in (await self._session.execute(query)).scalars()}

    async def list(
        self, filter: TransitionFilter, page: PageRequest, with_total: bool, scope: ReadScope = EVERYTHING
    ) -> Page[TransitionRequest]:
        conditions = name_in_scope(ModelRow.name, scope)
        if filter.model_name is not None:
            conditions.append(ModelRow.name == filter.model_name)
        if filter.version is not None:
            conditions.append(VersionRow.version == filter.version)
        if filter.version_id is not None:
            conditions.append(TransitionRequestRow.version_id == filter.version_id)
        if filter.statuses:
            conditions.append(TransitionRequestRow.status.in_([s.value for s in filter.statuses]))
        if filter.requested_by is not None:
            conditions.append(TransitionRequestRow.requested_by == filter.requested_by)
        if filter.to_stage is not None:
            conditions.append(TransitionRequestRow.to_stage == filter.to_stage.value)
        if filter.alias is not None:
            conditions.append(TransitionRequestRow.alias == filter.alias)
        sort_key = TransitionRequestRow.requested_at
        return await fetch_page(
            self._session,
            self._select(sort_key).where(*conditions),
            list_name="transition-requests",
            sort_key=sort_key,
            id_column=TransitionRequestRow.id,
            direction=Direction.DESC,
            page=page,
            with_total=with_total,
            convert=lambda row: _request(row[0], row[1], row[2]),
        )

    # Stage history.

    async def record_stage_change(self, change: StageChange) -> None:
        self._session.add(
            StageChangeRow(
                model_id=change.model_id,
                version=change.version,
                from_stage=change.from_stage.value,
                to_stage=change.to_stage.value,
                changed_at=change.changed_at,
                changed_by=change.changed_by,
                reason=change.reason,
                request_id=change.request_id,
            )
        )
        await self._session.flush()

    async def stage_history(self, version_ids: builtins.list[int]) -> dict[int, builtins.list[StageChange]]:
        """Each version's stage moves, newest first."""
        result: dict[int, list[StageChange]] = {version_id: [] for version_id in version_ids}
        query = (
            self._changes(VersionRow.id)
            .join(
                VersionRow,
                and_(VersionRow.model_id == StageChangeRow.model_id, VersionRow.version == StageChangeRow.version),
            )
            .where(VersionRow.id.in_(version_ids))
            .order_by(StageChangeRow.changed_at.desc(), StageChangeRow.id.desc())
        )
        for row, model_name, version_id in await self._session.execute(query):
            result[version_id].append(_change(row, model_name))
        return result

    async def stage_changes_by_id(self, ids: builtins.list[int]) -> dict[int, StageChange]:
        rows = await self._session.execute(self._changes().where(StageChangeRow.id.in_(ids)))
        return {row.id: _change(row, model_name) for row, model_name in rows}

    async def model_history(self, model_id: int, until: datetime | None = None) -> builtins.list[StageChange]:
        """A model's stage moves in the order they happened (up to and including ``until``)."""
        query = self._changes().where(StageChangeRow.model_id == model_id)
        if until is not None:
            query = query.where(StageChangeRow.changed_at <= until)
        query = query.order_by(StageChangeRow.changed_at, StageChangeRow.id)
        return [_change(row, model_name) for row, model_name in await self._session.execute(query)]

    def _changes(self, *extra: SqlColumn) -> Select:
        """Stage changes with their model's name."""
        return select(StageChangeRow, ModelRow.name, *extra).join(ModelRow, ModelRow.id == StageChangeRow.model_id)

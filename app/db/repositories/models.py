"""Registered models and their tags."""

from __future__ import annotations

import builtins
from collections.abc import Collection
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Integer, Table, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.commands import ModelChanges, NewModel
from app.domain.entities import RegisteredModel
from app.domain.errors import Conflict
from app.domain.queries import ModelFilter, ModelOrder, ModelOrderField, Page, PageRequest
from app.domain.read_scope import EVERYTHING, ReadScope

from ..filters import tag_conditions, text_conditions, time_conditions
from ..mapping import to_model
from ..pagination import fetch_page
from ..prepared import PreparedRead, PreparedWrite
from ..prepared_rows import PreparedUpsert
from ..read_scope import name_in_scope
from ..relation_arrays import MODEL_RELATIONS, relation_names, relations_of, with_relations
from ..sessions import dialect_name, rowcount
from ..tables import AliasRow, ModelRow, ModelTagRow, VersionRow

_MODELS = ModelRow.__table__
_TAGS = ModelTagRow.__table__
_IDS = bindparam("ids", type_=Integer(), expanding=True)
# Reads select Core rows; the hot statements are built once (see versions.py).
_MODEL_ROWS = select(*_MODELS.c)
_BY_NAME = PreparedRead(_MODEL_ROWS.where(_MODELS.c.name == bindparam("name")))
_BY_NAME_LOCKED = PreparedRead(_BY_NAME.statement.with_for_update())  # SQLite: BEGIN IMMEDIATE holds the lock
# PostgreSQL: a model by name with relations of it, per combination of relations asked for (at most three).
_BY_NAME_WITH: dict[tuple[str, ...], PreparedRead] = {}
_BY_IDS = PreparedRead(_MODEL_ROWS.where(_MODELS.c.id.in_(_IDS)))
_TAGS_OF = PreparedRead(select(_TAGS.c.model_id, _TAGS.c.key, _TAGS.c.value).where(_TAGS.c.model_id.in_(_IDS)))
_SET_TAG = PreparedUpsert(_TAGS, ["value"])
_BY_ID = _MODELS.c.id == bindparam("model_id")
_TOUCH = PreparedWrite(update(cast(Table, _MODELS)).where(_BY_ID).values(updated_at=bindparam("changed_at")))
_NEXT_NUMBER = PreparedWrite(
    update(cast(Table, _MODELS))
    .where(_BY_ID)
    .values(next_version=_MODELS.c.next_version + 1, updated_at=bindparam("changed_at"))
    .returning(_MODELS.c.next_version)
)
# The model's row with a version number taken: the UPDATE locks the row as FOR UPDATE would.
_NUMBER_BY_NAME = PreparedWrite(
    update(cast(Table, _MODELS))
    .where(_MODELS.c.name == bindparam("model_name"))
    .values(next_version=_MODELS.c.next_version + 1, updated_at=bindparam("changed_at"))
    .returning(*_MODELS.c)
)

_ORDER_COLUMNS = {
    ModelOrderField.NAME: ModelRow.name,
    ModelOrderField.CREATED_AT: ModelRow.created_at,
    ModelOrderField.UPDATED_AT: ModelRow.updated_at,
}


class SqlModelRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, command: NewModel, owner: str, actor: str, now: datetime) -> RegisteredModel:
        row = ModelRow(
            name=command.name,
            description=command.description,
            owner=owner,
            created_at=now,
            created_by=actor,
            updated_at=now,
            next_version=1,
            use_case=command.use_case,
            risk_tier=command.risk_tier.value if command.risk_tier else None,
            regulatory_status=command.regulatory_status.value if command.regulatory_status else None,
        )
        self._session.add(row)
        try:
            await self._session.flush()
        except IntegrityError:
            raise Conflict(f"registered model {command.name!r} already exists", field="name") from None
        self._session.add_all(ModelTagRow(model_id=row.id, key=k, value=v) for k, v in command.tags.items())
        await self._session.flush()
        return to_model(row)

    async def get_by_name(self, name: str, *, for_update: bool = False) -> RegisteredModel | None:
        row = await (_BY_NAME_LOCKED if for_update else _BY_NAME).first(self._session, {"name": name})
        return to_model(row) if row else None

    async def get_by_name_with(
        self, name: str, names: Collection[str]
    ) -> tuple[RegisteredModel | None, dict[str, dict[int, Any]]]:
        """The model named ``name`` and, on PostgreSQL (where each statement is a round trip), the relations
        ``names`` of it (tags, aliases) read in the same statement: ``{relation: {model id: value}}``. Elsewhere none
        are read: the caller reads them on their own."""
        ordered = relation_names(MODEL_RELATIONS, names, "models")
        if not ordered or dialect_name(self._session) != "postgresql":
            return await self.get_by_name(name), {}
        read = _BY_NAME_WITH.get(ordered)
        if read is None:
            read = _BY_NAME_WITH[ordered] = PreparedRead(
                with_relations(_BY_NAME.statement, _MODELS.c.id, MODEL_RELATIONS, ordered)
            )
        row = await read.first(self._session, {"name": name})
        if row is None:
            return None, {}
        model = to_model(row)
        return model, {
            relation: {model.id: value} for relation, value in relations_of(row, MODEL_RELATIONS, ordered).items()
        }

    async def get_many(self, ids: list[int]) -> dict[int, RegisteredModel]:
        return {row.id: to_model(row) for row in await _BY_IDS.all(self._session, {"ids": ids})}

    async def update(self, model_id: int, changes: ModelChanges, now: datetime) -> RegisteredModel:
        values: dict[str, object] = {"updated_at": now}
        if changes.description is not None:
            values["description"] = changes.description
        if changes.owner is not None:
            values["owner"] = changes.owner
        if changes.use_case is not None:
            values["use_case"] = changes.use_case
        if changes.risk_tier is not None:
            values["risk_tier"] = changes.risk_tier.value
        if changes.regulatory_status is not None:
            values["regulatory_status"] = changes.regulatory_status.value
        await self._session.execute(update(ModelRow).where(ModelRow.id == model_id).values(**values))
        return await self._reload(model_id)

    async def touch(self, model_id: int, now: datetime) -> RegisteredModel:
        await _TOUCH.run(self._session, {"model_id": model_id, "changed_at": now})
        return await self._reload(model_id)

    async def _reload(self, model_id: int) -> RegisteredModel:
        (row,) = await _BY_IDS.all(self._session, {"ids": [model_id]})
        return to_model(row)

    async def delete(self, model_id: int) -> None:
        """Delete the model with its aliases and versions (their tags and metrics cascade)."""
        await self._session.execute(delete(AliasRow).where(AliasRow.model_id == model_id))
        await self._session.execute(delete(VersionRow).where(VersionRow.model_id == model_id))
        await self._session.execute(delete(ModelRow).where(ModelRow.id == model_id))

    async def allocate_version_number(self, model_id: int, now: datetime) -> int:
        """Take the model's next version number and mark the model updated. The row update also serializes
        concurrent creators."""
        (row,) = await _NEXT_NUMBER.run(self._session, {"model_id": model_id, "changed_at": now})
        return cast(int, row.next_version) - 1

    async def allocate_version_number_by_name(self, name: str, now: datetime) -> tuple[RegisteredModel, int] | None:
        """Lock the model named ``name`` and take its next version number, in one statement: the model (as
        updated at ``now``) and the number, or None when there is no such model."""
        rows = await _NUMBER_BY_NAME.run(self._session, {"model_name": name, "changed_at": now})
        if not rows:
            return None
        return to_model(rows[0]), cast(int, rows[0].next_version) - 1

    async def list(
        self,
        filter: ModelFilter,
        order: ModelOrder,
        page: PageRequest,
        with_total: bool,
        scope: ReadScope = EVERYTHING,
    ) -> Page[RegisteredModel]:
        sort_key = _ORDER_COLUMNS[order.field]
        conditions = [
            *name_in_scope(ModelRow.name, scope),
            *text_conditions(ModelRow.name, filter.name),
            *tag_conditions(ModelTagRow, ModelRow.id, "model_id", filter.tags),
            *time_conditions(ModelRow.created_at, filter.created),
            *text_conditions(ModelRow.use_case, filter.use_case),
        ]
        if filter.risk_tiers:
            conditions.append(ModelRow.risk_tier.in_([tier.value for tier in filter.risk_tiers]))
        if filter.regulatory_statuses:
            conditions.append(ModelRow.regulatory_status.in_([s.value for s in filter.regulatory_statuses]))
        if filter.owner is not None:
            conditions.append(ModelRow.owner == filter.owner)
        if filter.created_by is not None:
            conditions.append(ModelRow.created_by == filter.created_by)
        query = _MODEL_ROWS.add_columns(sort_key).where(*conditions)
        return await fetch_page(
            self._session,
            query,
            list_name=f"models/{order.field.value}",
            sort_key=sort_key,
            id_column=ModelRow.id,
            direction=order.direction,
            page=page,
            with_total=with_total,
            convert=to_model,
            row_id=lambda row: row.id,
        )

    async def tags(self, model_ids: builtins.list[int]) -> dict[int, dict[str, str]]:
        result: dict[int, dict[str, str]] = {model_id: {} for model_id in model_ids}
        for model_id, key, value in await _TAGS_OF.tuples(self._session, {"ids": model_ids}):
            result[model_id][key] = value
        return result

    async def set_tag(self, model_id: int, key: str, value: str) -> None:
        await _SET_TAG.run(self._session, {"model_id": model_id, "key": key, "value": value})

    async def delete_tag(self, model_id: int, key: str) -> bool:
        result = await self._session.execute(
            delete(ModelTagRow).where(ModelTagRow.model_id == model_id, ModelTagRow.key == key)
        )
        return rowcount(result) > 0

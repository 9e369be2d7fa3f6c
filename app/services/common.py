"""Lookups and checks that several use cases share."""

from __future__ import annotations

from datetime import UTC, datetime

from app.domain.entities import ModelVersion, RegisteredModel
from app.domain.errors import NotFound
from app.domain.uris import ModelUri

from .ports import UnitOfWork


def utc_now() -> datetime:
    return datetime.now(UTC)


async def find_model(uow: UnitOfWork, name: str, *, for_update: bool = False) -> RegisteredModel:
    """The model named ``name``, else NOT_FOUND. ``for_update`` locks its row until the transaction ends: every
    write that reads a model's state and then changes something under it (a version, an alias, a tag) takes this
    lock first, so racing writers of one model take turns instead of failing inside the database (a first-time
    tag or alias inserted twice, a version deleted while an alias is set on it). SQLite serialises writers anyway."""
    model = await uow.models.get_by_name(name, for_update=for_update)
    if model is None:
        raise _no_model(name)
    return model


def _no_model(name: str) -> NotFound:
    return NotFound(f"registered model {name!r} does not exist", field="name")


async def find_version(
    uow: UnitOfWork, name: str, version: int, *, for_update: bool = False
) -> tuple[RegisteredModel, ModelVersion]:
    """The model and its version, else NOT_FOUND naming what is missing; ``for_update`` locks the model's row first
    (see ``find_model``). A change that writes an event uses ``find_version_to_change``, which also brings the
    version's alias names when that saves a read."""
    model, found, _ = await _model_version(uow, name, version, for_update=for_update, with_aliases=False)
    return model, found


async def find_version_to_change(
    uow: UnitOfWork, name: str, version: int
) -> tuple[RegisteredModel, ModelVersion, tuple[str, ...] | None]:
    """The model, locked, and its version, with the version's alias names when they came along (the events of a
    change carry them; None leaves them to the event outbox)."""
    return await _model_version(uow, name, version, for_update=True, with_aliases=True)


async def _model_version(
    uow: UnitOfWork, name: str, version: int, *, for_update: bool, with_aliases: bool
) -> tuple[RegisteredModel, ModelVersion, tuple[str, ...] | None]:
    model, found, aliases = await uow.versions.find_with_model(
        name, version, for_update=for_update, with_aliases=with_aliases
    )
    if model is None:
        raise _no_model(name)
    if found is None:
        raise NotFound(f"model {name!r} has no version {version}", field="version")
    return model, found, aliases


async def version_at_uri(uow: UnitOfWork, parsed: ModelUri) -> ModelVersion:
    """The version a parsed ``models:/`` URI points at now; NOT_FOUND says which part is missing."""
    model = await find_model(uow, parsed.name)
    if parsed.version is not None:
        return (await find_version(uow, parsed.name, parsed.version))[1]
    if parsed.alias is not None:
        alias = await uow.aliases.get(model.id, parsed.alias)
        if alias is None:
            raise NotFound(f"model {parsed.name!r} has no alias {parsed.alias!r}", field="uri")
        return (await find_version(uow, parsed.name, alias.version))[1]
    latest = (await uow.versions.latest([model.id], parsed.stage)).get(model.id)
    if latest is None:
        where = f"in stage {parsed.stage.value}" if parsed.stage else "at all"
        raise NotFound(f"model {parsed.name!r} has no version {where}", field="uri")
    return latest

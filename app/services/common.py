"""Lookups and checks that several use cases share."""

from __future__ import annotations

from datetime import datetime, timezone

from app.domain.entities import ModelVersion, RegisteredModel
from app.domain.errors import BadUserInput, NotFound
from app.domain.queries import PageRequest

from .ports import UnitOfWork


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


async def find_model(uow: UnitOfWork, name: str, *, for_update: bool = False) -> RegisteredModel:
    model = await uow.models.get_by_name(name, for_update=for_update)
    if model is None:
        raise NotFound(f"registered model {name!r} does not exist", field="name")
    return model


async def find_version(uow: UnitOfWork, name: str, version: int) -> tuple[RegisteredModel, ModelVersion]:
    model = await find_model(uow, name)
    found = await uow.versions.get(model.id, version)
    if found is None:
        raise NotFound(f"model {name!r} has no version {version}", field="version")
    return model, found


def check_page(page: PageRequest, max_page_size: int) -> PageRequest:
    if not 0 <= page.first <= max_page_size:
        raise BadUserInput(f"first must be between 0 and {max_page_size}", field="first")
    return page

"""What the MLflow endpoints answer with: models and versions read through the read service, as MLflow messages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from app.domain.entities import ModelVersion, RegisteredModel, Stage
from app.domain.identity import Principal
from app.domain.queries import Page, PageRequest
from app.services.reads import ReadService

from .messages import model_message, version_message

T = TypeVar("T")


async def version_messages(
    reads: ReadService, principal: Principal, versions: list[ModelVersion]
) -> list[dict[str, Any]]:
    ids = [version.id for version in versions]
    if not ids:
        return []
    tags = await reads.version_tags(principal, ids)
    aliases = await reads.version_aliases(principal, ids)
    sources = await reads.version_sources(principal, ids)
    return [version_message(v, tags.get(v.id, {}), aliases.get(v.id, []), sources.get(v.id)) for v in versions]


async def latest_per_stage(
    reads: ReadService, principal: Principal, model_ids: list[int], stages: list[Stage] | None = None
) -> dict[int, list[ModelVersion]]:
    """Per model, its newest version in each stage (all four unless ``stages``), in stage order."""
    wanted: list[Stage] = stages or list(Stage)
    keys: list[tuple[int, Stage | None]] = [(model_id, stage) for model_id in model_ids for stage in wanted]
    newest = await reads.latest_versions_in_stages(principal, keys)
    return {
        model_id: [newest[(model_id, stage)] for stage in wanted if (model_id, stage) in newest]
        for model_id in model_ids
    }


async def model_messages(
    reads: ReadService, principal: Principal, models: list[RegisteredModel]
) -> list[dict[str, Any]]:
    ids = [model.id for model in models]
    if not ids:
        return []
    tags = await reads.model_tags(principal, ids)
    aliases = await reads.model_aliases(principal, ids)
    latest = await latest_per_stage(reads, principal, ids)
    everyone = [version for versions in latest.values() for version in versions]
    by_id = dict(zip([v.id for v in everyone], await version_messages(reads, principal, everyone), strict=True))
    return [
        model_message(m, tags.get(m.id, {}), aliases.get(m.id, []), [by_id[v.id] for v in latest.get(m.id, [])])
        for m in models
    ]


async def collect(
    fetch: Callable[[PageRequest], Awaitable[Page[T]]], max_results: int, page_size: int, token: str | None
) -> tuple[list[T], str | None]:
    """Up to ``max_results`` items from ``token`` on, fetched a page of at most ``page_size`` at a time (MLflow's
    clients ask for up to 10,000 versions at once), and the token of what follows, if anything does."""
    items: list[T] = []
    after = token or None
    while len(items) < max_results:
        page = await fetch(PageRequest(first=min(page_size, max_results - len(items)), after=after))
        items.extend(item for _, item in page.items)
        if not page.items or not page.has_next_page:
            return items, None
        after = page.items[-1][0]
    return items, after

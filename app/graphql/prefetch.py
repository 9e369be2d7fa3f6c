"""Look-ahead loading for lists of models and versions.

A resolver that fetched models or versions reads right away, one batch per relation, the nested fields the query
selected on them (tags, aliases, newest versions, metrics), through the request's loaders (``read_ahead``) and so
through the same reads and authorization as the fields themselves (the relations of one kind of owner together: one
statement on PostgreSQL). The nested fields then find their data in the
loader's ``ready`` dict and answer synchronously with ``loaded()``: no coroutine, task or future per field, which
were a third of a catalogue page's CPU. Fields that were not read ahead still work, one batch per field as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLResolveInfo,
    InlineFragmentNode,
    NullValueNode,
    VariableNode,
)

from app.domain import entities

from .context import BatchLoader, Info, RelationLoaders
from .execution import NOT_READY, READY_ANSWER

K = TypeVar("K")
T = TypeVar("T")
R = TypeVar("R")
MaybeAwaitable: TypeAlias = R | Awaitable[R]


def loaded(loader: BatchLoader[K, T], key: K, convert: Callable[[T], R]) -> MaybeAwaitable[R]:
    """``convert`` of ``key``'s value: at once when it was read ahead, else once the loader has loaded it."""
    ready = loader.ready
    if key in ready:
        return convert(ready[key])

    async def later() -> R:
        return convert(await loader.load(key))

    return later()


@dataclass(frozen=True, slots=True)
class LoadedRelation:
    """A relation field of a model or version, answered from the request's loader named ``loader`` (an attribute of
    ``Loaders``) by the source's entity id, as ``convert`` of the loaded value.

    Its resolver returns ``answer(self, info)``. Given as the field's metadata (``metadata``), it also lets the
    executor answer a value that was read ahead without calling the resolver (execution.py, ``READY_ANSWER``): the
    same value, without the resolver's Info and call, for each of a page's 400 relation fields."""

    loader: str
    convert: Callable[[Any], Any]

    @property
    def metadata(self) -> dict[str, Any]:
        return {READY_ANSWER: self}

    def answer(self, source: Any, info: Info) -> MaybeAwaitable[Any]:
        return loaded(getattr(info.context.loaders, self.loader), source.entity.id, self.convert)

    def ready(self, context: Any, source: Any) -> Any:
        """The value if it was read ahead, else ``NOT_READY``."""
        ready = getattr(context.loaders, self.loader).ready
        key = source.entity.id
        return self.convert(ready[key]) if key in ready else NOT_READY


def _fields(raw: GraphQLResolveInfo, nodes: Iterable[Any]) -> Iterator[FieldNode]:
    """The field nodes selected directly in ``nodes``' selection sets, through fragments."""
    for node in nodes:
        if node.selection_set is None:
            continue
        for selection in node.selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from _fields(raw, [selection])
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value in raw.fragments:
                yield from _fields(raw, [raw.fragments[selection.name.value]])


def selected(info: Info, *path: str) -> list[FieldNode]:
    """The fields selected under the current field, following ``path`` (for a connection: ``"edges", "node"``)."""
    raw = info._raw_info
    nodes: list[Any] = list(raw.field_nodes)
    for name in path:
        nodes = [field for field in _fields(raw, nodes) if field.name.value == name]
    return list(_fields(raw, nodes))


def _stage(info: Info, field: FieldNode) -> entities.Stage | None:
    """The ``stage`` argument of a ``latestVersion`` field (None when absent or null)."""
    for argument in field.arguments or ():
        if argument.name.value != "stage":
            continue
        value = argument.value
        if isinstance(value, NullValueNode):
            return None
        if isinstance(value, VariableNode):
            values: Any = info._raw_info.variable_values  # typed VariableValues; a dict under Strawberry's executor
            given = getattr(values, "coerced", values).get(value.name.value)
            given = getattr(given, "value", given)
            return entities.Stage(given) if given is not None else None
        return entities.Stage(getattr(value, "value", None))
    return None


def _read_selected(fields: list[FieldNode], ids: list[int], relations: RelationLoaders) -> Awaitable[None]:
    """Read ``ids`` ahead into the loader of each relation field among ``fields`` (together: one statement on
    PostgreSQL, where each is a round trip)."""
    return relations.read_ahead(ids, [field.name.value for field in fields])


async def models_loaded(info: Info, models: list[entities.RegisteredModel], fields: list[FieldNode]) -> None:
    """Load what ``fields`` (selected on each of ``models``) need: their relations, and the newest versions with
    theirs."""
    if not models:
        return
    loaders = info.context.loaders
    ids = [model.id for model in models]
    latest_fields = [field for field in fields if field.name.value == "latestVersion"]
    keys = list(dict.fromkeys((model_id, _stage(info, field)) for field in latest_fields for model_id in ids))
    related = _read_selected(fields, ids, loaders.model_relations)  # after anything that may raise: it is awaited
    if not keys:
        await related
        return
    version_fields = list(_fields(info._raw_info, latest_fields))
    names = [field.name.value for field in version_fields]
    _, newest = await asyncio.gather(related, loaders.newest_versions(keys, names))
    versions = list({version.id: version for version in newest if version is not None}.values())
    await versions_loaded(info, versions, version_fields)  # what the newest versions' read did not read with them


async def versions_loaded(info: Info, versions: list[entities.ModelVersion], fields: list[FieldNode]) -> None:
    """Load the relations ``fields`` (selected on each of ``versions``) need."""
    if not versions:
        return
    await _read_selected(fields, [version.id for version in versions], info.context.loaders.version_relations)

"""Global object ids, the Node interface, and cursor connections."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import strawberry

from app.domain.errors import BadUserInput
from app.domain.queries import Page

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 20


def to_global_id(type_name: str, key: int) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode().rstrip("="))


_KEY = re.compile(r"[1-9][0-9]{0,18}")


def from_global_id(global_id: str) -> tuple[str, int]:
    """The (type name, key) inside a global id; anything not made by ``to_global_id`` is BAD_USER_INPUT."""
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
        type_name, _, key = raw.partition(":")
        if not _KEY.fullmatch(key) or int(key) > 2**63 - 1:
            raise ValueError("key out of range")
        return type_name, int(key)
    except (ValueError, UnicodeDecodeError):
        raise BadUserInput(f"id {global_id[:100]!r} is not an id this server handed out", field="id") from None


@strawberry.interface(description="An object with a globally unique, opaque id; fetch any of them with `node(id:)`.")
class Node:
    if TYPE_CHECKING:
        # For type checkers a read-only property: implementations either declare `id` as a field (lineage nodes)
        # or resolve it from their entity, and are built without an `id` argument.
        @property
        def id(self) -> strawberry.ID: ...
    else:
        id: strawberry.ID = strawberry.field(description="Globally unique opaque id of this object.")


@strawberry.type(description="Where a page of a connection sits in the whole list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when more items follow `endCursor`.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` to get the next page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item of this page.")
    has_previous_page: bool = strawberry.field(
        default=False, description="True when this page was fetched with `after` (items precede it)."
    )


@strawberry.type(description="One item of a connection with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque position of this item; pass as `after` to continue here.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of items with cursors (forward pagination with `first` and `after`).")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The items of this page, in order.")
    page_info: PageInfo = strawberry.field(description="Cursors and whether more items follow.")
    total_count: int | None = strawberry.field(
        description="Number of items matching the filter across all pages (computed only when asked for)."
    )

    @strawberry.field(description="The items of this page without their cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


def to_connection(page: Page[Any], convert: Callable[[Any], Any], had_cursor: bool) -> Connection[Any]:
    edges = [Edge(cursor=cursor, node=convert(item)) for cursor, item in page.items]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            end_cursor=edges[-1].cursor if edges else None,
            start_cursor=edges[0].cursor if edges else None,
            has_previous_page=had_cursor,
        ),
        total_count=page.total_count,
    )


def wants_total(info: strawberry.Info) -> bool:
    """Whether the query selected ``totalCount``, so counting is skipped when nobody asked."""

    def search(selections: list) -> bool:
        for selection in selections:
            name = getattr(selection, "name", None)  # fields; fragments have type_condition instead
            if name == "totalCount" or (not hasattr(selection, "arguments") and search(selection.selections)):
                return True
        return False

    return any(search(field.selections) for field in info.selected_fields)

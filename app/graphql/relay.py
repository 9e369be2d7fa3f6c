"""Global object ids, the Node interface, and cursor connections."""

from __future__ import annotations

import base64
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

import strawberry

from app.domain.errors import BadUserInput
from app.domain.public_ids import global_id
from app.domain.queries import DEFAULT_PAGE_SIZE, Page, PageRequest, check_page

T = TypeVar("T")


def to_global_id(type_name: str, key: int | str) -> strawberry.ID:
    return strawberry.ID(global_id(type_name, key))


_KEY = re.compile(r"[1-9][0-9]{0,18}")


def _not_ours(global_id: str) -> BadUserInput:
    return BadUserInput(f"id {global_id[:100]!r} is not an id this server handed out", field="id")


def split_global_id(global_id: str) -> tuple[str, str]:
    """The (type name, key text) inside a global id; anything not made by ``to_global_id`` is BAD_USER_INPUT."""
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise _not_ours(global_id) from None
    type_name, colon, key = raw.partition(":")
    if not colon or not key:
        raise _not_ours(global_id)
    return type_name, key


def from_global_id(global_id: str) -> tuple[str, int]:
    """The (type name, row key) inside a global id; anything else is BAD_USER_INPUT."""
    type_name, key = split_global_id(global_id)
    if not _KEY.fullmatch(key) or int(key) > 2**63 - 1:
        raise _not_ours(global_id)
    return type_name, int(key)


@strawberry.interface(description="An object with a globally unique, opaque id; fetch any of them with `node(id:)`.")
class Node:
    if TYPE_CHECKING:
        # For type checkers a read-only property: implementations either declare `id` as a field (lineage nodes)
        # or resolve it from their entity, and are built without an `id` argument.
        @property
        def id(self) -> strawberry.ID: ...
    else:
        id: strawberry.ID = strawberry.field(description="Globally unique opaque id of this object.")


# How ``node(id:)`` finds an object of each type: the module defining a Node type registers a fetcher taking the
# request's Info and the key inside the global id (a row key, or the key text for types registered with
# ``text_key``), answering None when there is no such object.
NodeFetcher = Callable[[Any, Any], Awaitable[Any]]
_NODE_FETCHERS: dict[str, tuple[NodeFetcher, bool]] = {}


def fetches_node(type_name: str, *, text_key: bool = False) -> Callable[[NodeFetcher], NodeFetcher]:
    """Register the decorated function as how ``node(id:)`` finds objects of ``type_name``."""

    def register(fetch: NodeFetcher) -> NodeFetcher:
        if type_name in _NODE_FETCHERS:
            raise RuntimeError(f"two node fetchers for {type_name}")
        _NODE_FETCHERS[type_name] = (fetch, text_key)
        return fetch

    return register


async def fetch_node(info: Any, global_id: str) -> Any:
    """The object a global id names, or None when there is none. Every fetcher checks the caller's permission;
    an id of a type the server does not have is checked as a registry read, then answers None."""
    type_name, key_text = split_global_id(global_id)
    fetch, text_key = _NODE_FETCHERS.get(type_name, (None, False))
    if fetch is None:
        await info.context.services.reads.check_readable(info.context.principal)
        return None
    return await fetch(info, key_text if text_key else from_global_id(global_id)[1])


def node_type_names() -> list[str]:
    """The types ``node(id:)`` can answer with (for tests that check every Node type is reachable)."""
    return sorted(_NODE_FETCHERS)


@strawberry.type(description="Where a page of a connection sits in the whole list.")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="True when more items follow `endCursor` (for a page taken with `last`: when it was taken "
        "`before` a cursor)."
    )
    has_previous_page: bool = strawberry.field(
        description="True when more items precede `startCursor` (for a page taken with `first`: when it was taken "
        "`after` a cursor)."
    )
    start_cursor: str | None = strawberry.field(description="Pass as `before` to get the previous page.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` to get the next page.")


@strawberry.type(description="One item of a connection with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(
        description="Opaque position of this item in its list; pass as `after` or `before` to page from here."
    )
    node: T = strawberry.field(description="The item.")


@strawberry.type(
    description="A page of items with cursors: `first` items `after` a cursor, or the `last` items `before` one."
)
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The items of this page, in order.")
    page_info: PageInfo = strawberry.field(description="Cursors and whether more items follow.")
    total_count: int | None = strawberry.field(
        description="Number of items matching the filter across all pages (computed only when asked for)."
    )

    @strawberry.field(description="The items of this page without their cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


# The four paging arguments every connection field takes, described once.
First = Annotated[
    int | None,
    strawberry.argument(description=f"Page size from the start (at most 100); absent or null: {DEFAULT_PAGE_SIZE}."),
]
After = Annotated[str | None, strawberry.argument(description="Items after this cursor (`endCursor` of a page).")]
Last = Annotated[int | None, strawberry.argument(description="Page size from the end (at most 100); not with `first`.")]
Before = Annotated[str | None, strawberry.argument(description="Items before this cursor (`startCursor` of a page).")]


def page_request(first: int | None, after: str | None, last: int | None, before: str | None) -> PageRequest:
    """The paging arguments of a connection field as one request (the service checks the sizes)."""
    return PageRequest(first=first, after=after, last=last, before=before)


def to_connection(page: Page[Any], convert: Callable[[Any], Any]) -> Connection[Any]:
    edges = [Edge(cursor=cursor, node=convert(item)) for cursor, item in page.items]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=page.total_count,
    )


def _list_cursor(list_name: str, position: int) -> str:
    return base64.urlsafe_b64encode(f"{list_name}#{position}".encode()).decode().rstrip("=")


def _list_position(cursor: str, list_name: str, argument: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        owner, _, position = raw.rpartition("#")
        if owner != list_name or not position.isdigit() or len(position) > 9:
            raise ValueError("a cursor of another list")
        return int(position)
    except (ValueError, UnicodeDecodeError):
        raise BadUserInput(
            f"{argument} is not a cursor of this list: pass a cursor from a page of the same field",
            field=argument,
        ) from None


def connection_from_list(
    items: Sequence[T], list_name: str, page: PageRequest, *, newest_first: bool = False, max_page_size: int = 100
) -> Connection[T]:
    """A connection over a short list already in memory (a version's stage history, a request's approvals),
    paged with the same arguments, rules and errors as a keyset-paged one. Cursors are positions tagged with
    ``list_name``, so another list's cursor is refused. Such lists grow at one end: at their end, or at their
    start when ``newest_first``, where positions count from the end so that a cursor stays on its item while
    newer items arrive."""
    last_index = len(items) - 1

    def position(index: int) -> int:
        return last_index - index if newest_first else index

    def index_of(cursor: str, argument: str) -> int:
        return position(_list_position(cursor, list_name, argument))

    check_page(page, max_page_size)
    start = max(index_of(page.after, "after") + 1, 0) if page.after else 0
    stop = min(index_of(page.before, "before"), len(items)) if page.before else len(items)
    window = list(range(start, max(start, stop)))
    if page.size == 0:
        chosen: list[int] = []
    else:
        chosen = window[-page.size :] if page.backward else window[: page.size]
    edges = [Edge(cursor=_list_cursor(list_name, position(index)), node=items[index]) for index in chosen]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=(chosen[-1] if chosen else start - 1) < len(items) - 1,
            has_previous_page=(chosen[0] if chosen else stop) > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=len(items),
    )


def wants_total(info: strawberry.Info) -> bool:
    """Whether the query selected ``totalCount``, so counting is skipped when nobody asked."""
    return any(_selects_total(field.selections) for field in info.selected_fields)


def _selects_total(selections: list) -> bool:
    # A module-level function: a nested one that calls itself is a reference cycle, garbage on every call.
    for selection in selections:
        name = getattr(selection, "name", None)  # fields; fragments have type_condition instead
        if name == "totalCount" or (not hasattr(selection, "arguments") and _selects_total(selection.selections)):
            return True
    return False

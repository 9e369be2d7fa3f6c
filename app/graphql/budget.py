"""The request budget of /graphql, checked before anything executes: body size, list lengths, batch size and static
cost (app/graphql/cost.py). Each refusal is a GraphQL-shaped 4xx with ``extensions.code`` BAD_USER_INPUT and the
figures that tripped it (``limit`` and ``actual``, or ``cost``), produced in milliseconds:

- the body is read in chunks and reading stops once it passes ``max_request_bytes`` (413; ``actual`` is what was
  read, or the declared Content-Length);
- JSON that cannot be decoded (invalid UTF-8, nesting too deep for the decoder, not JSON) is a 400;
- a list longer than ``max_input_items`` anywhere in the variables is found by an iterative walk of the decoded
  JSON, before graphql-core coerces anything (a request error, with ``path`` naming where); list literals in the
  document too;
- a batch (a JSON array) of more than ``max_batch`` operations is a 400;
- the cost of all operations of the request, summed, over ``max_query_cost`` is refused with ``cost`` and
  ``limit``: a 400 for a batch, a request error for one operation.

A request error is answered as the GraphQL-over-HTTP spec asks of one: HTTP 200 with ``application/json``, 400
with ``application/graphql-response+json``; either way nothing has executed.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import DocumentNode, GraphQLError, parse

from app.domain.errors import ErrorCode

# Bodies above this many bytes are decoded off the event loop, so other requests keep being served meanwhile.
OFF_LOOP_BYTES = 64 * 1024


@dataclass(frozen=True)
class Limits:
    """The budget of one /graphql request (MODELREG_MAX_REQUEST_BYTES, _MAX_INPUT_ITEMS, _MAX_QUERY_COST,
    _MAX_BATCH)."""

    max_request_bytes: int = 2 * 1024 * 1024
    max_input_items: int = 1000
    max_query_cost: int = 50_000
    max_batch: int = 10


REQUEST_ERROR = 0  # the status of a GraphQL request error: 200 with application/json, 400 with graphql-response+json


class Refused(HTTPException):
    """A refusal before execution: HTTP status (or REQUEST_ERROR), message and the figures in ``extensions``."""

    def __init__(self, status: int, message: str, code: str = ErrorCode.BAD_USER_INPUT.value, **figures: Any) -> None:
        super().__init__(status, message)
        self.extensions: dict[str, Any] = {"code": code, **figures}


async def read_limited(chunks: AsyncIterator[bytes], declared: str | None, limit: int) -> bytes:
    """The body, refused (413) as soon as it is known to exceed ``limit`` bytes: at once for a larger declared
    Content-Length, else when the bytes read pass it (the rest is never read)."""
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit, int(declared))
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise _too_large(limit, len(body))
    return bytes(body)


def _too_large(limit: int, actual: int) -> Refused:
    return Refused(
        413,
        f"the request body is larger than {limit} bytes (MODELREG_MAX_REQUEST_BYTES); send less, "
        "or split it into several requests",
        limit=limit,
        actual=actual,
    )


_LONG_DIGITS = re.compile(rb"[0-9]{19}")
_LONG_DIGITS_TEXT = re.compile(r"[0-9]{19}")


def decode(data: str | bytes) -> Any:
    """JSON from a body or a GET parameter; a GraphQL-shaped 400 for anything that is not JSON in UTF-8.

    orjson reads what it can (about 4x faster); what it refuses (NaN, lone surrogates, errors) and documents with
    19 digits in a row (orjson reads an integer beyond 64 bits as a float) are read by the standard library, so the
    answer never depends on which one ran."""
    long_digits = _LONG_DIGITS_TEXT.search(data) if isinstance(data, str) else _LONG_DIGITS.search(data)
    if long_digits is None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise Refused(400, "the request body is not valid UTF-8: send JSON encoded as UTF-8") from None
    except RecursionError:
        raise Refused(400, "the request JSON is nested too deeply") from None
    except ValueError:  # JSONDecodeError
        raise Refused(
            400,
            'the request is not valid JSON: send {"query": "...", "variables": {...}} '
            "(or, on GET, a JSON object in the variables parameter)",
        ) from None


async def decode_off_loop(data: bytes) -> Any:
    """``decode``, in a worker thread for large bodies."""
    if len(data) > OFF_LOOP_BYTES:
        return await asyncio.to_thread(decode, data)
    return decode(data)


def longest_list(value: Any) -> tuple[int, str]:
    """The length of the longest list anywhere in a decoded JSON value, and its path (iterative: no recursion)."""
    longest, where = 0, ""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, list):
            if len(item) > longest:
                longest, where = len(item), path
            stack.extend((child, f"{path}[{index}]") for index, child in enumerate(item))
        elif isinstance(item, dict):
            stack.extend((child, f"{path}.{key}" if path else str(key)) for key, child in item.items())
    return longest, where


def check_lists(variables: Any, limit: int, where: str = "variables") -> None:
    """Refuse (as a request error) a list longer than ``limit`` items anywhere in ``variables``."""
    if not isinstance(variables, (dict, list)):
        return
    longest, path = longest_list(variables)
    if longest > limit:
        raise Refused(
            REQUEST_ERROR,
            f"a list in the {where} has {longest} items, more than the {limit} allowed (MODELREG_MAX_INPUT_ITEMS) "
            f"at {path or where}: split the request",
            limit=limit,
            actual=longest,
            path=path,
        )


def check_batch(size: int, limit: int) -> None:
    if size == 0:
        raise Refused(400, "the batch is empty: send at least one operation")
    if size > limit:
        raise Refused(
            400,
            f"the batch has {size} operations, more than the {limit} allowed (MODELREG_MAX_BATCH): "
            "send several smaller batches",
            limit=limit,
            actual=size,
        )


def check_cost(cost: int, limit: int, batch: bool = False) -> None:
    """Refuse a cost over ``limit``: a request error for one operation, a 400 for a batch (one answer for all)."""
    if cost > limit:
        what = "the batch's operations together" if batch else "the operation"
        raise Refused(
            400 if batch else REQUEST_ERROR,
            f"{what} could produce up to {cost} objects, more than the {limit} allowed (MODELREG_MAX_QUERY_COST): "
            "ask for smaller pages (first/last), a smaller maxNodes, or fewer nested connections",
            cost=cost,
            limit=limit,
        )


__all__ = ["REQUEST_ERROR", "Limits", "Refused", "check_batch", "check_cost", "check_lists", "decode", "read_limited"]


_PARSE_CACHE_CHARS = 16 * 1024  # documents up to this size stay in the budget's parse cache


@functools.lru_cache(maxsize=256)
def _parse_cached(query: str, max_tokens: int) -> DocumentNode | None:
    return _parse(query, max_tokens)


def _parse(query: str, max_tokens: int) -> DocumentNode | None:
    try:
        return parse(query, no_location=True, max_tokens=max_tokens)
    except (GraphQLError, RecursionError):
        return None


def parse_is_remembered(query: str) -> bool:
    """Whether ``parse_for_budget`` hands the same document object for this text every time (short documents)."""
    return len(query) <= _PARSE_CACHE_CHARS


async def parse_for_budget(query: str, max_tokens: int) -> DocumentNode | None:
    """The document for the cost check (None when it does not parse); long documents are parsed off the loop."""
    if parse_is_remembered(query):
        return _parse_cached(query, max_tokens)
    return await asyncio.to_thread(_parse, query, max_tokens)

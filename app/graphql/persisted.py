"""Apollo's automatic persisted queries (APQ), as Apollo Client's ``createPersistedQueryLink`` speaks it.

A request carries ``extensions: {persistedQuery: {version: 1, sha256Hash: "<hex>"}}``:

- with only the hash, the server runs the document it stored under that hash; an unknown hash answers the error
  ``PersistedQueryNotFound`` with ``extensions.code`` ``PERSISTED_QUERY_NOT_FOUND``, on which the client resends
  the same request with the document;
- with the document too, the server checks that the hash is the sha256 of the document (a mismatch is
  BAD_USER_INPUT), stores it and runs it.

Both work over POST and GET (queries only over GET, as for every request). The store is bounded (least recently
used documents go first) and lives in each process: a replica that has not seen a hash answers
PERSISTED_QUERY_NOT_FOUND once and learns the document from the client's retry, so replicas need no shared state
for the protocol to work; the cost is one extra round trip per document per replica.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from typing import Any

from .budget import REQUEST_ERROR, Refused

NOT_FOUND_MESSAGE = "PersistedQueryNotFound"  # what Apollo's link looks for (message or code)
NOT_FOUND_CODE = "PERSISTED_QUERY_NOT_FOUND"
_HASH = re.compile(r"[0-9a-f]{64}")


class PersistedQueries:
    """A bounded map from sha256 hash to document (least recently used first out)."""

    def __init__(self, max_entries: int = 10_000, max_chars: int = 256 * 1024) -> None:
        self.max_entries = max_entries
        self.max_chars = max_chars  # a longer document runs, but is not kept
        self._documents: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._documents)

    def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> str | None:
        """The document a request runs: its own, or the stored one its hash names. Raises Refused for an unknown
        hash (PERSISTED_QUERY_NOT_FOUND), an unsupported version or a hash that does not match the document."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            return query
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            raise Refused(REQUEST_ERROR, "unsupported persisted query: send extensions.persistedQuery with version 1")
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or not _HASH.fullmatch(digest.lower()):
            raise Refused(REQUEST_ERROR, "extensions.persistedQuery.sha256Hash must be 64 hexadecimal digits")
        digest = digest.lower()
        if query is None:
            stored = self._documents.get(digest)
            if stored is None:
                raise Refused(REQUEST_ERROR, NOT_FOUND_MESSAGE, code=NOT_FOUND_CODE)
            self._documents.move_to_end(digest)
            return stored
        if hashlib.sha256(query.encode("utf-8")).hexdigest() != digest:
            raise Refused(REQUEST_ERROR, "provided sha256Hash does not match the query: hash the query text as sent")
        if len(query) <= self.max_chars:
            self._documents[digest] = query
            self._documents.move_to_end(digest)
            while len(self._documents) > self.max_entries:
                self._documents.popitem(last=False)
        return query


__all__ = ["NOT_FOUND_CODE", "NOT_FOUND_MESSAGE", "PersistedQueries"]

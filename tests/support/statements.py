"""The statements an engine sends, as its ``before_cursor_execute`` listeners see them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event


@contextmanager
def statements_sent(engine: Any) -> Iterator[list[tuple[str, object]]]:
    """``(SQL, execution context)`` of each statement ``engine`` (a sync engine) sends in the block, BEGIN included.
    The context is None for a prepared statement (app/db/prepared.py), SQLAlchemy's own for its path."""
    sent: list[tuple[str, object]] = []

    def record(_connection: Any, _cursor: Any, statement: str, _parameters: Any, context: Any, _many: bool) -> None:
        sent.append((statement, context))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)

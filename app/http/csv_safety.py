"""CSV cells a spreadsheet shows as text, never runs as a formula (OWASP "CSV injection")."""

from __future__ import annotations

# Excel, LibreOffice and Google Sheets start a formula at these; tab and CR also break out of a cell in some
# importers. A leading ' is escaped too, so that unescaping is exact: every text cell starting with ' was escaped.
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")


def safe_cell(value: object) -> object:
    """``value`` with a ``'`` in front when it is text starting with a formula character (or a ``'``).

    Spreadsheets hide the leading ``'`` and show the rest as text, so ``=HYPERLINK(...)`` reads as itself and
    ``'x`` still reads ``'x``. Numbers are left alone (they cannot start a formula)."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def unescape_cell(text: str) -> str:
    """The stored text of a cell written by :func:`safe_cell` (drops the one leading ``'``)."""
    return text[1:] if text.startswith("'") else text

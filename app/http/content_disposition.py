"""``Content-Disposition: attachment`` for any file name (RFC 6266 with RFC 8187/5987 ``filename*``)."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

FALLBACK = "download"


def _printable(name: str) -> str:
    """The name without control characters (C0, DEL, C1, line and paragraph separators)."""
    return "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Zl", "Zp"))


def ascii_fallback(name: str) -> str:
    """The ``filename="..."`` form for old clients: accents dropped (é -> e), other non-ASCII as ``_``,
    ``"`` and ``\\`` escaped as RFC 9110 quoted-string wants."""
    plain = "".join(
        c if c.isascii() else (unicodedata.normalize("NFKD", c).encode("ascii", "ignore").decode() or "_")
        for c in _printable(name)
    )
    plain = plain.strip() or FALLBACK
    return plain.replace("\\", "\\\\").replace('"', '\\"')


def attachment(name: str) -> str:
    """``attachment; filename="<ascii>"; filename*=UTF-8''<percent-encoded>``: a header value that is pure ASCII
    whatever ``name`` holds; browsers and curl (``-OJ``) prefer ``filename*`` and so get the exact name."""
    clean = _printable(name).strip() or FALLBACK
    return f"attachment; filename=\"{ascii_fallback(clean)}\"; filename*=UTF-8''{quote(clean, safe='')}"

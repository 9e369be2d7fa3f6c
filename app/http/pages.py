"""Browser pages modelreg serves itself (besides GraphiQL on /graphql): the lineage explorer."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def lineage_page(request: Request) -> Response:
    """The lineage explorer (app/web/lineage.html): static HTML that queries /graphql with the viewer's token."""
    return HTMLResponse((WEB_DIR / "lineage.html").read_text(encoding="utf-8"), headers=PAGE_HEADERS)

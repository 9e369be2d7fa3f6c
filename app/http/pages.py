"""Browser pages modelreg serves itself (besides GraphiQL on /graphql): the web console and the lineage explorer."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

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


CONSOLE_INDEX = WEB_DIR / "console" / "index.html"


async def console_page(request: Request) -> Response:
    """The web console (docs/console.md) at /: the page Vite built from console/ into app/web/console/, its
    scripts under /static/console/. Not built (a checkout before `./dev serve`, an image built without it):
    GraphiQL, as before the console existed."""
    try:
        page = CONSOLE_INDEX.read_text(encoding="utf-8")
    except FileNotFoundError:
        return RedirectResponse("/graphql", status_code=307)
    return HTMLResponse(page, headers={**PAGE_HEADERS, "Cache-Control": "no-cache"})

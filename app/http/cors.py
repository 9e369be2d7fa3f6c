"""Cross-origin requests: which browser origins may call the API (MODELREG_CORS_ORIGINS), answered by Starlette's
CORSMiddleware for HTTP and by the GraphQL view's Origin check for subscription WebSockets.

Credentials are not allowed cross-origin (no ``Access-Control-Allow-Credentials``): a page on an allowed origin
calls with a bearer token, never with the user's session cookie, so allowing an origin cannot open the cookie
session to it (docs/http-api.md, "Cross-origin requests (CORS)").
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

METHODS = ("GET", "POST", "OPTIONS")
# What GraphQL clients send beyond the CORS-safelisted headers: the bearer token, our CSRF marker and request id,
# Apollo Client's client awareness and CSRF-prevention headers.
HEADERS = (
    "Authorization",
    "Content-Type",
    "Accept",
    "X-Requested-With",
    "X-Request-ID",
    "apollographql-client-name",
    "apollographql-client-version",
    "apollo-require-preflight",
    "x-apollo-operation-name",
)
EXPOSED = ("X-Request-ID",)
PREFLIGHT_MAX_AGE = 600  # seconds a browser may cache a preflight answer
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _normalized(origin: str) -> str:
    """An origin as browsers send it in ``Origin``: lower-case scheme and host, no default port."""
    parts = urlsplit(origin)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    return f"{parts.scheme.lower()}://{host}"


def allowed_origins(setting: str) -> tuple[str, ...]:
    """MODELREG_CORS_ORIGINS (exact origins, comma-separated; checked by config.py) as browsers spell them."""
    return tuple(dict.fromkeys(_normalized(item.strip()) for item in setting.split(",") if item.strip()))


def cors_middleware(origins: tuple[str, ...]) -> Middleware:
    """Answers preflights itself (before authentication: a preflight carries no credentials) and adds
    ``Access-Control-Allow-Origin`` to answers for an allowed origin. Other origins get no CORS headers (a
    preflight from them is answered 400), so the browser keeps the response from the page."""
    return Middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=METHODS,
        allow_headers=HEADERS,
        allow_credentials=False,
        expose_headers=EXPOSED,
        max_age=PREFLIGHT_MAX_AGE,
    )

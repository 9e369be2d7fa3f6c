"""Browser sign-in: the authorization code flow with PKCE through Authlib's Starlette client.

``GET /auth/login?next=/graphql`` redirects to the provider (state, nonce and the PKCE verifier go into the
sealed ``modelreg_login`` cookie); ``GET /auth/callback`` exchanges the code, lets Authlib check the ID
token, then validates the *access token* exactly as a bearer token would be (issuer, audience, signature,
claims to roles) and sets the ``modelreg_session`` cookie; ``/auth/logout`` clears it. ``GET /auth/session``
tells a page whether sign-in is available and whether the browser is signed in.
"""

from __future__ import annotations

import html
import logging
import time
import warnings
from typing import Any

import httpx
from authlib.deprecate import AuthlibDeprecationWarning

with warnings.catch_warnings():  # Authlib 1.9 prefers httpx2 and warns on import when it uses httpx (it works)
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.starlette_client import OAuth, OAuthError
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .issuers import IssuerConfig
from .session import LOGIN_COOKIE, LOGIN_TTL, SESSION_COOKIE, Sealer, SessionCodec, cookie_header
from .tokens import TokenAuthenticator, TokenRefused

log = logging.getLogger("modelreg.auth")
DEFAULT_NEXT = "/graphql"


def safe_next(value: str | None) -> str:
    """A same-site path to return to after sign-in; anything else (absolute URLs, ``//host``) is ignored."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or any(ch in value for ch in "\r\n\\")
        or len(value) > 500
    ):
        return DEFAULT_NEXT
    return value


def _page(status: int, title: str, text: str) -> HTMLResponse:
    body = (
        f"<!doctype html><meta charset=utf-8><title>modelreg · {html.escape(title)}</title>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
        f'<p><a href="/auth/login">Sign in again</a> · <a href="/graphql">GraphiQL</a></p>'
    )
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


class BrowserSignIn:
    """The /auth routes for one provider. ``None`` settings-wise means sign-in is off (routes say so)."""

    def __init__(
        self,
        *,
        issuer: IssuerConfig,
        client_id: str,
        client_secret: str | None,
        scopes: str,
        authorize_params: dict[str, str],
        authenticator: TokenAuthenticator,
        sessions: SessionCodec,
        login_sealer: Sealer,
        public_url: str | None,
    ) -> None:
        self._issuer = issuer
        self._authenticator = authenticator
        self._sessions = sessions
        self._login = login_sealer
        self._public_url = public_url.rstrip("/") if public_url else None
        self._authorize_params = authorize_params
        client_kwargs: dict[str, Any] = {"scope": scopes, "code_challenge_method": "S256", "timeout": 10}
        if not client_secret:
            client_kwargs["token_endpoint_auth_method"] = "none"
        self._client = OAuth().register(
            name="modelreg",
            client_id=client_id,
            client_secret=client_secret,
            server_metadata_url=issuer.issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs=client_kwargs,
        )

    def _secure(self, request: Request) -> bool:
        return (self._public_url or str(request.base_url)).startswith("https://")

    def _callback_url(self, request: Request) -> str:
        if self._public_url:
            return f"{self._public_url}/auth/callback"
        return str(request.url_for("auth_callback"))

    async def login(self, request: Request) -> Response:
        request.scope["session"] = {}
        try:
            response = await self._client.authorize_redirect(
                request, self._callback_url(request), **self._authorize_params
            )
        except (httpx.HTTPError, OAuthError, ValueError, KeyError) as error:
            log.warning(
                "sign-in could not start", extra={"issuer": self._issuer.label, "error_type": type(error).__name__}
            )
            return _page(
                502,
                "Identity provider unreachable",
                "modelreg could not reach the identity provider to start signing in. Try again shortly.",
            )
        state = {**request.session, "next": safe_next(request.query_params.get("next"))}
        sealed = self._login.seal(state, int(time.time()) + LOGIN_TTL)
        response.headers.append(
            "set-cookie",
            cookie_header(LOGIN_COOKIE, sealed, max_age=LOGIN_TTL, path="/auth", secure=self._secure(request)),
        )
        response.headers["cache-control"] = "no-store"
        return response

    async def callback(self, request: Request) -> Response:
        state = self._login.unseal(request.cookies.get(LOGIN_COOKIE))
        if state is None:
            return _page(400, "Sign-in expired", "This sign-in was started too long ago or in another browser.")
        request.scope["session"] = dict(state)
        try:
            token = await self._client.authorize_access_token(request)
        except OAuthError as error:
            log.warning("sign-in refused", extra={"issuer": self._issuer.label, "reason": error.error})
            return _page(400, "Sign-in failed", f"The identity provider or the sign-in check said: {error.error}.")
        except (httpx.HTTPError, ValueError, KeyError) as error:
            log.warning("sign-in failed", extra={"issuer": self._issuer.label, "error_type": type(error).__name__})
            return _page(502, "Sign-in failed", "modelreg could not complete the sign-in with the provider.")
        try:
            claims, config = await self._authenticator.validate(str(token.get("access_token") or ""))
            principal = self._authenticator.principal(claims, config)
        except TokenRefused as refused:
            log.warning(
                "sign-in refused: access token not accepted", extra={"issuer": refused.issuer, "reason": refused.reason}
            )
            return _page(
                403,
                "Sign-in not accepted",
                "The identity provider's access token is not meant for this server (check the audience "
                "and scopes configured for modelreg).",
            )
        expires = self._sessions.expiry(claims.get("exp") if isinstance(claims.get("exp"), int) else None)
        log.info(
            "signed in",
            extra={
                "subject": principal.subject,
                "kind": principal.kind.value,
                "roles": sorted(principal.roles),
                "issuer": config.label,
            },
        )
        response = RedirectResponse(safe_next(state.get("next")), status_code=303)
        secure = self._secure(request)
        response.headers.append(
            "set-cookie",
            cookie_header(
                SESSION_COOKIE,
                self._sessions.seal(principal, config.issuer, expires),
                max_age=expires - int(time.time()),
                path="/",
                secure=secure,
            ),
        )
        response.headers.append("set-cookie", cookie_header(LOGIN_COOKIE, "", max_age=0, path="/auth", secure=secure))
        response.headers["cache-control"] = "no-store"
        return response


def auth_routes(signin: BrowserSignIn | None) -> list[Route]:
    """/auth/login, /auth/callback, /auth/logout and /auth/session; without sign-in the first two say so."""

    async def not_configured(request: Request) -> Response:
        return _page(
            404,
            "Browser sign-in is not configured",
            "Set MODELREG_OIDC_CLIENT_ID (and MODELREG_SESSION_SECRET) to sign in with your identity "
            "provider, or send a bearer token.",
        )

    async def logout(request: Request) -> Response:
        response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
        secure = str(request.base_url).startswith("https://")
        response.headers.append("set-cookie", cookie_header(SESSION_COOKIE, "", max_age=0, path="/", secure=secure))
        response.headers["cache-control"] = "no-store"
        return response

    async def session(request: Request) -> Response:
        principal = request.scope.get("state", {}).get("principal")
        body: dict[str, Any] = {
            "signInEnabled": signin is not None,
            "loginUrl": "/auth/login",
            "logoutUrl": "/auth/logout",
            "signedIn": principal is not None,
        }
        if principal is not None:
            body.update(subject=principal.subject, kind=principal.kind.value, roles=sorted(principal.roles))
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    return [
        Route("/auth/login", signin.login if signin else not_configured, name="auth_login"),
        Route("/auth/callback", signin.callback if signin else not_configured, name="auth_callback"),
        Route("/auth/logout", logout, methods=["GET", "POST"], name="auth_logout"),
        Route("/auth/session", session, name="auth_session"),
    ]

"""Builds the identity part of the application from Settings: the token authenticator (trusted issuers or the
development issuer), the session cookie reader and the /auth routes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.routing import Route

from app.config import Settings
from app.domain.identity import Principal

from . import dev_issuer
from .claims import RoleSource
from .issuers import IssuerConfig, authorize_params, load_issuers, signin_issuer, split_list
from .jwks import OidcKeySource, StaticKeySource
from .routes import BrowserSignIn, auth_routes
from .session import Sealer, SessionCodec
from .tokens import TokenAuthenticator, TrustedIssuer


def build_authenticator(settings: Settings, roles_for: Callable[[list[str]], frozenset[str]]) -> TokenAuthenticator:
    """Every configured issuer with its JWKS cache; the development issuer when none is configured."""
    configs = load_issuers(settings)
    if configs:
        trusted = [
            TrustedIssuer(
                config,
                OidcKeySource(
                    config.issuer, ttl=settings.oidc_jwks_ttl, refresh_interval=settings.oidc_jwks_refresh_interval
                ),
            )
            for config in configs
        ]
    else:
        # Our own issuer: its tokens always carry a plain `roles` claim (MODELREG_ROLES_CLAIM is for real providers).
        config = IssuerConfig(
            issuer=dev_issuer.DEV_ISSUER,
            audiences=split_list(settings.oidc_audience),
            role_sources=(RoleSource.parse(dev_issuer.ROLES_CLAIM),),
            name="dev-issuer",
        )
        trusted = [TrustedIssuer(config, StaticKeySource(dev_issuer.public_key_set(settings.data_dir)))]
    return TokenAuthenticator(trusted, roles_for=roles_for, leeway=settings.oidc_leeway)


@dataclass(frozen=True)
class Identity:
    """What create_app mounts: the authenticator, the session cookie reader (None without sign-in), routes."""

    authenticator: TokenAuthenticator
    session_principal: Callable[[str | None], Principal | None] | None
    routes: list[Route]


def build_identity(settings: Settings, roles_for: Callable[[list[str]], frozenset[str]]) -> Identity:
    authenticator = build_authenticator(settings, roles_for)
    config = signin_issuer(settings, load_issuers(settings))
    if config is None or not settings.session_secret:
        return Identity(authenticator, None, auth_routes(None))
    sessions = SessionCodec(settings.session_secret, settings.session_ttl)
    signin = BrowserSignIn(
        issuer=config,
        client_id=str(settings.oidc_client_id),
        client_secret=settings.oidc_client_secret,
        scopes=settings.oidc_scopes,
        authorize_params=authorize_params(settings),
        authenticator=authenticator,
        sessions=sessions,
        login_sealer=Sealer(settings.session_secret, "login"),
        public_url=settings.public_url,
    )
    return Identity(authenticator, sessions.principal, auth_routes(signin))

"""Wires the application once: ``create_app(settings)`` builds engines, authorizer, services and routes."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from app.auth import dev_issuer
from app.auth.authorizer import CasbinAuthorizer
from app.auth.jwks import OidcKeySource, StaticKeySource
from app.auth.tokens import TokenAuthenticator
from app.config import Settings
from app.db.engine import create_database
from app.db.uow import SqlUnitOfWorkFactory
from app.graphql.context import Services
from app.graphql.schema import build_schema
from app.graphql.view import GraphQLView
from app.http.health import favicon, healthz, readyz, root
from app.http.middleware import BearerAuthMiddleware, RequestIdMiddleware
from app.services.aliases import AliasService
from app.services.models import ModelService
from app.services.reads import ReadService
from app.services.versions import VersionService

log = logging.getLogger("modelreg")
WEB_DIR = Path(__file__).resolve().parent / "web"


def build_authenticator(settings: Settings, authorizer: CasbinAuthorizer) -> TokenAuthenticator:
    """The real OIDC issuer when configured, otherwise the local development issuer."""
    if settings.oidc_issuer:
        issuer, keys = settings.oidc_issuer, OidcKeySource(settings.oidc_issuer)
    else:
        issuer, keys = dev_issuer.DEV_ISSUER, StaticKeySource(dev_issuer.public_key_set(settings.data_dir))
    return TokenAuthenticator(issuer=issuer, audience=settings.oidc_audience, keys=keys,
                              roles_claim=settings.roles_claim, roles_for=authorizer.roles_for)


def create_app(settings: Settings) -> Starlette:
    """The ASGI application for ``settings``. Migrations are applied by the caller (``modelreg serve``)."""
    database = create_database(settings.effective_database_url)
    authorizer = CasbinAuthorizer(settings.policy_dir)
    uow = SqlUnitOfWorkFactory(database)
    services = Services(
        models=ModelService(uow, authorizer),
        versions=VersionService(uow, authorizer),
        aliases=AliasService(uow, authorizer),
        reads=ReadService(uow, authorizer, settings.max_page_size),
        authorizer=authorizer,
    )
    schema = build_schema(max_depth=settings.max_query_depth, max_aliases=settings.max_aliases,
                          max_tokens=settings.max_tokens, introspection=settings.introspection,
                          field_suggestions=settings.field_suggestions)
    graphql = GraphQLView(schema, services)
    authenticator = build_authenticator(settings, authorizer)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await database.dispose()

    app = Starlette(
        routes=[
            Route("/", root),
            Route("/favicon.ico", favicon),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Mount("/static", StaticFiles(directory=WEB_DIR, check_dir=False), name="static"),
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(BearerAuthMiddleware, authenticate=authenticator.authenticate),
        ],
        lifespan=lifespan,
    )
    app.state.database = database
    app.state.services = services
    app.state.settings = settings
    return app

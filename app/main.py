"""Wires the application once: ``create_app(settings)`` builds engines, authorizer, services and routes."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from app.auth import wiring
from app.auth.authorizer import CasbinAuthorizer
from app.auth.tokens import TokenAuthenticator
from app.config import ConfigError, Settings
from app.db.engine import create_database, is_sqlite
from app.db.outbox_listeners import PostgresEventListener, SqliteChangeListener
from app.db.uow import SqlUnitOfWorkFactory
from app.domain.deployments import Environment
from app.graphql.budget import Limits
from app.graphql.context import Services
from app.graphql.schema import build_schema
from app.graphql.view import GraphQLView
from app.http.artifacts import artifact_routes
from app.http.audit import audit_routes
from app.http.cors import allowed_origins, cors_middleware
from app.http.errors import http_exception
from app.http.health import favicon, healthz, readyz
from app.http.middleware import AuthMiddleware, RequestIdMiddleware
from app.http.pages import console_page, lineage_page
from app.http.serving import serving_routes
from app.mlflow.artifacts import mlflow_artifact_routes
from app.mlflow.routes import mlflow_routes
from app.mlflow.runs import RunReader
from app.mlflow.wiring import build_source_reader
from app.observability import tracing
from app.observability.endpoint import MetricsListener, metrics_route
from app.observability.requests import MetricsMiddleware, instrument_database
from app.promotion import PolicyError, load_promotion_policy
from app.services.aliases import AliasService
from app.services.artifacts import ArtifactService
from app.services.audit import AuditTrail
from app.services.audit_log import AuditLogService
from app.services.deployments import DeploymentReads, DeploymentService
from app.services.documents import DocumentService
from app.services.event_feed import EventFeed, EventSubscriptions
from app.services.events import EventOutbox
from app.services.governance_reads import GovernanceReads
from app.services.lineage import LineageService
from app.services.lineage_reads import LineageReads
from app.services.maintenance import remove_partial_writes
from app.services.models import ModelService
from app.services.reads import ReadService
from app.services.registration import RegistrationVerifier
from app.services.source_copy import SourceCopier
from app.services.storage_port import ArtifactStore
from app.services.transitions import TransitionService
from app.services.versions import VersionService
from app.services.webhooks import WebhookService
from app.storage.factory import build_store
from app.webhooks.wiring import build_webhooks

log = logging.getLogger("modelreg")


async def _remove_partial_writes(store: ArtifactStore) -> None:
    """Temporary files a crash mid-upload left behind (old enough that no live write owns them); a failure to
    look is logged, never a reason not to start."""
    try:
        leftovers = await remove_partial_writes(store)
    except Exception as error:  # noqa: BLE001 - the store's own errors surface on the first upload
        log.warning("could not look for partial temporary files", extra={"error_type": type(error).__name__})
        return
    if leftovers:
        log.info(
            "removed partial temporary files",
            extra={"files": [leftover.name for leftover in leftovers], "bytes": sum(f.size for f in leftovers)},
        )


WEB_DIR = Path(__file__).resolve().parent / "web"
GC_YOUNG_THRESHOLD = 10_000  # live allocations before a young-generation pass of the cyclic collector (default 700)


def build_authenticator(settings: Settings, authorizer: CasbinAuthorizer) -> TokenAuthenticator:
    """The trusted OIDC issuers when configured, otherwise the local development issuer."""
    return wiring.build_authenticator(settings, authorizer.roles_for)


def application_from_environment() -> Starlette:
    """The application of one ``modelreg serve --workers N`` process (a uvicorn factory): settings from the
    environment the parent set, migrations already applied by the parent."""
    from app.config import load_settings
    from app.http.tuning import tune_server_process
    from app.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    # uvicorn's access_log=False ran before this in the worker; keep its access line off (ours is modelreg.http's).
    logging.getLogger("uvicorn.access").propagate = False
    tune_server_process()
    return create_app(settings)


def create_app(settings: Settings) -> Starlette:
    """The ASGI application for ``settings``. Migrations are applied by the caller (``modelreg serve``)."""
    try:
        promotion = load_promotion_policy(settings.promotion_policy_path)
    except PolicyError as error:
        raise ConfigError(f"MODELREG_PROMOTION_POLICY: {error}") from None
    database = create_database(settings.effective_database_url, statement_timeout=settings.statement_timeout)
    instrument_database(database)  # statements per request, pool use and wait (app/observability)
    tracer_provider = tracing.provider()  # None unless OTEL_* variables turn traces on
    if tracer_provider is not None:
        tracing.instrument_engines(list({database.reader, database.writer}), tracer_provider)
    authorizer = CasbinAuthorizer(settings.policy_dir, settings.read_scope)
    uow = SqlUnitOfWorkFactory(database)
    store = build_store(settings)
    # Subscriptions follow the outbox, woken after local commits and, on PostgreSQL, by other replicas' NOTIFY.
    feed = EventFeed(
        uow,
        SqliteChangeListener(database.url) if is_sqlite(database.url) else PostgresEventListener(database.url),
        poll_interval=settings.events_poll_interval,
    )
    # Every service records into the same hash-chained audit log; each change also becomes outbox events.
    trail = AuditTrail(uow, EventOutbox(on_commit=feed.wake))
    verifier = RegistrationVerifier(uow, store, settings.max_upload_size, trail)
    # Versions registered with a source (the MLflow API's create_model_version) copy their files in the background.
    sources = build_source_reader(settings)
    copier = SourceCopier(uow, store, sources, settings.max_upload_size, trail)
    mlflow_runs = RunReader(settings.mlflow_tracking_uri, settings.mlflow_tracking_token)  # their lineage Runs
    webhooks = build_webhooks(settings, uow)
    production = {name.strip() for name in settings.production_environments.split(",") if name.strip()}
    environments = [
        Environment(name.strip(), name.strip() in production)
        for name in settings.environments.split(",")
        if name.strip()
    ]
    deployments = DeploymentService(authorizer, environments, trail)
    services = Services(
        models=ModelService(authorizer, trail),
        versions=VersionService(authorizer, store, verifier, trail, copier=copier),
        aliases=AliasService(authorizer, trail, policy=promotion),
        reads=ReadService(uow, authorizer, trail, settings.max_page_size),
        artifacts=ArtifactService(uow, authorizer, store, max_upload_size=settings.max_upload_size, trail=trail),
        authorizer=authorizer,
        transitions=TransitionService(authorizer, promotion, trail, serving=deployments),
        documents=DocumentService(authorizer, store, trail),
        governance=GovernanceReads(uow, authorizer, trail, settings.max_page_size),
        audit_log=AuditLogService(uow, authorizer, trail, settings.max_page_size),
        lineage=LineageService(authorizer, trail),
        lineage_reads=LineageReads(uow, authorizer, trail, settings.max_page_size),
        deployments=deployments,
        deployment_reads=DeploymentReads(uow, authorizer, trail, settings.max_page_size),
        webhooks=WebhookService(
            uow,
            authorizer,
            webhooks.secrets,
            trail=trail,
            max_page_size=settings.max_page_size,
            on_new_delivery=webhooks.dispatcher.wake,
            allow_private_targets=settings.webhook_allow_private,
        ),
        events=EventSubscriptions(uow, authorizer, feed, trail),
    )
    schema = build_schema(
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_tokens,
        introspection=settings.introspection,
        field_suggestions=settings.field_suggestions,
        tracing=tracer_provider is not None,
    )
    identity = wiring.build_identity(settings, authorizer.roles_for)  # tokens, session cookie, /auth routes
    # Subscriptions (WebSocket) bring their token in connection_init; the view checks it with the same authenticator.
    limits = Limits(
        max_request_bytes=settings.max_request_bytes,
        max_input_items=settings.max_input_items,
        max_query_cost=settings.max_query_cost,
        max_batch=settings.max_batch,
    )
    authenticate = identity.authenticator.authenticate
    cors_origins = allowed_origins(settings.cors_origins)  # MODELREG_CORS_ORIGINS: HTTP and WebSocket
    graphql = GraphQLView(
        schema,
        services,
        authenticate=authenticate,
        limits=limits,
        max_tokens=settings.max_tokens,
        read_scope=uow.request_scope,
        allowed_origins=cors_origins,
        session=identity.session_principal,  # subscriptions of the console signed in by the browser session
    )

    # Prometheus scrapes /metrics here, or on MODELREG_METRICS_PORT only (docs/operations.md).
    metrics_listener = (
        MetricsListener(database, settings.host, settings.metrics_port) if settings.metrics_port is not None else None
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if metrics_listener is not None:
            await metrics_listener.start()
        await verifier.sweep()  # versions a crash or restart left pending
        await copier.sweep()
        await _remove_partial_writes(store)
        if settings.dispatcher:  # MODELREG_DISPATCHER=false leaves webhook delivery to `modelreg worker`
            webhooks.dispatcher.start()
        feed.start()  # subscriptions: the outbox reader and, on PostgreSQL, LISTEN modelreg_events
        # Start-up objects live for the whole process: keep them out of the collector's full passes, which
        # otherwise show up as latency spikes of tens of milliseconds.
        gc.freeze()
        # A request leaves no reference cycles (tests/graphql/test_request_cost.py), so the young-generation passes
        # that the default threshold (700 live allocations) set off while a catalogue page is being built (five a
        # page) found nothing to free: 3-4% of its CPU. Started after 10,000, they almost never run.
        gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        yield
        if metrics_listener is not None:
            await metrics_listener.stop()
        await verifier.stop()
        await copier.stop()
        await sources.close()
        await mlflow_runs.close()
        await feed.stop()
        await webhooks.dispatcher.stop()
        await webhooks.sender.close()
        await store.close()
        await database.dispose()

    app = Starlette(
        routes=[
            Route("/", console_page),  # the web console; GraphiQL when it is not built
            Route("/favicon.ico", favicon),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *([metrics_route(database)] if metrics_listener is None else []),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),  # subscriptions (graphql-transport-ws)
            Route("/lineage", lineage_page),
            *artifact_routes(),
            *audit_routes(),
            *serving_routes(),
            *mlflow_routes(),  # MLflow's Model Registry REST API (docs/mlflow.md)
            *mlflow_artifact_routes(),
            *identity.routes,
            Mount("/static", StaticFiles(directory=WEB_DIR, check_dir=False), name="static"),
        ],
        middleware=[
            Middleware(MetricsMiddleware),  # outermost: every request counted, refusals by authentication included
            *([Middleware(tracing.asgi_middleware, tracer_provider=tracer_provider)] if tracer_provider else []),
            Middleware(RequestIdMiddleware),  # inside the request's span: a request id it makes is the trace id
            cors_middleware(cors_origins),  # preflights are answered before authentication
            Middleware(
                AuthMiddleware, authenticate=identity.authenticator.authenticate, session=identity.session_principal
            ),
        ],
        exception_handlers={HTTPException: http_exception},  # 404 and 405 under /api/ in the REST error shape
        lifespan=lifespan,
    )
    app.state.database = database
    app.state.services = services
    app.state.settings = settings
    app.state.verifier = verifier
    app.state.copier = copier
    app.state.mlflow_runs = mlflow_runs
    app.state.uow = uow
    app.state.webhooks = webhooks
    app.state.event_feed = feed
    return app

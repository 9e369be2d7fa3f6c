"""OpenTelemetry traces, off unless the standard OTEL_* variables ask for them (docs/operations.md).

On when ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp``, ``console``) or an OTLP endpoint is set
(``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``); ``OTEL_SDK_DISABLED=true`` or
``OTEL_TRACES_EXPORTER=none`` keep them off. The OTLP/HTTP exporter reads its own variables (endpoint, headers,
timeout, compression); ``OTEL_SERVICE_NAME`` (default ``modelreg``) and ``OTEL_RESOURCE_ATTRIBUTES`` name the
service; ``OTEL_TRACES_SAMPLER`` picks the sampler (default: parent-based, always on).

A request gives one tree: the HTTP server span (opentelemetry-instrumentation-asgi) holding a ``graphql.operation``
span, a span per resolver that has code of its own (plain fields are not traced), and under them the SQL
statements (opentelemetry-instrumentation-sqlalchemy). Webhook deliveries are client spans
(opentelemetry-instrumentation-httpx) of the dispatcher's own traces. Spans carry the request id as
``modelreg.request_id``; a request id the server makes is the trace id itself (32 hex digits), so the
``X-Request-ID`` answer, the log lines (``request_id``, ``trace_id``) and the trace share one key.

Resolver arguments and query text are not recorded: they may hold secrets (a webhook's) or personal data.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from inspect import isawaitable
from typing import Any

import httpx
from graphql import GraphQLResolveInfo
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp
from strawberry.extensions import SchemaExtension
from strawberry.extensions.tracing.utils import should_skip_tracing

from app.db.prepared import use_sqlalchemy_path

REQUEST_ID_ATTRIBUTE = "modelreg.request_id"
_provider: TracerProvider | None = None
_enabled = False


def configured(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the OTEL_* variables ask for traces."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    endpoint = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return bool(exporter or endpoint)


def _exporter_from_environment() -> SpanExporter:
    names = [name.strip() for name in os.environ.get("OTEL_TRACES_EXPORTER", "otlp").lower().split(",")]
    if "console" in names:
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout, compression)


def enable(exporter: SpanExporter | None = None) -> TracerProvider | None:
    """Traces for this process: ``exporter`` (tests: the SDK's in-memory exporter, spans exported as they end),
    else the one the OTEL_* variables configure, batched; None when they configure none. The provider is made once
    per process and becomes OpenTelemetry's global one."""
    global _provider, _enabled
    if exporter is None and not configured():
        return _provider if _enabled else None
    if _provider is None:
        _provider = TracerProvider(
            resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or "modelreg"})
        )
        trace.set_tracer_provider(_provider)
    if exporter is not None:
        _provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif not _enabled:
        _provider.add_span_processor(BatchSpanProcessor(_exporter_from_environment()))
    _enabled = True
    return _provider


def disable() -> None:
    """Applications built from now on are not traced (for tests; the provider stays OpenTelemetry's global one)."""
    global _enabled
    _enabled = False


def provider() -> TracerProvider | None:
    """The process's provider when traces are on (``enable`` ran, or the OTEL_* variables ask for them)."""
    return enable()


def current_trace_id() -> str | None:
    """The current span's trace id as 32 hex digits, or None outside a recorded span."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def note_request_id(request_id: str) -> None:
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute(REQUEST_ID_ATTRIBUTE, request_id)


def asgi_middleware(app: ASGIApp, tracer_provider: TracerProvider) -> ASGIApp:
    """The HTTP server span of every request (health checks and /metrics included: samplers may drop them)."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(app, tracer_provider=tracer_provider, exclude_spans=["receive", "send"])


def instrument_engines(engines: list[AsyncEngine], tracer_provider: TracerProvider) -> None:
    """SQL spans for each statement of these engines (opentelemetry-instrumentation-sqlalchemy, per engine: its
    ``instrument()`` would wrap ``create_engine`` for the whole process instead)."""
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.instrumentation.sqlalchemy.version import __version__
    from opentelemetry.metrics import NoOpMeterProvider

    tracer = trace.get_tracer("opentelemetry.instrumentation.sqlalchemy", __version__, tracer_provider)
    usage = NoOpMeterProvider().get_meter("modelreg").create_up_down_counter("db.client.connections.usage")
    for engine in engines:
        EngineTracer(tracer, engine.sync_engine, usage)  # type: ignore[no-untyped-call]
        use_sqlalchemy_path(engine)  # its listeners need an execution context: no prepared reads beside it


def instrument_http_client(client: httpx.AsyncClient, tracer_provider: TracerProvider) -> None:
    """Client spans (and a ``traceparent`` header) for the requests of ``client``: the webhook sender's."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=tracer_provider)


class GraphQLTracing(SchemaExtension):
    """A ``graphql.operation`` span per operation and a ``graphql.resolve`` span per resolver with code of its own
    (root fields, connections, loaders), never for plain fields or introspection."""

    def __init__(self, *, execution_context: Any = None) -> None:
        self._tracer = trace.get_tracer("modelreg.graphql")
        self._operation: trace.Span | None = None
        if execution_context is not None:
            self.execution_context = execution_context

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        with self._tracer.start_as_current_span("graphql.operation") as span:
            self._operation = span
            yield
            name = context.operation_name
            kind = context.operation_type.value if getattr(context, "operation_type", None) else "query"
            span.update_name(f"graphql.{kind} {name}" if name else f"graphql.{kind}")
            if name:
                span.set_attribute("graphql.operation.name", name)
            span.set_attribute("graphql.operation.type", kind)

    async def resolve(
        self, _next: Callable[..., Any], root: Any, info: GraphQLResolveInfo, *args: Any, **kwargs: Any
    ) -> Any:
        if should_skip_tracing(_next, info):
            result = _next(root, info, *args, **kwargs)
            return await result if isawaitable(result) else result
        path = ".".join(str(key) for key in info.path.as_list())
        with self._tracer.start_as_current_span(f"graphql.resolve {info.parent_type.name}.{info.field_name}") as span:
            span.set_attribute("graphql.field.path", path)
            span.set_attribute("graphql.field.name", info.field_name)
            span.set_attribute("graphql.field.parent_type", info.parent_type.name)
            result = _next(root, info, *args, **kwargs)
            return await result if isawaitable(result) else result

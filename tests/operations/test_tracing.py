"""OpenTelemetry traces, exported to the SDK's in-memory exporter: a GraphQL mutation gives the tree HTTP request ->
GraphQL operation -> resolver -> SQL statements, the request id on the request's span and (made by the server) equal
to the trace id; log lines name the trace; a webhook delivery is a client span whose traceparent the receiver gets.
Off unless the OTEL_* variables ask for it."""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.logs import JsonFormatter
from app.observability import tracing
from tests.support.client import api_with_settings
from tests.support.webhook_receiver import Receiver

CREATE_VERSION = """
mutation TracedRegistration($name: String!) {
  createModelVersion(input: {name: $name, createModelIfMissing: true}) { modelVersion { version } }
}
"""
CREATE_WEBHOOK = """
mutation($url: String!) { createWebhook(input: {url: $url, secret: "trace-secret-0123456789"}) { webhook { id } } }
"""


@pytest.fixture
def exported():
    exporter = InMemorySpanExporter()
    tracing.enable(exporter)
    try:
        yield exporter
    finally:
        tracing.disable()
        exporter.shutdown()


def _children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [span for span in spans if span.parent is not None and span.parent.span_id == parent.context.span_id]


def _descendants(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    found = []
    for child in _children(spans, parent):
        found += [child, *_descendants(spans, child)]
    return found


@pytest.mark.parametrize(
    "variables",
    [
        {"OTEL_TRACES_EXPORTER": "otlp"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"},
        {"OTEL_TRACES_EXPORTER": "console"},
    ],
)
def test_the_standard_variables_turn_traces_on(variables):
    assert tracing.configured(variables)
    assert not tracing.configured({**variables, "OTEL_SDK_DISABLED": "true"})


def test_traces_are_off_without_them():
    assert not tracing.configured({})
    assert not tracing.configured({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318"})
    assert not tracing.configured({"OTEL_SERVICE_NAME": "modelreg"})


async def test_request_operation_resolver_and_sql_spans_form_one_tree(exported, settings, api):
    async with api_with_settings(settings, api) as traced:
        response = await traced.client.post(
            "/graphql",
            json={"query": CREATE_VERSION, "variables": {"name": "traced/model"}},
            headers={"Authorization": f"Bearer {traced.token('data-scientist')}"},
        )
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    spans = list(exported.get_finished_spans())
    request_id = response.headers["x-request-id"]

    [server] = [span for span in spans if span.parent is None and span.kind.name == "SERVER"]
    assert request_id == format(server.context.trace_id, "032x")  # the id the server made is the trace id
    assert server.attributes["modelreg.request_id"] == request_id
    assert server.name.startswith("POST")
    [operation] = [
        span
        for span in _descendants(spans, server)
        if span.name.startswith("graphql.") and span.name.endswith("TracedRegistration")
    ]
    assert operation.name == "graphql.mutation TracedRegistration"
    [resolver] = [
        span for span in _children(spans, operation) if span.name == "graphql.resolve Mutation.createModelVersion"
    ]
    sql = [
        span
        for span in _descendants(spans, resolver)
        if span.attributes.get("db.statement") or span.attributes.get("db.query.text")
    ]
    statements = " ".join(
        str(span.attributes.get("db.statement") or span.attributes.get("db.query.text")) for span in sql
    )
    assert "INSERT INTO model_versions" in statements and "INSERT INTO audit_events" in statements, statements
    assert all(span.context.trace_id == server.context.trace_id for span in spans if span in sql)
    # Neither query text nor arguments are recorded: they may carry secrets.
    assert not any(
        "traced/model" in str(value)
        for span in spans
        for value in span.attributes.values()
        if span in (operation, resolver)
    )


async def test_a_request_id_the_caller_sends_is_kept_and_put_on_the_span(exported, settings, api):
    async with api_with_settings(settings, api) as traced:
        response = await traced.client.post(
            "/graphql",
            json={"query": "{ viewer { subject } }"},
            headers={"Authorization": f"Bearer {traced.token('auditor')}", "X-Request-ID": "caller-chosen-42"},
        )
    assert response.headers["x-request-id"] == "caller-chosen-42"
    [server] = [span for span in exported.get_finished_spans() if span.parent is None and span.kind.name == "SERVER"]
    assert server.attributes["modelreg.request_id"] == "caller-chosen-42"


def test_log_lines_name_the_trace_and_span(exported):
    tracer = tracing.provider().get_tracer("test")  # type: ignore[union-attr]
    record = logging.LogRecord("modelreg.test", logging.INFO, __file__, 1, "inside", None, None)
    with tracer.start_as_current_span("work") as span:
        line = json.loads(JsonFormatter().format(record))
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert line["span_id"] == format(span.get_span_context().span_id, "016x")
    assert "trace_id" not in json.loads(JsonFormatter().format(record))  # outside a span


async def test_a_webhook_delivery_is_a_client_span_and_carries_traceparent(exported, settings, api):
    receiver = Receiver()
    try:
        async with api_with_settings(settings, api) as traced:
            await traced.ok(CREATE_WEBHOOK, {"url": receiver.url()}, "mlops")
            await traced.ok(CREATE_VERSION, {"name": "traced/hooked"}, "data-scientist")
            dispatcher = traced_app_dispatcher(traced)
            while await dispatcher.dispatch_due():
                await dispatcher.idle()
            await dispatcher.idle()
        received = receiver.wait_for(1)
    finally:
        receiver.stop()
    clients = [
        span
        for span in exported.get_finished_spans()
        if span.kind.name == "CLIENT"
        and str(span.attributes.get("url.full") or span.attributes.get("http.url", "")).startswith(receiver.url())
    ]
    assert clients, [span.name for span in exported.get_finished_spans()]
    trace_ids = {format(span.context.trace_id, "032x") for span in clients}
    assert any(got.headers.get("traceparent", "").split("-")[1] in trace_ids for got in received)


def traced_app_dispatcher(traced):
    return traced.client._transport.app.state.webhooks.dispatcher

"""The Prometheus series modelreg exports (docs/operations.md lists them with what to watch).

They are module-level, as prometheus-client intends: one set per process. Under ``modelreg serve --workers N``
every worker writes its values to files in ``PROMETHEUS_MULTIPROC_DIR`` (set up by ``serve`` before the workers
start) and whichever worker answers a scrape reads them all (``registry()``). The variable must be set before this
module is first imported in a process, which is why ``serve`` sets it before spawning the workers.

Label values are bounded: routes are the application's route templates, GraphQL operation names are capped per
process (``operation_label``), error codes and limits are fixed lists.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Latency buckets (seconds) from a fast read (about 2 ms) to a slow upload.
LATENCY_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter(
    "modelreg_http_requests",
    "HTTP requests answered, by route template, GraphQL operation name (empty outside /graphql) and status",
    ["method", "route", "operation", "status"],
)
REQUEST_DURATION = Histogram(
    "modelreg_http_request_duration_seconds",
    "Time from the request's arrival to the end of its answer",
    ["method", "route", "operation"],
    buckets=LATENCY_BUCKETS,
)
ERRORS = Counter(
    "modelreg_errors",
    "Errors answered, by code (GraphQL extensions.code; for other routes the code of the HTTP status)",
    ["code"],
)
REFUSALS = Counter(
    "modelreg_refusals",
    "Requests refused by a request limit (MODELREG_MAX_*), by limit",
    ["limit"],
)
STATEMENTS = Histogram(
    "modelreg_db_statements_per_request",
    "SQL statements a request ran (BEGIN not counted)",
    ["route"],
    buckets=(0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 128),
)
POOL_IN_USE = Gauge(
    "modelreg_db_pool_connections_in_use",
    "Database connections checked out of the pool now",
    ["pool"],
    multiprocess_mode="livesum",
)
POOL_WAIT = Histogram(
    "modelreg_db_pool_wait_seconds",
    "Time spent waiting for a pooled database connection (opening a new one included)",
    ["pool"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
WEBHOOK_DELIVERIES = Counter(
    "modelreg_webhook_deliveries",
    "Webhook delivery attempts by outcome (delivered, retry, dead) and attempt number (1-4, or 5+)",
    ["outcome", "attempt"],
)
SUBSCRIPTION_CLIENTS = Gauge(
    "modelreg_subscription_clients",
    "WebSocket connections open on /graphql (GraphQL subscriptions)",
    multiprocess_mode="livesum",
)
JWKS_REFRESHES = Counter(
    "modelreg_jwks_refreshes",
    "Refreshes of an OpenID provider's signing keys, by result (success, failure)",
    ["result"],
)
ARTIFACT_BYTES = Counter(
    "modelreg_artifact_bytes",
    "Artifact bytes through the registry's own endpoints (in: uploads, out: downloads); transfers straight to "
    "the store by signed URL are not counted",
    ["direction"],
)
AUDIT_VERIFICATIONS = Counter(
    "modelreg_audit_verifications",
    "Checks of the audit log's hash chain (the auditIntegrity query), by result (ok, broken)",
    ["result"],
)

# GraphQL operation names become label values: at most this many distinct names per process, then "other".
MAX_OPERATION_NAMES = 200
_OPERATION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_operation_names: set[str] = set()
_operation_lock = threading.Lock()


def operation_label(name: str | None) -> str:
    """The label value for a GraphQL operation name: the name itself while fewer than MAX_OPERATION_NAMES have been
    seen in this process, "anonymous" for none, "other" past the cap or for a name that is not a GraphQL name."""
    if not name:
        return "anonymous"
    if name in _operation_names:
        return name
    if not _OPERATION_NAME.match(name):
        return "other"
    with _operation_lock:
        if len(_operation_names) >= MAX_OPERATION_NAMES:
            return "other"
        _operation_names.add(name)
    return name


def attempt_label(attempt: int) -> str:
    return str(attempt) if attempt < 5 else "5+"


def record_webhook_attempt(outcome: str, attempt: int) -> None:
    """The dispatcher's observer (app/webhooks/wiring.py): one delivery attempt settled."""
    WEBHOOK_DELIVERIES.labels(outcome, attempt_label(attempt)).inc()


def multiprocess_dir() -> Path | None:
    folder = os.environ.get(MULTIPROC_VARIABLE)
    return Path(folder) if folder else None


def prepare_multiprocess_dir(folder: Path) -> None:
    """An empty folder for the workers' value files: files left by an earlier run would add stale counts."""
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob("*.db"):
        leftover.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _worker_pids(folder: Path) -> list[int]:
    pids = set()
    for path in folder.glob("*.db"):
        tail = path.stem.rsplit("_", 1)[-1]
        if tail.isdigit():
            pids.add(int(tail))
    return sorted(pids)


def _constant(pid: int) -> Callable[[], int]:
    return lambda: pid


class WorkerProcesses(Collector):
    """process_* series of every live worker, with a ``pid`` label: prometheus-client's process collector reports
    only the process that answers, which under several workers is one of them at random."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def collect(self) -> list[Metric]:
        families: dict[str, Metric] = {}
        for pid in _worker_pids(self.folder):
            if not _alive(pid):
                multiprocess.mark_process_dead(pid, str(self.folder))  # type: ignore[no-untyped-call]
                continue  # its live gauges no longer count
            for metric in ProcessCollector(pid=_constant(pid), registry=None).collect():
                family = families.get(metric.name)
                if family is None:
                    family = families[metric.name] = Metric(metric.name, metric.documentation, metric.type)
                for sample in metric.samples:
                    family.add_sample(sample.name, {**sample.labels, "pid": str(pid)}, sample.value)
        return list(families.values())


def exposition(extra: Collector | None = None) -> bytes:
    """The text a scrape gets: this process's series (every worker's, in multiprocess mode), process metrics and
    ``extra`` (the database's state, read for this scrape)."""
    folder = multiprocess_dir()
    if folder is None:
        from prometheus_client import REGISTRY

        registry: CollectorRegistry = REGISTRY  # with the process, platform and gc collectors
        if extra is None:
            return generate_latest(registry)
        combined = CollectorRegistry()
        combined.register(_Delegate(registry))
        combined.register(extra)
        return generate_latest(combined)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, str(folder))  # type: ignore[no-untyped-call]
    registry.register(WorkerProcesses(folder))
    if extra is not None:
        registry.register(extra)
    return generate_latest(registry)


class _Delegate(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> list[Metric]:
        return list(self.registry.collect())

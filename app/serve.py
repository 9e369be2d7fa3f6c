"""``modelreg serve``: the settings from flags and environment, the port reserved before anything is printed, the
migrations run once, then uvicorn with one process or ``--workers N`` (each worker builds its own application)."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

from app.config import SETTINGS, Settings, load_settings

log = logging.getLogger("modelreg")


def overrides_from_flags(args: argparse.Namespace) -> dict[str, object]:
    """The settings given as command-line flags (None where not given)."""
    return {
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        "data_dir": Path(args.data_dir) if getattr(args, "data_dir", None) else None,
        "database_url": getattr(args, "database_url", None),
        "oidc_issuer": getattr(args, "oidc_issuer", None),
        "oidc_audience": getattr(args, "oidc_audience", None),
        "policy_dir": Path(args.policy_dir) if getattr(args, "policy_dir", None) else None,
        "artifact_store": getattr(args, "artifact_store", None),
        "workers": getattr(args, "workers", None),
    }


def settings_from_flags(args: argparse.Namespace) -> Settings:
    """The settings from the environment, with the command-line flags over them."""
    return load_settings().with_overrides(**overrides_from_flags(args))


def _reserve(host: str, port: int) -> socket.socket:
    """A socket bound to the address the server will listen on, as uvicorn binds it (OSError when it cannot be):
    held while the server starts, so the port is known to be ours before anything is printed."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _cannot_listen(host: str, port: int, error: OSError) -> str:
    """One line: ``modelreg: cannot listen on 127.0.0.1:8000: address already in use (set MODELREG_PORT)``."""
    reason = error.strerror or str(error)
    reason = reason[:1].lower() + reason[1:]
    address_problem = isinstance(error, socket.gaierror) or error.errno == errno.EADDRNOTAVAIL
    hint = "set MODELREG_HOST" if address_problem else "set MODELREG_PORT"
    return f"modelreg: cannot listen on {host}:{port}: {reason} ({hint})"


def _banner(settings: Settings, args: argparse.Namespace) -> None:
    base = f"http://{settings.host}:{settings.port}"
    if settings.dev_issuer_enabled:
        log.warning(
            "development token issuer enabled: tokens are signed with a key in the data directory. "
            "Set MODELREG_OIDC_ISSUER for production.",
            extra={"data_dir": str(settings.data_dir.resolve())},
        )
        data_dir = f" --data-dir {settings.data_dir}" if args.data_dir else ""
        print(
            f"\n  GraphiQL:  {base}/graphql\n  Token:     modelreg token --sub you --role data-scientist{data_dir}"
            f"\n             (from a source checkout: ./dev modelreg token ...)\n",
            file=sys.stderr,
            flush=True,
        )
    else:
        print(f"\n  GraphiQL:  {base}/graphql\n", file=sys.stderr, flush=True)


def run_server(args: argparse.Namespace) -> int:
    """``modelreg serve``: migrate, then run the application under uvicorn (``--workers N``: N processes)."""
    import uvicorn

    from app.db import migrate
    from app.http.tuning import tune_server_process
    from app.logs import configure_logging
    from app.main import create_app

    settings = settings_from_flags(args)
    try:
        reserved = _reserve(settings.host, settings.port)
    except OSError as error:
        print(_cannot_listen(settings.host, settings.port, error), file=sys.stderr)
        return 3
    with reserved:  # released just before uvicorn binds the same address
        configure_logging(settings.log_level)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        migrate.upgrade(settings.effective_database_url)
        application = create_app(settings)
        _banner(settings, args)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": 10,
        "proxy_headers": True,
    }
    workers = settings.effective_workers
    if workers == 1:
        tune_server_process()
        uvicorn.run(application, **options)
        return 0
    # Each worker process builds its own application from the environment (app.main.application_from_environment),
    # so the flags given here are handed on as the variables they stand for. Migrations ran once, above.
    overrides = overrides_from_flags(args)
    for spec in SETTINGS:
        if overrides.get(spec.name) is not None:
            os.environ[spec.variable] = str(overrides[spec.name])
    metrics_dir, owned = _metrics_dir()
    log.info("starting worker processes", extra={"workers": workers, "metrics_dir": str(metrics_dir)})
    try:
        uvicorn.run("app.main:application_from_environment", factory=True, workers=workers, **options)
    finally:
        if owned:
            import shutil

            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _metrics_dir() -> tuple[Path, bool]:
    """The folder the workers write their Prometheus values to (prometheus-client's multiprocess mode): the given
    PROMETHEUS_MULTIPROC_DIR emptied, else a new temporary one removed at exit. Set before the workers start, as
    they read it when they first import prometheus-client."""
    import tempfile

    from app.observability.metrics import prepare_multiprocess_dir

    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    folder = Path(given) if given else Path(tempfile.mkdtemp(prefix="modelreg-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    prepare_multiprocess_dir(folder)
    return folder, not given

"""The ``modelreg`` command: serve, deliver webhooks (worker), mint development tokens, run migrations, check
artifacts, verify the audit log, import an MLflow registry, export the schema."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from app.config import ConfigError, parse_duration
from app.serve import run_server, settings_from_flags

log = logging.getLogger("modelreg")


def _token(args: argparse.Namespace) -> int:
    from app.auth import dev_issuer
    from app.auth.issuers import split_list

    settings = settings_from_flags(args)
    if not settings.dev_issuer_enabled:
        print(
            "modelreg: MODELREG_OIDC_ISSUER is set, so the development issuer is off; get a token from "
            "your identity provider",
            file=sys.stderr,
        )
        return 2
    try:
        ttl = dev_issuer.parse_ttl(args.ttl)
    except ValueError as error:
        print(f"modelreg: --ttl: {error}", file=sys.stderr)
        return 2
    audience = split_list(settings.oidc_audience)[0]  # the first accepted audience
    print(
        dev_issuer.mint_token(
            settings.data_dir,
            subject=args.sub,
            roles=args.role or [],
            audience=audience,
            ttl_seconds=ttl,
            service=args.service,
        )
    )
    return 0


def _db(args: argparse.Namespace) -> int:
    from app.db import migrate

    settings = settings_from_flags(args)
    if args.db_command == "upgrade":
        migrate.upgrade(settings.effective_database_url)
        print(migrate.current(settings.effective_database_url))
    else:
        print(migrate.current(settings.effective_database_url))
    return 0


def _artifacts(args: argparse.Namespace) -> int:
    import asyncio
    import json
    from datetime import timedelta

    from app.db import migrate
    from app.db.engine import create_database
    from app.db.uow import SqlUnitOfWorkFactory
    from app.services.maintenance import collect_garbage, verify_store
    from app.storage.factory import build_store

    settings = settings_from_flags(args)
    store = build_store(settings)
    try:
        grace = timedelta(seconds=parse_duration(args.grace))
    except ValueError as error:
        print(f"modelreg: --grace: {error}", file=sys.stderr)
        return 2

    async def run() -> int:
        try:
            return await operate()
        finally:
            await store.close()

    async def operate() -> int:
        if args.artifacts_command == "verify":
            verified = await verify_store(store)
            print(json.dumps({"checked": verified.checked, "bytes": verified.bytes, "mismatches": verified.mismatches}))
            return 1 if verified.mismatches else 0
        migrate.upgrade(settings.effective_database_url)  # as `serve` does: gc needs the current schema
        database = create_database(settings.effective_database_url)
        try:
            report = await collect_garbage(SqlUnitOfWorkFactory(database), store, grace=grace, dry_run=args.dry_run)
        finally:
            await database.dispose()
        print(
            json.dumps(
                {
                    "examined": report.examined,
                    "deleted": report.deleted,
                    "dry_run": args.dry_run,
                    "kept_referenced": report.kept_referenced,
                    "kept_recent": report.kept_recent,
                    "expired_uploads": report.expired_uploads,
                    "temporary_deleted": report.temporary_deleted,
                    "temporary_bytes": report.temporary_bytes,
                }
            )
        )
        return 0

    return asyncio.run(run())


def _audit(args: argparse.Namespace) -> int:
    import asyncio
    import json
    import time

    from app.db import migrate
    from app.db.engine import create_database
    from app.db.uow import SqlUnitOfWorkFactory
    from app.services.audit_log import verify_chain

    settings = settings_from_flags(args)
    migrate.upgrade(settings.effective_database_url)  # as `serve` does

    async def run() -> int:
        database = create_database(settings.effective_database_url)
        started = time.perf_counter()
        try:
            report = await verify_chain(SqlUnitOfWorkFactory(database))
        finally:
            await database.dispose()
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "checked": report.checked,
                    "first_broken_seq": report.first_broken_seq,
                    "problem": report.problem,
                    "head_seq": report.head_seq,
                    "head_hash": report.head_hash,
                    "seconds": round(time.perf_counter() - started, 3),
                }
            )
        )
        if not report.ok:
            print(f"modelreg: audit chain broken at event {report.first_broken_seq}: {report.problem}", file=sys.stderr)
        return 0 if report.ok else 1

    return asyncio.run(run())


def _worker(args: argparse.Namespace) -> int:
    import asyncio

    from app.db import migrate
    from app.logs import configure_logging
    from app.webhooks.wiring import run_worker

    settings = settings_from_flags(args)
    configure_logging(settings.log_level)
    migrate.upgrade(settings.effective_database_url)
    asyncio.run(run_worker(settings))
    return 0


def _import(args: argparse.Namespace) -> int:
    from app.logs import configure_logging
    from app.mlflow_import.command import run

    settings = settings_from_flags(args)
    configure_logging(settings.log_level)
    return run(settings, args)


def _policy(args: argparse.Namespace) -> int:
    from app.auth.explain import explain

    try:
        settings = settings_from_flags(args)
        report, status = explain(settings.policy_dir, args, settings.read_scope)
    except ValueError as error:
        print(f"modelreg: {error}", file=sys.stderr)
        return 2
    print(report)
    return status


def _export_schema(args: argparse.Namespace) -> int:
    from app.graphql.schema import schema

    text = schema.as_str() + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modelreg",
        description="modelreg: an ML model registry server.",
        epilog="push, pull, promote, status, requests, approve, reject, rollback, whoami and login are the client's "
        "commands (the modelreg-client package in client/, installed by ./dev setup).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-dir", help="data directory (MODELREG_DATA_DIR, default ./.modelreg)")
        p.add_argument("--database-url", help="database URL (MODELREG_DATABASE_URL, default SQLite in the data dir)")
        p.add_argument("--oidc-issuer", help="OIDC issuer URL (MODELREG_OIDC_ISSUER)")
        p.add_argument("--oidc-audience", help="accepted token audience (MODELREG_OIDC_AUDIENCE, default modelreg)")
        p.add_argument("--policy-dir", help="folder with model.conf and policy.csv (MODELREG_POLICY_DIR)")

    serve = sub.add_parser("serve", help="run the server")
    common(serve)
    serve.add_argument("--host", help="bind address (MODELREG_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (MODELREG_PORT, default 8000)")
    serve.add_argument(
        "--workers",
        type=int,
        help="server processes sharing the port, each like a replica (MODELREG_WORKERS, default 0: one per CPU core)",
    )
    serve.set_defaults(run=run_server)

    token = sub.add_parser("token", help="print a token from the local development issuer")
    common(token)
    token.add_argument("--sub", required=True, help="subject of the token")
    token.add_argument("--role", action="append", help="a role (repeat for several)")
    token.add_argument("--ttl", default="1h", help="lifetime such as 15m, 1h, 7d (default 1h)")
    token.add_argument("--service", action="store_true", help="a machine identity (CI) instead of a person")
    token.set_defaults(run=_token)

    db = sub.add_parser("db", help="database migrations")
    db.add_argument("db_command", choices=["upgrade", "current"])
    common(db)
    db.set_defaults(run=_db)

    artifacts = sub.add_parser("artifacts", help="verify stored files, or delete unreferenced ones")
    artifacts.add_argument("artifacts_command", choices=["verify", "gc"])
    common(artifacts)
    artifacts.add_argument("--artifact-store", help="store URI (MODELREG_ARTIFACT_STORE)")
    artifacts.add_argument(
        "--grace", default="24h", help="gc: keep unreferenced blobs and temporary files younger than this (24h)"
    )
    artifacts.add_argument("--dry-run", action="store_true", help="gc: report what would be deleted")
    artifacts.set_defaults(run=_artifacts)

    audit = sub.add_parser("audit", help="verify the audit log's hash chain (exit 1 at the first broken event)")
    audit.add_argument("audit_command", choices=["verify"])
    common(audit)
    audit.set_defaults(run=_audit)

    worker = sub.add_parser(
        "worker",
        help="deliver webhooks without serving HTTP (beside replicas run with "
        "MODELREG_DISPATCHER=false, or as extra delivery capacity)",
    )
    common(worker)
    worker.set_defaults(run=_worker)

    importing = sub.add_parser("import", help="bring another registry over (docs/mlflow-import.md)")
    importing_sub = importing.add_subparsers(dest="import_source", required=True)
    mlflow = importing_sub.add_parser(
        "mlflow",
        help="import an MLflow tracking server's model registry: models, versions with their files, stages, "
        "aliases, tags, runs as lineage; again to continue or to bring new versions over",
    )
    common(mlflow)
    mlflow.add_argument("--artifact-store", help="store URI (MODELREG_ARTIFACT_STORE)")
    mlflow.add_argument("--tracking-uri", required=True, help="the MLflow tracking server, http(s)://host:port")
    mlflow.add_argument(
        "--models", help="only models whose MLflow (or modelreg) name matches this glob, e.g. 'fraud~*'"
    )
    mlflow.add_argument("--dry-run", action="store_true", help="read and report what would be imported; write nothing")
    mlflow.add_argument("--concurrency", type=int, default=8, help="versions whose files are copied at once (8)")
    mlflow.add_argument(
        "--actor", default="mlflow-import", help="the service identity the import acts and is audited as"
    )
    mlflow.set_defaults(run=_import)

    policy = sub.add_parser("policy", help="ask the authorization policy (docs/authorization.md)")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True)
    explain = policy_sub.add_parser(
        "explain", help="print the decision for a caller and the rules that made it (exit 0 allowed, 1 refused)"
    )
    common(explain)
    explain.add_argument("--sub", default="someone", help="the caller's subject (for --owner)")
    explain.add_argument("--role", action="append", help="a role name in the token, e.g. mlops or approver@fraud/")
    explain.add_argument("--group", action="append", help="a group in the token (the name group:GROUP)")
    explain.add_argument("--name", action="append", help="any other name a role claim yields, e.g. client:ci-fraud")
    explain.add_argument("--action", required=True, help="a permission (model:write) or an action (approve)")
    explain.add_argument(
        "--resource",
        help="models:/NAME (or a version's URI), a namespace such as fraud/, or * for anywhere; "
        "none: the registry as a whole",
    )
    explain.add_argument("--owner", help="the model's owner (a subject or group:NAME), for the owner rule")
    explain.set_defaults(run=_policy)

    export = sub.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    export.add_argument("--output", help="write to this file instead of standard output")
    export.set_defaults(run=_export_schema)
    return parser


def _client_command(argv: list[str]) -> int | None:
    """Runs a command of the client package (modelreg-client: push, pull, promote...) when it is installed and
    ``argv`` names one, so one `modelreg` does both; None otherwise."""
    try:
        from modelreg_client.cli import COMMANDS
        from modelreg_client.cli import main as client_main
    except ImportError:
        return None
    return client_main(argv) if argv and argv[0] in COMMANDS else None


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    status = _client_command(arguments)
    if status is not None:
        return status
    args = _parser().parse_args(arguments)
    try:
        return args.run(args)
    except ConfigError as error:
        print(f"modelreg: configuration error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

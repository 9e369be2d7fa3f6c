"""``modelreg import mlflow --tracking-uri URL [--models GLOB] [--dry-run]``: progress on standard error, the
summary as one JSON object on standard output; exit 0 when nothing failed, 1 when something did, 2 on bad input,
3 when the tracking server cannot be read."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any, TextIO

from app.config import Settings
from app.domain.errors import RegistryError
from app.domain.identity import Principal, PrincipalKind
from app.domain.imports import check_source
from app.mlflow.tracking import MlflowUnavailable

from .importer import Options
from .summary import Summary

IMPORT_ROLE = "mlops"  # the role the import acts with; the policy must grant it registry:import


def principal_for(actor: str) -> Principal:
    """The service identity the import acts as: it is what the audit log and the stage history name."""
    return Principal(subject=actor, kind=PrincipalKind.SERVICE, roles=frozenset({IMPORT_ROLE}))


def _line(summary: Summary) -> str:
    if summary.nothing_to_do:
        failed = sum(counts.failed for counts in summary.counts.values())
        if failed:
            return f"nothing to do: everything else in {summary.tracking_uri} is imported already; {failed} failed:"
        return f"nothing to do: everything in {summary.tracking_uri} is imported already"
    verb = "would import" if summary.dry_run else "imported"
    parts = []
    for kind, counts in summary.counts.items():
        parts.append(f"{kind} {counts.imported} {verb}, {counts.skipped} skipped, {counts.failed} failed")
    return "; ".join(parts) + f" ({summary.seconds:.1f} s)"


def run(settings: Settings, args: Any, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from app.db import migrate

    from .wiring import import_parts

    out, err = out or sys.stdout, err or sys.stderr
    try:
        source = check_source(args.tracking_uri)
    except RegistryError as error:
        print(f"modelreg: {error.message}", file=err)
        return 2
    if args.concurrency < 1:
        print("modelreg: --concurrency must be at least 1", file=err)
        return 2
    migrate.upgrade(settings.effective_database_url)  # as `serve` does: the import needs the current schema
    options = Options(source, models=args.models, dry_run=args.dry_run, concurrency=args.concurrency)
    token = os.environ.get("MLFLOW_TRACKING_TOKEN") or None
    if token is None and (settings.mlflow_tracking_uri or "").rstrip("/") == source:
        token = settings.mlflow_tracking_token  # the server's own MODELREG_MLFLOW_TRACKING_TOKEN for that server

    def progress(line: str) -> None:
        print(line, file=err, flush=True)

    async def go() -> Summary:
        async with import_parts(settings, source, token) as parts:
            return await parts.importer(principal_for(args.actor), options, progress).run()

    try:
        summary = asyncio.run(go())
    except MlflowUnavailable as error:
        print(f"modelreg: cannot read the MLflow registry: {error}", file=err)
        return 3
    except RegistryError as error:  # refused as a whole (FORBIDDEN: the policy does not grant registry:import)
        print(f"modelreg: {error.code.value}: {error.message}", file=err)
        return 4 if error.code.value == "FORBIDDEN" else 1
    print(json.dumps(summary.as_json()), file=out)
    print(_line(summary), file=err)
    for failure in summary.failures:
        where = " ".join(f"{key} {failure[key]}" for key in ("model", "version", "alias") if key in failure)
        print(f"  failed: {where}: {failure['reason']}", file=err)
    return 0 if summary.ok else 1

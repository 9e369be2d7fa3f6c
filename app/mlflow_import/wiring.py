"""What ``modelreg import mlflow`` runs on, built once per run in this process (as ``modelreg worker`` builds its
dispatcher): the database, the authorizer, the artifact store, the audit trail, the version service with a copier
that reads sources from the tracking server being imported, and the import use cases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from app.auth.authorizer import CasbinAuthorizer
from app.config import ConfigError, Settings
from app.db.engine import create_database
from app.db.uow import SqlUnitOfWorkFactory
from app.domain.identity import Principal
from app.mlflow.tracking import MlflowRegistry
from app.mlflow.wiring import build_source_reader
from app.promotion import PolicyError, load_promotion_policy
from app.services.audit import AuditTrail
from app.services.events import EventOutbox
from app.services.imports import ImportService
from app.services.registration import RegistrationVerifier
from app.services.source_copy import SourceCopier
from app.services.versions import VersionService
from app.storage.factory import build_store

from .importer import Importer, Options


@dataclass(frozen=True)
class ImportParts:
    versions: VersionService
    imports: ImportService
    copier: SourceCopier
    registry: MlflowRegistry

    def importer(
        self, principal: Principal, options: Options, progress: Callable[[str], None] | None = None
    ) -> Importer:
        return Importer(self.registry, self.imports, self.versions, principal, options, progress or (lambda _: None))


@asynccontextmanager
async def import_parts(settings: Settings, tracking_uri: str, token: str | None) -> AsyncIterator[ImportParts]:
    """The parts of one import run; closed (copies in flight cancelled, to be resumed by the next run) at the end."""
    try:
        promotion = load_promotion_policy(settings.promotion_policy_path)
    except PolicyError as error:
        raise ConfigError(f"MODELREG_PROMOTION_POLICY: {error}") from None
    database = create_database(settings.effective_database_url, statement_timeout=settings.statement_timeout)
    uow = SqlUnitOfWorkFactory(database)
    authorizer = CasbinAuthorizer(settings.policy_dir, settings.read_scope)
    store = build_store(settings)
    trail = AuditTrail(uow, EventOutbox())  # webhooks deliver the import's events from the outbox, as any change's
    # Sources on the tracking server being imported are read through it (with its token); local folders, private
    # addresses and Azure Blob Storage as the server's own settings allow (MODELREG_SOURCE_*).
    reader = build_source_reader(settings.with_overrides(mlflow_tracking_uri=tracking_uri, mlflow_tracking_token=token))
    copier = SourceCopier(uow, store, reader, settings.max_upload_size, trail)
    verifier = RegistrationVerifier(uow, store, settings.max_upload_size, trail)
    registry = MlflowRegistry(tracking_uri, token)
    try:
        yield ImportParts(
            versions=VersionService(authorizer, store, verifier, trail, copier=copier),
            imports=ImportService(uow, authorizer, trail, promotion),
            copier=copier,
            registry=registry,
        )
    finally:
        await copier.stop()
        await registry.close()
        await reader.close()
        await store.close()
        await database.dispose()

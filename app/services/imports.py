"""Use cases that record what ``modelreg import mlflow`` brings over (docs/mlflow-import.md).

The importer (app/mlflow_import) reads MLflow and registers each version through ``VersionService.create`` (which
copies its files); what only an import may do happens here, each under ``registry:import`` in one audited
transaction: a model created with MLflow's description and tags and recorded as imported, version numbers skipped
where MLflow has gaps, each imported version recorded with MLflow's times and user and its MLflow stage (in the
stage history, as imported), and aliases set as they were, protected ones included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.domain.audit import AuditTarget, model_target, version_target
from app.domain.commands import NewModel
from app.domain.entities import ModelAlias, ModelVersion, Stage, VersionStatus
from app.domain.errors import Conflict, FailedPrecondition, NotFound
from app.domain.events import EventDraft, EventType
from app.domain.governance import StageChange
from app.domain.identity import Permission, Principal
from app.domain.imports import ImportedModel, check_source, stage_reason, stage_to_record
from app.domain.promotion import PromotionPolicy
from app.domain.rules import check_alias

from .aliases import alias_target
from .audit import AuditTrail, model_state
from .common import find_model, find_version, utc_now
from .ports import Authorizer, Clock, UnitOfWorkFactory


@dataclass(frozen=True)
class RecordedVersion:
    """An imported version as recorded: its stage now, and why it is not MLflow's stage when it is not."""

    version: ModelVersion
    stage: Stage
    note: str | None


def _imported(source: str, original: dict[str, Any]) -> dict[str, Any]:
    return {"from": source, "mlflow": original}


class ImportService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        authorizer: Authorizer,
        trail: AuditTrail,
        policy: PromotionPolicy | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._authorizer = authorizer
        self._trail = trail
        self._policy = policy or PromotionPolicy()
        self._clock = clock

    async def imported(self, principal: Principal, source: str, mlflow_name: str) -> ImportedModel | None:
        """What an earlier import made of this MLflow model (None: nothing yet, or the model was deleted since)."""
        target = AuditTarget("RegisteredModel", None, mlflow_name[:256])
        await self._trail.require(self._authorizer, principal, Permission.REGISTRY_IMPORT, "model.import.read", target)
        source = check_source(source)
        async with self._uow(write=False) as uow:
            return await uow.imports.model(source, mlflow_name)

    async def import_model(
        self, principal: Principal, source: str, mlflow_name: str, command: NewModel, original: dict[str, Any]
    ) -> ImportedModel:
        """Create the model an MLflow registered model becomes, with its description and tags, recorded as imported.
        A model of that name that was not imported from this server is CONFLICT: the import never merges into it."""
        async with self._trail.attempt(principal, "model.import", model_target(command.name)) as attempt:
            self._authorizer.require(principal, Permission.REGISTRY_IMPORT)
            source = check_source(source)
            command.validate()
            now = self._clock()
            async with attempt.transaction() as uow:
                if await uow.imports.model(source, mlflow_name) is not None:
                    raise Conflict(f"MLflow model {mlflow_name!r} of {source} is imported already", field="name")
                if await uow.models.get_by_name(command.name) is not None:
                    raise Conflict(
                        f"registered model {command.name!r} exists in modelreg and was not imported from {source}; "
                        "the import does not merge into it: rename or delete it, or leave the model out (--models)",
                        field="name",
                    )
                model = await uow.models.add(command, command.owner or principal.subject, principal.subject, now)
                await uow.imports.add(source, mlflow_name, None, model.id, None, principal.subject, now, original)
                attempt.record(
                    after={**model_state(model, dict(command.tags)), "imported": _imported(source, original)},
                    target=model_target(model.name, model.id),
                    events=[EventDraft(EventType.MODEL_CREATED, model.name)],
                )
        return ImportedModel(model.id, model.name, next_version=1)

    async def skip_version_numbers(self, principal: Principal, name: str, next_number: int, reason: str) -> int:
        """Let the model's next version be numbered ``next_number`` (MLflow deleted the versions before it), never
        going back; the model's next number after the change."""
        async with self._trail.attempt(principal, "model.import.numbers", model_target(name)) as attempt:
            self._authorizer.require(principal, Permission.REGISTRY_IMPORT)
            async with attempt.transaction() as uow:
                model = await find_model(uow, name, for_update=True)
                before = await uow.imports.next_version(model.id)
                await uow.imports.skip_version_numbers(model.id, next_number)
                after = max(before, next_number)
                attempt.record(
                    before={"nextVersion": before},
                    after={"nextVersion": after, "reason": reason},
                    target=model_target(name, model.id),
                )
        return after

    async def record_version(
        self,
        principal: Principal,
        source: str,
        mlflow_name: str,
        mlflow_version: int,
        version_id: int,
        stage: Stage,
        original: dict[str, Any],
        note: str | None = None,
    ) -> RecordedVersion:
        """Record a version registered from MLflow as imported, and give it its MLflow ``stage`` (in the stage history
        as imported, with MLflow's times and user), unless it did not register (it keeps NONE) or another version
        holds PRODUCTION. ``note`` says why ``stage`` differs from MLflow's, when it does. A version whose copy has
        not finished is FAILED_PRECONDITION: it is recorded once settled, by a later run."""
        target = AuditTarget("ModelVersion", str(version_id))
        async with self._trail.attempt(principal, "version.import", target) as attempt:
            self._authorizer.require(principal, Permission.REGISTRY_IMPORT)
            source = check_source(source)
            now = self._clock()
            async with attempt.transaction() as uow:
                found = (await uow.versions.get_many([version_id])).get(version_id)
                if found is None:
                    raise NotFound(f"model version {version_id} does not exist", field="id")
                model = await find_model(uow, found.model_name, for_update=True)
                version = (await uow.versions.get_many([version_id]))[version_id]  # as of the lock
                before = version.stage
                if await uow.imports.is_recorded(source, mlflow_name, mlflow_version):
                    raise Conflict(f"version {mlflow_version} of MLflow model {mlflow_name!r} is recorded already")
                if version.status is VersionStatus.PENDING_REGISTRATION:
                    raise FailedPrecondition(
                        f"the copy of the files of version {version.version} of {model.name!r} has not finished; "
                        "run the import again to continue it",
                        field="version",
                    )
                holders = await uow.versions.in_stage(model.id, Stage.PRODUCTION)
                in_production = [held.version for held in holders if held.id != version.id]
                recorded, refusal = stage_to_record(stage, version.status, in_production)
                await uow.imports.add(
                    source, mlflow_name, mlflow_version, model.id, version.id, principal.subject, now, original
                )
                events = []
                if recorded is not Stage.NONE and version.stage is not recorded:
                    reason = stage_reason(source, original) + (f": {note}" if note else "")
                    version = await uow.versions.set_stage(version.id, recorded, now)
                    await uow.transitions.record_stage_change(
                        StageChange(
                            model_id=model.id,
                            model_name=model.name,
                            version=version.version,
                            from_stage=before,
                            to_stage=recorded,
                            changed_at=now,
                            changed_by=principal.subject,
                            reason=reason,
                            request_id=None,
                        )
                    )
                    await uow.models.touch(model.id, now)
                    events.append(EventDraft(EventType.VERSION_UPDATED, model.name, version.version))
                note = refusal or note
                attempt.record(
                    before={"stage": before},
                    after={"stage": recorded, "imported": _imported(source, original), "note": note},
                    target=version_target(model.name, version.version, version.id),
                    events=events,
                )
        return RecordedVersion(version, recorded, note)

    async def import_alias(self, principal: Principal, source: str, name: str, alias: str, number: int) -> ModelAlias:
        """Point ``alias`` at a version as MLflow has it, protected aliases included (recorded as imported, not
        requested). An alias that points elsewhere in modelreg already is CONFLICT: the import leaves it."""
        async with self._trail.attempt(principal, "alias.import", alias_target(name, alias)) as attempt:
            self._authorizer.require(principal, Permission.REGISTRY_IMPORT)
            source = check_source(source)
            check_alias(alias)
            async with attempt.transaction() as uow:
                model, version = await find_version(uow, name, number, for_update=True)
                current = await uow.aliases.get(model.id, alias)
                if current is not None:
                    raise Conflict(
                        f"alias {alias!r} of {name!r} points at version {current.version} in modelreg already; the "
                        f"import leaves it (MLflow has it on the version imported as {number})",
                        field="alias",
                    )
                result = await uow.aliases.set(version, alias, principal.subject, self._clock())
                attempt.record(
                    before={"version": None},
                    after={
                        "version": number,
                        "protected": self._policy.is_protected(alias),
                        "imported": {"from": source},
                    },
                    target=alias_target(name, alias, model.id),
                    events=[EventDraft(EventType.ALIAS_MOVED, name, number)],
                )
        return result

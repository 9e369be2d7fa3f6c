"""Use cases on model versions."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from app.domain.artifacts import ArtifactFile, StagedFile, check_uploads_usable
from app.domain.audit import AuditTarget, version_target
from app.domain.commands import NewModel, NewVersion, VersionChanges
from app.domain.deletion import check_version_deletable
from app.domain.entities import ArtifactRef, ModelVersion, RegisteredModel, VersionStatus
from app.domain.errors import Conflict, NotFound
from app.domain.events import EventDraft, EventType
from app.domain.identity import Permission, Principal
from app.domain.rules import check_tag

from . import idempotency
from .audit import Attempt, AuditTrail, version_state
from .common import find_model, find_version, find_version_to_change, utc_now
from .lineage_links import derivations, link_new_version, lock_with_parents, resolve_parents
from .ports import Authorizer, Clock
from .registration import RegistrationVerifier
from .source_copy import SourceCopier
from .storage_port import ArtifactStore
from .version_files import staged_files, stored_files, with_manifest


def _replayed(version: ModelVersion) -> AuditTarget:  # idempotent replays (issue 14) name the version
    return version_target(version.model_name, version.version, version.id)


@dataclass(frozen=True)
class TaggedVersion:
    """A version as a tag change left it, with its tags then, for a caller who may read them (the answer need not
    read them again); None for another, whose read of them is refused as before."""

    version: ModelVersion
    tags: dict[str, str] | None


class VersionService:
    def __init__(
        self,
        authorizer: Authorizer,
        store: ArtifactStore,
        verifier: RegistrationVerifier,
        trail: AuditTrail,
        clock: Clock = utc_now,
        copier: SourceCopier | None = None,
    ) -> None:
        self._authorizer = authorizer
        self._store = store
        self._verifier = verifier
        self.copier = copier
        self._trail = trail
        self._clock = clock

    async def create(
        self, principal: Principal, command: NewVersion, idempotency_key: str | None = None
    ) -> ModelVersion:
        """Register the next version of a model, numbered 1, 2, 3... without gaps or duplicates.

        With ``create_model_if_missing`` the model is registered in the same transaction. Files named by
        digest must be stored already; files named by staged upload leave the version PENDING_REGISTRATION
        until the background verification settles it, and so does a ``source`` that can be read until its files
        are copied (one that cannot becomes the version's external artifact reference).
        """
        target = version_target(command.model_name, None)
        async with self._trail.attempt(principal, "version.create", target) as attempt:
            self._authorizer.require(principal, Permission.VERSION_WRITE, command.model_name)
            if command.create_model_if_missing:
                self._authorizer.require(principal, Permission.MODEL_WRITE, command.model_name)
            if command.run or command.code or command.datasets or command.parents:
                self._authorizer.require(principal, Permission.LINEAGE_WRITE, command.model_name)
            command.validate()
            command = command.canonical()
            listing = None
            if command.source is not None:
                listing = await self.copier.listing(command.source) if self.copier else None
                if listing is None:
                    command = replace(command, artifact=ArtifactRef(uri=command.source), source=None)
            stored = await stored_files(self._store, command.files)
            staged = staged_files(command.files)
            try:
                version = await self._create_once(attempt, principal, command, stored, staged, idempotency_key)
            except Conflict:
                # Another client registered the model between our lookup and insert; it exists now.
                if not command.create_model_if_missing:
                    raise
                version = await self._create_once(attempt, principal, command, stored, staged, idempotency_key)
        if staged:
            self._verifier.schedule(version.id)
        if command.source is not None and self.copier is not None:
            self.copier.schedule(version.id, command.source, listing)
        return version

    async def _create_once(
        self,
        attempt: Attempt,
        principal: Principal,
        command: NewVersion,
        stored: list[ArtifactFile],
        staged: list[StagedFile],
        idempotency_key: str | None = None,
    ) -> ModelVersion:
        now = self._clock()
        async with attempt.transaction() as uow:
            # idempotency key (issue 14): a retry with the same key answers the version the first call created
            done = await idempotency.replay(
                attempt, uow, "createModelVersion", idempotency_key, command, now, uow.versions.get_many, _replayed
            )
            if done is not None:
                return done
            # Without parents the model's row is the only one to lock (lock_with_parents): locked as its number is
            # taken, in one statement.
            numbered = (
                None if command.parents else await uow.models.allocate_version_number_by_name(command.model_name, now)
            )
            if numbered is not None:
                model: RegisteredModel | None = numbered[0]
            else:  # a model without a number taken is missing, unless parents left it to be locked with them
                model = await uow.models.get_by_name(command.model_name) if command.parents else None
            if model is None:
                if not command.create_model_if_missing:
                    raise NotFound(
                        f"registered model {command.model_name!r} does not exist; create it first or pass "
                        "createModelIfMissing: true",
                        field="name",
                    )
                model = await uow.models.add(
                    NewModel(name=command.model_name), principal.subject, principal.subject, now
                )
            upload_ids = [file.upload_id for file in staged]
            if staged:
                usable = await uow.artifacts.unused_uploads(upload_ids, now, for_update=True)
                check_uploads_usable(staged, usable)
            parents = await resolve_parents(uow, command.parents)
            if parents:
                parents = await lock_with_parents(uow, model, parents)
            number = numbered[1] if numbered is not None else await uow.models.allocate_version_number(model.id, now)
            files: list[ArtifactFile | StagedFile] = [*stored, *staged]
            pending = bool(staged) or command.source is not None
            status = VersionStatus.PENDING_REGISTRATION if pending else VersionStatus.READY
            version = await uow.versions.add(
                model, number, with_manifest(command, number, files), principal.subject, now, files=files, status=status
            )
            if staged:
                await uow.artifacts.use_uploads(upload_ids, version.id)
            if command.source is not None:
                await uow.sources.add(version.id, command.source)
            lineage = await link_new_version(uow, version, command, parents, principal.subject, now)
            created_model = model.created_at == now and command.create_model_if_missing
            events = [EventDraft(EventType.VERSION_CREATED, model.name, number, version, ())]
            if created_model:
                events.insert(0, EventDraft(EventType.MODEL_CREATED, model.name, number, version, ()))
            if status is VersionStatus.READY:
                events.append(EventDraft(EventType.VERSION_READY, model.name, number, version, ()))
            attempt.record(
                after={
                    **version_state(version),
                    "metrics": [asdict(m) for m in command.metrics],
                    "params": command.params,
                    "tags": command.tags,
                    "files": [{"path": f.path, "digest": f.digest, "size": f.size} for f in files],
                    **({"source": command.source} if command.source is not None else {}),
                    "modelCreated": created_model,
                    "lineage": lineage,
                },
                target=version_target(model.name, number, version.id),
                events=events,
            )
            await idempotency.remember(uow, principal, "createModelVersion", idempotency_key, version.id)  # issue 14
        return version

    async def update(self, principal: Principal, name: str, number: int, changes: VersionChanges) -> ModelVersion:
        """Change a version's description; its artifact, metrics, params and references never change."""
        async with self._trail.attempt(principal, "version.update", version_target(name, number)) as attempt:
            self._authorizer.require(principal, Permission.VERSION_WRITE, name)
            changes.validate()
            async with attempt.transaction() as uow:
                _, version = await find_version(uow, name, number)
                updated = await uow.versions.update(version.id, changes, self._clock())
                attempt.record(
                    before={"description": version.description},
                    after={"description": updated.description},
                    target=version_target(name, number, version.id),
                    events=[EventDraft(EventType.VERSION_UPDATED, name, number, updated)],
                )
        return updated

    async def delete(self, principal: Principal, name: str, number: int) -> ModelVersion:
        """Delete a version that is not in PRODUCTION and carries no alias."""
        async with self._trail.attempt(principal, "version.delete", version_target(name, number)) as attempt:
            self._authorizer.require(principal, Permission.VERSION_DELETE, name)
            async with attempt.transaction() as uow:
                model = await find_model(uow, name, for_update=True)
                version = await uow.versions.get(model.id, number)
                if version is None:
                    raise NotFound(f"model {name!r} has no version {number}", field="version")
                # After the model's row, as every writer of edges takes them: an edge added now is seen below
                await uow.lineage.lock_graph()
                derived = await derivations(uow, version)
                serving = (await uow.deployments.environments_serving([version.id])).get(version.id, [])
                aliases = (await uow.aliases.for_versions([version.id]))[version.id]
                check_version_deletable(
                    name, version, derived=derived, serving_in=serving, aliases=[alias.alias for alias in aliases]
                )
                await uow.versions.delete(version.id)
                attempt.record(
                    before=version_state(version),
                    target=version_target(name, number, version.id),
                    events=[EventDraft(EventType.VERSION_DELETED, name, number)],
                )
        return version

    async def set_tag(self, principal: Principal, name: str, number: int, key: str, value: str) -> TaggedVersion:
        """Set (or overwrite) one tag on a version: the version and its tags after the change."""
        async with self._trail.attempt(principal, "version.tag.set", version_target(name, number)) as attempt:
            self._authorizer.require(principal, Permission.VERSION_WRITE, name)
            check_tag(key, value, "key")
            async with attempt.transaction() as uow:
                _, version, aliases = await find_version_to_change(uow, name, number)
                before, updated = await uow.versions.set_tag(version, key, value, self._clock())
                attempt.record(
                    before={"tags": {key: before.get(key)}},
                    after={"tags": {key: value}},
                    target=version_target(name, number, version.id),
                    events=[EventDraft(EventType.VERSION_TAGS_CHANGED, name, number, updated, aliases)],
                )
        return TaggedVersion(updated, self._readable({**before, key: value}, principal))

    def _readable(self, tags: dict[str, str], principal: Principal) -> dict[str, str] | None:
        """``tags`` if the registry's read check lets ``principal`` read them: nothing is refused here, so nothing is
        recorded (the read the answer would otherwise make records a refusal)."""
        return tags if self._authorizer.allows(principal, Permission.REGISTRY_READ) else None

    async def delete_tag(self, principal: Principal, name: str, number: int, key: str) -> TaggedVersion:
        """Remove one tag from a version; removing a tag that is not there is NOT_FOUND. The version and its tags
        after the change."""
        async with self._trail.attempt(principal, "version.tag.delete", version_target(name, number)) as attempt:
            self._authorizer.require(principal, Permission.VERSION_WRITE, name)
            async with attempt.transaction() as uow:
                _, version, aliases = await find_version_to_change(uow, name, number)
                tags = (await uow.versions.tags([version.id]))[version.id]
                old = tags.pop(key, None)
                if not await uow.versions.delete_tag(version.id, key):
                    raise NotFound(f"version {number} of {name!r} has no tag {key!r}", field="key")
                updated = await uow.versions.touch(version, self._clock())
                attempt.record(
                    before={"tags": {key: old}},
                    after={"tags": {key: None}},
                    target=version_target(name, number, version.id),
                    events=[EventDraft(EventType.VERSION_TAGS_CHANGED, name, number, updated, aliases)],
                )
        return TaggedVersion(updated, self._readable(tags, principal))

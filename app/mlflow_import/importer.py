"""``modelreg import mlflow``: brings an MLflow tracking server's model registry over (docs/mlflow-import.md).

Model by model, in MLflow's order: the model (description, tags), then its versions by number (each registered
through ``VersionService.create`` with its MLflow source, so its files are copied into the store and digested, and
its run as lineage), waiting for the copies in batches of ``concurrency`` before recording each version as imported
with its stage, then its aliases. What was imported before is skipped, so a second run changes nothing and an
interrupted one continues where it stopped.
"""

from __future__ import annotations

import fnmatch
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from app.domain.commands import NewModel, NewVersion
from app.domain.entities import ModelVersion, Stage, TrackerKind, VersionStatus
from app.domain.errors import Conflict, Forbidden, NotFound, RegistryError
from app.domain.identity import Principal
from app.domain.imports import ImportedModel, check_source, planned_stages, stage_of
from app.domain.lineage_commands import NewRun
from app.domain.rules import check_model_name
from app.mlflow.names import to_modelreg
from app.mlflow.tracking import MlflowModel, MlflowRegistry, MlflowUnavailable, MlflowVersion
from app.services.imports import ImportService
from app.services.versions import VersionService

from .commands import idempotency_key, version_command
from .summary import Summary

log = logging.getLogger("modelreg.import")
PROGRESS_EVERY_SECONDS = 10.0  # within a model with many versions


@dataclass(frozen=True)
class Options:
    tracking_uri: str
    models: str | None = None  # a glob over MLflow names (or the modelreg names they become)
    dry_run: bool = False
    concurrency: int = 8  # versions whose copies run at once


class Importer:
    def __init__(
        self,
        registry: MlflowRegistry,
        imports: ImportService,
        versions: VersionService,
        principal: Principal,
        options: Options,
        progress: Callable[[str], None] = lambda line: None,
        settle: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._registry = registry
        self._imports = imports
        self._versions = versions
        self._principal = principal
        self._options = options
        self._source = check_source(options.tracking_uri)
        self._progress = progress
        copier = versions.copier
        self._settle = settle or (copier.wait if copier is not None else None)
        self.summary = Summary(self._source, dry_run=options.dry_run)
        self._noted_runs: set[str] = set()
        self._said = time.perf_counter()

    def _wanted(self, model: MlflowModel) -> bool:
        pattern = self._options.models
        return pattern is None or any(
            fnmatch.fnmatchcase(name, pattern) for name in (model.name, to_modelreg(model.name))
        )

    async def run(self) -> Summary:
        started = time.perf_counter()
        models = [model async for model in self._registry.models() if self._wanted(model)]
        self._progress(f"{len(models)} registered models to look at in {self._source}")
        for index, model in enumerate(models, 1):
            before = {kind: (c.imported, c.skipped, c.failed) for kind, c in self.summary.counts.items()}
            model_started = time.perf_counter()
            try:
                await self._model(model)
            except MlflowUnavailable as error:
                self.summary.failed("models", model.name, f"reading MLflow: {error}")
            except Forbidden:
                raise  # the import as a whole is refused (the policy does not grant registry:import)
            except RegistryError as error:  # anything else refused stops this model, not the others
                self.summary.failed("models", model.name, f"{error.code.value}: {error.message}")
            after = self.summary.counts["versions"]
            done = before["versions"]
            self._progress(
                f"[{index}/{len(models)}] {model.name}: versions {after.imported - done[0]} "
                f"{'to import' if self._options.dry_run else 'imported'}, {after.skipped - done[1]} skipped, "
                f"{after.failed - done[2]} failed ({time.perf_counter() - model_started:.1f} s)"
            )
        self.summary.seconds = time.perf_counter() - started
        return self.summary

    async def _model(self, model: MlflowModel) -> None:
        name = to_modelreg(model.name)
        try:
            check_model_name(name)
        except RegistryError as error:
            self.summary.failed("models", model.name, f"modelreg refuses the name {name!r}: {error.message}")
            return
        imported = await self._imports.imported(self._principal, self._source, model.name)
        versions = await self._registry.versions(model.name)
        if imported is None:
            if self._options.dry_run:
                self.summary.imported("models")
            else:
                try:
                    imported = await self._imports.import_model(
                        self._principal,
                        self._source,
                        model.name,
                        NewModel(name=name, description=model.description, tags=model.tags),
                        model.original(),
                    )
                except RegistryError as error:
                    self.summary.failed("models", model.name, error.message)
                    return
                self.summary.imported("models")
        else:
            self.summary.skipped("models")
        await self._versions_of(model, name, imported, versions)
        if imported is not None and not self._options.dry_run:
            imported = await self._imports.imported(self._principal, self._source, model.name)
        if self._options.dry_run:
            self._aliases(model, imported)
        else:
            await self._import_aliases(model, name, imported)

    async def _versions_of(
        self, model: MlflowModel, name: str, imported: ImportedModel | None, versions: list[MlflowVersion]
    ) -> None:
        done = imported.versions if imported else {}
        todo = []
        for version in versions:
            earlier = done.get(version.version)
            if earlier is not None:
                if earlier.status is VersionStatus.FAILED_REGISTRATION:
                    self.summary.failed(
                        "versions",
                        model.name,
                        f"imported as version {earlier.number}, whose files could not be copied "
                        f"({earlier.status_message}); delete that version in modelreg and run the import again",
                        version.version,
                    )
                else:
                    self.summary.skipped("versions")
                    if stage_of(version.current_stage) is not Stage.NONE:
                        self.summary.skipped("stages")
            elif version.status != "READY":
                self.summary.skipped("versions")
                self.summary.note(
                    model.name,
                    f"not imported: {version.status} in MLflow ({version.status_message or 'no message'})",
                    version.version,
                )
            else:
                todo.append(version)
        if self._options.dry_run:
            self.summary.imported("versions", len(todo))
            self.summary.imported("stages", sum(stage_of(v.current_stage) is not Stage.NONE for v in todo))
            return
        if not todo or imported is None:
            return
        planned = planned_stages({v.version: stage_of(v.current_stage) for v in versions if v.status == "READY"})
        next_number = imported.next_version
        size = max(1, self._options.concurrency)
        for start in range(0, len(todo), size):
            created: list[tuple[MlflowVersion, ModelVersion]] = []
            for version in todo[start : start + size]:
                if next_number < version.version:
                    gap = f"MLflow has no version {next_number}" + (
                        f"-{version.version - 1}" if version.version - 1 > next_number else ""
                    )
                    next_number = await self._imports.skip_version_numbers(
                        self._principal, name, version.version, f"imported from MLflow {self._source}: {gap}"
                    )
                try:
                    registered = await self._register(name, version)
                except MlflowUnavailable as error:
                    self.summary.failed("versions", model.name, f"reading MLflow: {error}", version.version)
                    continue
                except RegistryError as error:
                    self.summary.failed("versions", model.name, error.message, version.version)
                    continue
                next_number = max(next_number, registered.version + 1)
                created.append((version, registered))
            if self._settle is not None:
                await self._settle()  # the copies of this batch, stored and digested
            for version, registered in created:
                await self._record(model, version, registered, *planned[version.version])
            if time.perf_counter() - self._said > PROGRESS_EVERY_SECONDS and start + size < len(todo):
                self._said = time.perf_counter()
                self._progress(f"  {model.name}: {start + size} of {len(todo)} versions")

    async def _register(self, name: str, version: MlflowVersion) -> ModelVersion:
        """Register the version (its files copied from its source). The idempotency key makes a repeat after an
        interruption answer the version registered then."""
        run = await self._registry.run(version.run_id) if version.run_id else None
        command = version_command(self._source, name, version, run)
        key = idempotency_key(self._source, version.name, version.version)
        try:
            return await self._create(command, key)
        except Conflict as error:
            # The run is registered already with other values (its metrics moved on since): link it by id only.
            if not version.run_id or "already registered" not in error.message:
                raise
            return await self._create(replace(command, run=NewRun(TrackerKind.MLFLOW, version.run_id)), key)

    async def _create(self, command: NewVersion, key: str) -> ModelVersion:
        try:
            return await self._versions.create(self._principal, command, idempotency_key=key)
        except NotFound as error:
            if error.field != "idempotencyKey":
                raise
            # The version an earlier run registered under this key was deleted since: register it again.
            return await self._versions.create(self._principal, command, idempotency_key=f"{key}:{time.time_ns()}")

    async def _record(
        self, model: MlflowModel, version: MlflowVersion, registered: ModelVersion, stage: Stage, note: str | None
    ) -> None:
        """Record the settled version as imported, with its stage; a copy that did not settle is left for the next
        run (its registration is found again by its idempotency key)."""
        run = self._registry.cached_run(version.run_id)
        if run is not None and run.dropped_metrics and run.run_id not in self._noted_runs:
            self._noted_runs.add(run.run_id)
            dropped = ", ".join(run.dropped_metrics)
            self.summary.note(model.name, f"run {run.run_id}: metrics not imported (not finite): {dropped}")
        try:
            recorded = await self._imports.record_version(
                self._principal,
                self._source,
                model.name,
                version.version,
                registered.id,
                stage,
                version.original(),
                note,
            )
        except RegistryError as error:
            self.summary.failed("versions", model.name, error.message, version.version)
            return
        if recorded.version.status is not VersionStatus.READY:
            self.summary.failed(
                "versions",
                model.name,
                f"imported as version {recorded.version.version}, whose files could not be copied: "
                f"{recorded.version.status_message}",
                version.version,
            )
        else:
            self.summary.imported("versions")
        if recorded.version.version != version.version:
            self.summary.note(
                model.name,
                f"numbered {recorded.version.version} in modelreg: number {version.version} was taken or passed "
                "(registered in modelreg since, or READY in MLflow only after an earlier import)",
                version.version,
            )
        wanted = stage_of(version.current_stage)
        if wanted is not Stage.NONE:
            if recorded.stage is Stage.NONE:
                self.summary.failed("stages", model.name, recorded.note or "stage not imported", version.version)
            else:
                self.summary.imported("stages")
        if recorded.note and recorded.stage is not Stage.NONE:
            self.summary.note(model.name, recorded.note, version.version)

    def _aliases(self, model: MlflowModel, imported: ImportedModel | None) -> None:
        """Dry run: the aliases an import would set."""
        for alias, number in model.aliases.items():
            earlier = imported.versions.get(number) if imported else None
            if imported is not None and earlier is not None and imported.aliases.get(alias) == earlier.number:
                self.summary.skipped("aliases")
            else:
                self.summary.imported("aliases")

    async def _import_aliases(self, model: MlflowModel, name: str, imported: ImportedModel | None) -> None:
        if imported is None:
            return
        for alias, number in sorted(model.aliases.items()):
            target = imported.versions.get(number)
            current = imported.aliases.get(alias)
            if target is None:
                self.summary.failed("aliases", model.name, f"version {number} was not imported", alias=alias)
            elif target.status is not VersionStatus.READY:
                self.summary.failed(
                    "aliases", model.name, f"version {number} did not register ({target.status.value})", alias=alias
                )
            elif current == target.number:
                self.summary.skipped("aliases")
            elif current is not None:
                self.summary.skipped("aliases")
                self.summary.note(
                    model.name,
                    f"points at version {current} in modelreg, at MLflow's version {number} (imported as "
                    f"{target.number}) in MLflow: left as it is",
                    alias=alias,
                )
            else:
                try:
                    await self._imports.import_alias(self._principal, self._source, name, alias, target.number)
                except RegistryError as error:
                    self.summary.failed("aliases", model.name, error.message, alias=alias)
                    continue
                self.summary.imported("aliases")

"""Model version mutations and their inputs."""

from __future__ import annotations

from typing import Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON

from app.domain import commands, entities
from app.services.versions import TaggedVersion

from ..context import Info
from ..relay import to_global_id
from .artifacts import ArtifactFileInput
from .common import Long, TagInput, tag_map, unique_map
from .lineage_inputs import ParentVersionInput, RegisterCodeCommitInput, RegisterRunInput, VersionDatasetInput
from .versions import ModelVersion


@strawberry.input(description="A measured value to record with a new version.")
class MetricInput:
    name: str = strawberry.field(description="Metric name, such as `accuracy`.")
    value: float = strawberry.field(description="A finite number.")
    dataset: str | None = strawberry.field(default=None, description="Dataset it was measured on.")
    step: int | None = strawberry.field(default=None, description="Training step or epoch.")


@strawberry.input(description="A hyper-parameter to record with a new version.")
class ParamInput:
    name: str = strawberry.field(description="Parameter name.")
    value: str = strawberry.field(description="Parameter value, as text (at most 6000 characters).")


@strawberry.input(description="Where the version's files live.")
class ArtifactInput:
    uri: str = strawberry.field(description="Location of the files (any URI).")
    digest: str | None = strawberry.field(default=None, description="`sha256:<hex>` digest of the content.")
    size: Long | None = strawberry.field(default=None, description="Size in bytes.")


@strawberry.input(description="A new model version. Everything but description and tags is immutable once registered.")
class CreateModelVersionInput:
    name: str = strawberry.field(description="Name of the model to add a version to.")
    create_model_if_missing: bool = strawberry.field(
        default=False, description="Register the model too when it does not exist yet."
    )
    description: str | None = strawberry.field(default=None, description="Free-text description (Markdown).")
    flavor: str | None = strawberry.field(default=None, description="Framework or packaging flavor (`sklearn`).")
    signature: JSON | None = strawberry.field(default=None, description="Input and output schema: `{inputs, outputs}`.")
    run: RegisterRunInput | None = strawberry.field(
        default=None,
        description="The run that produced the version: linked as a Run node (registered unless it is "
        "already) with a PRODUCED edge.",
    )
    code: RegisterCodeCommitInput | None = strawberry.field(
        default=None, description="The code it was built from: linked as a CodeCommit node with a BUILT_FROM edge."
    )
    artifact: ArtifactInput | None = strawberry.field(default=None, description="Where its files live.")
    metrics: list[MetricInput] | None = strawberry.field(default=None, description="Measured values.")
    params: list[ParamInput] | None = strawberry.field(default=None, description="Hyper-parameters.")
    tags: list[TagInput] | None = strawberry.field(default=None, description="Initial tags.")
    files: list[ArtifactFileInput] | None = strawberry.field(
        default=None, description="The version's files, stored by the registry (instead of `artifact`)."
    )
    datasets: list[VersionDatasetInput] | None = strawberry.field(
        default=None, description="Datasets it was trained, validated or evaluated on (at most 100)."
    )
    parents: list[ParentVersionInput] | None = strawberry.field(
        default=None, description="Versions it was derived from: fine-tuned, distilled, quantized... (at most 100)."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Optional, 1-255 printable characters chosen by the caller (a CI job id, a UUID): a retry "
        "with the same key within 24 hours returns what the first call did instead of doing it again; the same key "
        "with another input is CONFLICT. Keys are per caller and per mutation.",
    )

    def to_domain(self) -> commands.NewVersion:
        params = unique_map([(p.name, p.value) for p in self.params or ()], "params")
        size = self.artifact.size if self.artifact else None
        return commands.NewVersion(
            model_name=self.name,
            description=self.description,
            flavor=self.flavor,
            signature=cast("dict[str, Any] | None", self.signature),  # NewVersion.validate refuses a non-object
            run=self.run.to_domain() if self.run else None,
            code=self.code.to_domain() if self.code else None,
            artifact=entities.ArtifactRef(self.artifact.uri, self.artifact.digest, size) if self.artifact else None,
            metrics=tuple(entities.Metric(m.name, m.value, m.dataset, m.step) for m in self.metrics or ()),
            params=params,
            tags=tag_map(self.tags),
            create_model_if_missing=self.create_model_if_missing,
            files=tuple(file.to_domain() for file in self.files or ()),
            datasets=tuple(use.to_domain() for use in self.datasets or ()),
            parents=tuple(parent.to_domain() for parent in self.parents or ()),
        )


@strawberry.input(
    description="Changes to a model version. Only the description can change; its files, metrics, "
    "params, signature and references are immutable."
)
class UpdateModelVersionInput:
    name: str = strawberry.field(description="Model name.")
    version: int = strawberry.field(description="Version number.")
    description: str | None = strawberry.field(default=None, description="New description.")


@strawberry.input(description="The model version to delete.")
class DeleteModelVersionInput:
    name: str = strawberry.field(description="Model name.")
    version: int = strawberry.field(description="Version number.")


@strawberry.input(description="A tag to set on a model version.")
class SetModelVersionTagInput:
    name: str = strawberry.field(description="Model name.")
    version: int = strawberry.field(description="Version number.")
    key: str = strawberry.field(description="Tag key.")
    value: str = strawberry.field(description="Tag value.")


@strawberry.input(description="A tag to remove from a model version.")
class DeleteModelVersionTagInput:
    name: str = strawberry.field(description="Model name.")
    version: int = strawberry.field(description="Version number.")
    key: str = strawberry.field(description="Tag key to remove.")


@strawberry.type(description="Result of a mutation that changed a model version.")
class ModelVersionPayload:
    model_version: ModelVersion = strawberry.field(description="The version as it is now.")


@strawberry.type(description="Result of deleting a model version.")
class DeleteModelVersionPayload:
    deleted_id: strawberry.ID = strawberry.field(description="Global id the deleted version had.")
    name: str = strawberry.field(description="Model name.")
    version: int = strawberry.field(description="Number the deleted version had (never reused).")


@strawberry.type(description="Model version mutations.")
class VersionMutations:
    @strawberry.mutation(
        description="Register the next version of a model, linked to its run, code, datasets and "
        "parents in the same transaction. Requires version:write (and model:write with "
        "createModelIfMissing, lineage:write with run, code, datasets or parents)."
    )
    async def create_model_version(
        self, info: Info, input: Annotated[CreateModelVersionInput, strawberry.argument(description="The new version.")]
    ) -> ModelVersionPayload:
        version = await info.context.services.versions.create(
            info.context.principal, input.to_domain(), input.idempotency_key
        )
        return ModelVersionPayload(model_version=ModelVersion(entity=version))

    @strawberry.mutation(description="Change a version's description. Requires version:write.")
    async def update_model_version(
        self, info: Info, input: Annotated[UpdateModelVersionInput, strawberry.argument(description="The changes.")]
    ) -> ModelVersionPayload:
        changes = commands.VersionChanges(description=input.description)
        version = await info.context.services.versions.update(
            info.context.principal, input.name, input.version, changes
        )
        return ModelVersionPayload(model_version=ModelVersion(entity=version))

    @strawberry.mutation(
        description="Delete a version; refused in PRODUCTION or while an alias points at it. Requires version:delete."
    )
    async def delete_model_version(
        self, info: Info, input: Annotated[DeleteModelVersionInput, strawberry.argument(description="The version.")]
    ) -> DeleteModelVersionPayload:
        version = await info.context.services.versions.delete(info.context.principal, input.name, input.version)
        return DeleteModelVersionPayload(
            deleted_id=to_global_id("ModelVersion", version.id), name=version.model_name, version=version.version
        )

    @strawberry.mutation(description="Set a tag on a version, replacing its value if present. Requires version:write.")
    async def set_model_version_tag(
        self, info: Info, input: Annotated[SetModelVersionTagInput, strawberry.argument(description="The tag.")]
    ) -> ModelVersionPayload:
        changed = await info.context.services.versions.set_tag(
            info.context.principal, input.name, input.version, input.key, input.value
        )
        _answer_tags(info, changed)
        return ModelVersionPayload(model_version=ModelVersion(entity=changed.version))

    @strawberry.mutation(description="Remove a tag from a version. Requires version:write.")
    async def delete_model_version_tag(
        self, info: Info, input: Annotated[DeleteModelVersionTagInput, strawberry.argument(description="The tag.")]
    ) -> ModelVersionPayload:
        changed = await info.context.services.versions.delete_tag(
            info.context.principal, input.name, input.version, input.key
        )
        _answer_tags(info, changed)
        return ModelVersionPayload(model_version=ModelVersion(entity=changed.version))


def _answer_tags(info: Info, changed: TaggedVersion) -> None:
    """Let the version's ``tags`` field answer the tags the change left, without reading them again, when the
    service gave them (to a caller who may read them)."""
    if changed.tags is not None:
        info.context.loaders.version_tags.replace(changed.version.id, changed.tags)

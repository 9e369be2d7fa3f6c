"""Inputs that describe lineage nodes: for the register mutations and for ``createModelVersion``."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from app.domain import entities, lineage, lineage_commands
from app.domain.errors import BadUserInput

from .common import Long, TrackerKind, _aware, unique_map
from .lineage_nodes import LineageEdgeKind, node_ref


@strawberry.input(description="A run parameter.")
class RunParamInput:
    name: str = strawberry.field(description="Parameter name.")
    value: str = strawberry.field(description="Parameter value, as text (at most 6000 characters).")


@strawberry.input(description="A dataset. Identified by name and version, or (without a version) by digest.")
class RegisterDatasetInput:
    name: str = strawberry.field(description="Dataset name.")
    version: str | None = strawberry.field(default=None, description="Version; without it, `digest` identifies it.")
    uri: str | None = strawberry.field(default=None, description="Where the data lives.")
    digest: str | None = strawberry.field(default=None, description="`sha256:<hex>` of the content.")
    format: str | None = strawberry.field(default=None, description="Format: `parquet`, `csv`, `delta`...")
    size: Long | None = strawberry.field(default=None, description="Size in bytes.")
    row_count: Long | None = strawberry.field(default=None, description="Number of rows.")
    schema: JSON | None = strawberry.field(default=None, description="Column schema (any JSON, at most 256 KiB).")
    source_system: str | None = strawberry.field(default=None, description="`dvc`, `delta`, `s3`...")

    def to_domain(self) -> lineage_commands.NewDataset:
        return lineage_commands.NewDataset(
            self.name,
            self.version,
            self.uri,
            self.digest,
            self.format,
            self.size,
            self.row_count,
            self.schema,
            self.source_system,
        )


@strawberry.input(description="Where a run ran.")
class RunEnvironmentInput:
    python_version: str | None = strawberry.field(default=None, description="Python version, such as `3.11.7`.")
    requirements_digest: str | None = strawberry.field(
        default=None, description="`sha256:<hex>` of the locked requirements."
    )
    container_image: str | None = strawberry.field(default=None, description="Container image, pinned by digest.")


@strawberry.input(description="A final metric value of a run.")
class RunMetricInput:
    name: str = strawberry.field(description="Metric name.")
    value: float = strawberry.field(description="A finite number.")


@strawberry.input(description="An experiment run. Identified by tracker and run id.")
class RegisterRunInput:
    tracker: TrackerKind = strawberry.field(default=TrackerKind.OTHER, description="Tracker that holds the run.")
    run_id: str = strawberry.field(description="Run id within the tracker.")
    run_uri: str | None = strawberry.field(default=None, description="Link to the run.")
    experiment_name: str | None = strawberry.field(default=None, description="Experiment the run belongs to.")
    params: list[RunParamInput] | None = strawberry.field(default=None, description="Run parameters.")
    metrics: list[RunMetricInput] | None = strawberry.field(default=None, description="Final metric values.")
    started_at: datetime | None = strawberry.field(
        default=None, description="When it started (UTC unless an offset is given)."
    )
    ended_at: datetime | None = strawberry.field(
        default=None, description="When it ended (UTC unless an offset is given)."
    )
    environment: RunEnvironmentInput | None = strawberry.field(default=None, description="Where it ran.")

    def to_domain(self) -> lineage_commands.NewRun:
        env = self.environment or RunEnvironmentInput()
        return lineage_commands.NewRun(
            entities.TrackerKind(self.tracker.value),
            self.run_id,
            self.run_uri,
            self.experiment_name,
            unique_map([(p.name, p.value) for p in self.params or ()], "params"),
            unique_map([(m.name, m.value) for m in self.metrics or ()], "metrics"),
            _aware(self.started_at) if self.started_at else None,
            _aware(self.ended_at) if self.ended_at else None,
            lineage.RunEnvironment(env.python_version, env.requirements_digest, env.container_image),
        )


@strawberry.input(description="A commit of a code repository. Identified by repository URL and commit SHA.")
class RegisterCodeCommitInput:
    repository_url: str = strawberry.field(description="Repository URL.")
    commit_sha: str = strawberry.field(description="Commit id: 7-64 lowercase hex characters.")
    branch: str | None = strawberry.field(default=None, description="Branch it was built from.")

    def to_domain(self) -> lineage_commands.NewCodeCommit:
        return lineage_commands.NewCodeCommit(self.repository_url, self.commit_sha, self.branch)


@strawberry.input(description="Anything else lineage should show. Identified by name.")
class RegisterExternalNodeInput:
    name: str = strawberry.field(description="Unique name.")
    category: str | None = strawberry.field(default=None, description="`feature-store`, `labelling`, `endpoint`...")
    uri: str | None = strawberry.field(default=None, description="Where it lives.")
    description: str | None = strawberry.field(default=None, description="Free text.")
    properties: JSON | None = strawberry.field(default=None, description="Free-form JSON (at most 256 KiB).")

    def to_domain(self) -> lineage_commands.NewExternalNode:
        return lineage_commands.NewExternalNode(self.name, self.category, self.uri, self.description, self.properties)


@strawberry.input(description="A dataset a new version used: the id of a registered one, or one to register.")
class VersionDatasetInput:
    id: strawberry.ID | None = strawberry.field(default=None, description="Global id of a registered dataset.")
    dataset: RegisterDatasetInput | None = strawberry.field(
        default=None, description="The dataset, registered now unless its identity is registered already."
    )
    kind: LineageEdgeKind = strawberry.field(
        default=LineageEdgeKind.TRAINED_ON, description="TRAINED_ON, VALIDATED_ON or EVALUATED_ON."
    )

    def to_domain(self) -> lineage_commands.DatasetUse:
        dataset_id = None
        if self.id is not None:
            ref = node_ref(self.id, "datasets.id")
            if ref.kind is not lineage.NodeKind.DATASET:
                raise BadUserInput("datasets.id must be the id of a Dataset", field="datasets.id")
            dataset_id = ref.key
        return lineage_commands.DatasetUse(
            self.kind.to_domain(), dataset_id, self.dataset.to_domain() if self.dataset else None
        )


@strawberry.input(description="A version the new one was derived from: by id or by `models:/` URI.")
class ParentVersionInput:
    id: strawberry.ID | None = strawberry.field(default=None, description="Global id of the parent version.")
    uri: str | None = strawberry.field(
        default=None, description="`models:/NAME/VERSION` (or an alias or stage URI, resolved now) of the parent."
    )
    relation: str | None = strawberry.field(default=None, description="How: `fine-tuned`, `distilled`, `quantized`...")

    def to_domain(self) -> lineage_commands.ParentRef:
        version_id = None
        if self.id is not None:
            ref = node_ref(self.id, "parents.id")
            if ref.kind is not lineage.NodeKind.MODEL_VERSION:
                raise BadUserInput("parents.id must be the id of a ModelVersion", field="parents.id")
            version_id = ref.key
        return lineage_commands.ParentRef(version_id, self.uri, self.relation)

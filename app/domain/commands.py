"""What a caller asks the registry to do, as plain data validated by ``validate()``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from . import rules
from .artifacts import check_path, check_unique_paths, media_type_for
from .entities import ArtifactRef, Metric, RegulatoryStatus, RiskTier
from .errors import BadUserInput
from .lineage import DATASET_USES
from .lineage_commands import MAX_LINKS, DatasetUse, NewCodeCommit, NewRun, ParentRef, check_relation


def _check_metrics(metrics: tuple[Metric, ...]) -> None:
    if len(metrics) > rules.MAX_ENTRIES:
        raise BadUserInput(f"metrics: at most {rules.MAX_ENTRIES} values", field="metrics")
    seen: set[tuple[str, str | None, int | None]] = set()
    for metric in metrics:
        rules.check_metric(metric.name, metric.value, metric.step)
        rules.check_text(metric.dataset, f"metrics[{metric.name}].dataset", 500)
        key = (metric.name, metric.dataset, metric.step)
        if key in seen:
            raise BadUserInput(
                f"metrics: {metric.name!r} is given twice for dataset {metric.dataset!r} and step {metric.step}",
                field="metrics",
            )
        seen.add(key)


def _check_links(datasets: tuple[DatasetUse, ...], parents: tuple[ParentRef, ...]) -> None:
    """The lineage given with a new version: datasets by id or registered inline, parents by id or URI."""
    if len(datasets) > MAX_LINKS or len(parents) > MAX_LINKS:
        raise BadUserInput(f"at most {MAX_LINKS} datasets and {MAX_LINKS} parents per version", field="datasets")
    for i, use in enumerate(datasets):
        if use.kind not in DATASET_USES:
            raise BadUserInput(
                f"datasets[{i}].kind must be one of {', '.join(k.value for k in DATASET_USES)}", field="datasets.kind"
            )
        if (use.dataset_id is None) == (use.dataset is None):
            raise BadUserInput(
                f"datasets[{i}]: give either the id of a registered dataset or the dataset to "
                "register, not both or neither",
                field="datasets",
            )
        if use.dataset is not None:
            use.dataset.validate(f"datasets[{i}].dataset.")
    for i, parent in enumerate(parents):
        if (parent.version_id is None) == (parent.uri is None):
            raise BadUserInput(
                f"parents[{i}]: give either the id or the models:/NAME/VERSION uri of the parent "
                "version, not both or neither",
                field="parents",
            )
        check_relation(parent.relation, f"parents[{i}].relation")


@dataclass(frozen=True)
class NewModel:
    name: str
    description: str | None = None
    owner: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    use_case: str | None = None
    risk_tier: RiskTier | None = None
    regulatory_status: RegulatoryStatus | None = None

    def validate(self) -> None:
        rules.check_model_name(self.name)
        rules.check_text(self.description, "description", rules.DESCRIPTION_MAX)
        rules.check_text(self.owner, "owner", 256)
        rules.check_text(self.use_case, "useCase", rules.SHORT_TEXT_MAX)
        rules.check_tags(self.tags)


@dataclass(frozen=True)
class ModelChanges:
    """Only the fields that are set change."""

    description: str | None = None
    owner: str | None = None
    use_case: str | None = None
    risk_tier: RiskTier | None = None
    regulatory_status: RegulatoryStatus | None = None

    def validate(self) -> None:
        rules.check_text(self.description, "description", rules.DESCRIPTION_MAX)
        if self.owner is not None:
            rules.check_text(self.owner, "owner", 256, required=True)
        rules.check_text(self.use_case, "useCase", rules.SHORT_TEXT_MAX)


@dataclass(frozen=True)
class FileRef:
    """A file of a new version: by the digest of stored content, or by a staged upload with its declared
    digest and size (verified in the background)."""

    path: str
    digest: str | None = None
    upload_id: str | None = None
    size: int | None = None
    media_type: str | None = None

    def validate(self) -> None:
        check_path(self.path)
        media_type_for(self.path, self.media_type)
        if self.upload_id is None:
            if self.digest is None:
                raise BadUserInput(
                    f"files[{self.path}]: give the digest of uploaded content, or an uploadId", field="files.digest"
                )
            rules.check_sha256(self.digest, "files.digest")
            return
        rules.check_text(self.upload_id, "files.uploadId", 64, required=True)
        if self.digest is None or self.size is None:
            raise BadUserInput(
                f"files[{self.path}]: a staged upload needs its expected digest and size", field="files.digest"
            )
        rules.check_sha256(self.digest, "files.digest")
        if not 0 <= self.size <= rules.ARTIFACT_SIZE_MAX:
            raise BadUserInput(
                f"files[{self.path}].size must be between 0 and {rules.ARTIFACT_SIZE_MAX}", field="files.size"
            )

    def canonical(self) -> FileRef:
        return replace(
            self,
            digest=rules.check_sha256(self.digest, "files.digest"),
            media_type=media_type_for(self.path, self.media_type),
        )


@dataclass(frozen=True)
class NewVersion:
    model_name: str
    description: str | None = None
    flavor: str | None = None
    signature: dict[str, Any] | None = None
    run: NewRun | None = None
    code: NewCodeCommit | None = None
    artifact: ArtifactRef | None = None
    metrics: tuple[Metric, ...] = ()
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    create_model_if_missing: bool = False
    files: tuple[FileRef, ...] = ()
    datasets: tuple[DatasetUse, ...] = ()
    parents: tuple[ParentRef, ...] = ()
    # A directory to copy the files from (an MLflow model URI, MLflow's artifact proxy, an HTTP URL, a local path):
    # the version is PENDING_REGISTRATION until they are stored, or READY with it as an external reference when
    # the source cannot be read (app/services/source_copy.py).
    source: str | None = None

    def validate(self) -> None:
        rules.check_model_name(self.model_name, "name")
        if self.source is not None:
            rules.check_text(self.source, "source", 2000, required=True)
            if self.files or self.artifact is not None:
                raise BadUserInput(
                    "give a source to copy files from, or files or an artifact, not both", field="source"
                )
        if self.files:
            if self.artifact is not None:
                raise BadUserInput(
                    "give either files (stored by the registry) or artifact (a reference), not both", field="files"
                )
            for file in self.files:
                file.validate()
            check_unique_paths([file.path for file in self.files])
        rules.check_text(self.description, "description", rules.DESCRIPTION_MAX)
        rules.check_text(self.flavor, "flavor", 100)
        if self.signature is not None:
            try:
                encoded = json.dumps(self.signature, allow_nan=False)
            except ValueError:
                raise BadUserInput("signature must be JSON without NaN or Infinity", field="signature") from None
            rules.check_signature(self.signature, len(encoded))
        if self.run is not None:
            self.run.validate("run.")
        if self.code is not None:
            self.code.validate("code.")
        _check_links(self.datasets, self.parents)
        if self.artifact is not None:
            rules.check_text(self.artifact.uri, "artifact.uri", 2000, required=True)
            rules.check_sha256(self.artifact.digest, "artifact.digest")
            if self.artifact.size is not None and not 0 <= self.artifact.size <= rules.ARTIFACT_SIZE_MAX:
                raise BadUserInput(
                    f"artifact.size must be between 0 and {rules.ARTIFACT_SIZE_MAX}", field="artifact.size"
                )
        _check_metrics(self.metrics)
        rules.check_params(self.params)
        rules.check_tags(self.tags)

    def canonical(self) -> NewVersion:
        """The command with values in the one form they are stored in (a digest as ``sha256:<hex>``, however it
        was written). Call after ``validate()``."""
        canonical = replace(
            self,
            files=tuple(file.canonical() for file in self.files),
            run=self.run.canonical() if self.run else None,
            datasets=tuple(
                replace(use, dataset=use.dataset.canonical()) if use.dataset else use for use in self.datasets
            ),
        )
        if self.artifact is None or self.artifact.digest is None:
            return canonical
        digest = rules.check_sha256(self.artifact.digest, "artifact.digest")
        return replace(canonical, artifact=replace(self.artifact, digest=digest))


@dataclass(frozen=True)
class VersionChanges:
    """Fields of a version that may change after registration. Everything else is immutable."""

    description: str | None = None

    def validate(self) -> None:
        rules.check_text(self.description, "description", rules.DESCRIPTION_MAX)

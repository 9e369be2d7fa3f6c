"""Commands that register lineage nodes and edges, validated by ``validate()`` (docs/lineage.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from . import rules
from .entities import TrackerKind
from .errors import BadUserInput
from .lineage import EdgeKind, NodeRef, RunEnvironment, check_edge_endpoints

NAME_MAX = 500
URI_MAX = 2000
JSON_MAX_BYTES = 256 * 1024
RELATION_MAX = 200
MAX_LINKS = 100  # datasets or parents given with one new version


def _check_json(value: Any, field_name: str) -> None:
    if value is None:
        return
    try:
        encoded = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise BadUserInput(f"{field_name} must be JSON without NaN or Infinity", field=field_name) from None
    if len(encoded) > JSON_MAX_BYTES:
        raise BadUserInput(f"{field_name} is larger than {JSON_MAX_BYTES // 1024} KiB", field=field_name)


def check_relation(relation: str | None, field_name: str) -> None:
    """How a version derives from its parent, or any note on an edge: ``fine-tuned``, ``distilled``..."""
    rules.check_text(relation, field_name, RELATION_MAX)


def _check_count(value: int | None, field_name: str) -> None:
    if value is not None and not 0 <= value <= rules.ARTIFACT_SIZE_MAX:
        raise BadUserInput(f"{field_name} must be between 0 and {rules.ARTIFACT_SIZE_MAX}", field=field_name)


@dataclass(frozen=True)
class NewDataset:
    """A dataset, identified by name and version, or (without a version) by its digest."""

    name: str
    version: str | None = None
    uri: str | None = None
    digest: str | None = None
    format: str | None = None
    size: int | None = None
    row_count: int | None = None
    schema: Any = None
    source_system: str | None = None

    def validate(self, prefix: str = "") -> None:
        """BAD_USER_INPUT naming the first field that is wrong (``prefix`` places it inside a larger input)."""
        rules.check_text(self.name, f"{prefix}name", NAME_MAX, required=True)
        rules.check_text(self.version, f"{prefix}version", 200)
        if not self.version and not self.digest:
            raise BadUserInput(
                f"{prefix}version or {prefix}digest is required: a dataset is identified by name "
                "and version, or by the digest of its content",
                field=f"{prefix}version",
            )
        rules.check_text(self.uri, f"{prefix}uri", URI_MAX)
        rules.check_text(self.format, f"{prefix}format", 100)
        rules.check_text(self.source_system, f"{prefix}sourceSystem", 100)
        _check_count(self.size, f"{prefix}size")
        _check_count(self.row_count, f"{prefix}rowCount")
        _check_json(self.schema, f"{prefix}schema")
        rules.check_sha256(self.digest, f"{prefix}digest")

    def canonical(self) -> NewDataset:
        """The dataset in the form it is stored in (no empty version, digest as ``sha256:<hex>``). Call after
        ``validate()``."""
        return replace(self, version=self.version or None, digest=rules.check_sha256(self.digest, "digest"))


@dataclass(frozen=True)
class NewRun:
    """An experiment run, identified by tracker and run id."""

    tracker: TrackerKind
    run_id: str
    run_uri: str | None = None
    experiment_name: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    environment: RunEnvironment = RunEnvironment()  # noqa: RUF009 - frozen, so one shared default is safe

    def validate(self, prefix: str = "") -> None:
        """BAD_USER_INPUT naming the first field that is wrong (``prefix`` places it inside a larger input)."""
        rules.check_text(self.run_id, f"{prefix}runId", 256, required=True)
        rules.check_text(self.run_uri, f"{prefix}runUri", URI_MAX)
        rules.check_text(self.experiment_name, f"{prefix}experimentName", NAME_MAX)
        rules.check_params(self.params, f"{prefix}params")
        if len(self.metrics) > rules.MAX_ENTRIES:
            raise BadUserInput(f"{prefix}metrics: at most {rules.MAX_ENTRIES} values", field=f"{prefix}metrics")
        for name, value in self.metrics.items():
            rules.check_metric(name, value, None, f"{prefix}metrics")
        if self.started_at and self.ended_at and self.ended_at < self.started_at:
            raise BadUserInput(f"{prefix}endedAt is before {prefix}startedAt", field=f"{prefix}endedAt")
        env = self.environment
        rules.check_text(env.python_version, f"{prefix}environment.pythonVersion", 50)
        rules.check_text(env.container_image, f"{prefix}environment.containerImage", URI_MAX)
        rules.check_sha256(env.requirements_digest, f"{prefix}environment.requirementsDigest")

    def canonical(self) -> NewRun:
        """The run in the form it is stored in (requirements digest as ``sha256:<hex>``). Call after
        ``validate()``."""
        digest = rules.check_sha256(self.environment.requirements_digest, "environment.requirementsDigest")
        return replace(self, environment=replace(self.environment, requirements_digest=digest))


@dataclass(frozen=True)
class NewCodeCommit:
    """A commit of a repository, identified by repository URL and commit SHA."""

    repository_url: str
    commit_sha: str
    branch: str | None = None

    def validate(self, prefix: str = "") -> None:
        """BAD_USER_INPUT naming the first field that is wrong (``prefix`` places it inside a larger input)."""
        rules.check_text(self.repository_url, f"{prefix}repositoryUrl", URI_MAX, required=True)
        rules.check_commit(self.commit_sha, f"{prefix}commitSha")
        rules.check_text(self.branch, f"{prefix}branch", NAME_MAX)

    def canonical(self) -> NewCodeCommit:
        """Stored as given."""
        return self


@dataclass(frozen=True)
class NewExternalNode:
    """Anything else lineage should show (a feature store, a labelling job, a serving endpoint), by name."""

    name: str
    category: str | None = None
    uri: str | None = None
    description: str | None = None
    properties: Any = None

    def validate(self, prefix: str = "") -> None:
        """BAD_USER_INPUT naming the first field that is wrong (``prefix`` places it inside a larger input)."""
        rules.check_text(self.name, f"{prefix}name", NAME_MAX, required=True)
        rules.check_text(self.category, f"{prefix}category", 100)
        rules.check_text(self.uri, f"{prefix}uri", URI_MAX)
        rules.check_text(self.description, f"{prefix}description", rules.DESCRIPTION_MAX)
        _check_json(self.properties, f"{prefix}properties")

    def canonical(self) -> NewExternalNode:
        """Stored as given."""
        return self


@dataclass(frozen=True)
class NewEdge:
    kind: EdgeKind
    upstream: NodeRef
    downstream: NodeRef
    relation: str | None = None

    def validate(self) -> None:
        check_relation(self.relation, "relation")
        if self.upstream == self.downstream:
            raise BadUserInput("an edge cannot join a node to itself", field="downstreamId")
        check_edge_endpoints(self.kind, self.upstream.kind, self.downstream.kind)


@dataclass(frozen=True)
class DatasetUse:
    """A dataset a new version used: an already registered one (by id) or one to register with it."""

    kind: EdgeKind = EdgeKind.TRAINED_ON
    dataset_id: int | None = None
    dataset: NewDataset | None = None


@dataclass(frozen=True)
class ParentRef:
    """A version the new one was derived from: by version id or by ``models:/NAME/VERSION`` URI."""

    version_id: int | None = None
    uri: str | None = None
    relation: str | None = None

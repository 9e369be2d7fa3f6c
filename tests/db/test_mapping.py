"""Rows become domain objects (app/db/mapping.py): the builders that skip a frozen dataclass's ``__init__`` build
exactly what the class's constructor builds, with every field set."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from app.db.mapping import frozen_builder, new_metric, to_alias, to_model, to_version
from app.domain.entities import (
    Metric,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
    RiskTier,
    RunRef,
    Stage,
    TrackerKind,
    VersionStatus,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
ROW = SimpleNamespace(
    id=7,
    model_id=3,
    version=2,
    status="READY",
    stage="STAGING",
    description="d",
    flavor="sklearn",
    signature=None,
    run_tracker="MLFLOW",
    run_id="r1",
    run_uri=None,
    code_repository_url=None,
    code_commit_sha=None,
    artifact_uri=None,
    artifact_digest=None,
    artifact_size=None,
    params={"lr": "0.1"},
    created_at=NOW,
    created_by="alice",
    updated_at=NOW,
    status_message=None,
)


def _every_field_set(instance: object) -> bool:
    return set(vars(instance)) == {field.name for field in dataclasses.fields(instance)}  # type: ignore[arg-type]


def test_a_version_is_what_its_constructor_builds():
    built = to_version(ROW, "m")
    expected = ModelVersion(
        id=7,
        model_id=3,
        model_name="m",
        version=2,
        status=VersionStatus.READY,
        stage=Stage.STAGING,
        description="d",
        flavor="sklearn",
        signature=None,
        run=RunRef(TrackerKind.MLFLOW, "r1", None),
        code=None,
        artifact=None,
        params={"lr": "0.1"},
        created_at=NOW,
        created_by="alice",
        updated_at=NOW,
        status_message=None,
    )
    assert built == expected and type(built) is ModelVersion and _every_field_set(built)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.version = 3  # type: ignore[misc]


def test_a_model_and_an_alias_are_what_their_constructors_build():
    row = SimpleNamespace(
        id=3,
        name="m",
        description=None,
        owner="alice",
        created_at=NOW,
        created_by="alice",
        updated_at=NOW,
        use_case="fraud",
        risk_tier="HIGH",
        regulatory_status=None,
    )
    model = to_model(row)
    assert model == RegisteredModel(
        id=3,
        name="m",
        description=None,
        owner="alice",
        created_at=NOW,
        created_by="alice",
        updated_at=NOW,
        use_case="fraud",
        risk_tier=RiskTier.HIGH,
        regulatory_status=None,
    )
    assert _every_field_set(model) and hash(model) == hash(dataclasses.replace(model))
    alias_row = SimpleNamespace(model_id=3, alias="champion", version_id=7, updated_at=NOW, updated_by="bob")
    alias = to_alias(alias_row, "m", 2)
    assert alias == ModelAlias(
        model_id=3, model_name="m", alias="champion", version=2, version_id=7, updated_at=NOW, updated_by="bob"
    )
    assert _every_field_set(alias)


def test_a_metric_is_what_its_constructor_builds():
    built = new_metric(name="auc", value=0.9, dataset=None, step=2)
    assert (
        built == Metric("auc", 0.9, None, 2)
        and _every_field_set(built)
        and hash(built) == hash(Metric("auc", 0.9, None, 2))
    )


def test_only_plain_frozen_dataclasses_get_a_builder():
    @dataclasses.dataclass(frozen=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            raise ValueError

    @dataclasses.dataclass(frozen=True, slots=True)
    class Slotted:
        value: int

    for cls in (Checked, Slotted, dict):
        with pytest.raises(TypeError):
            frozen_builder(cls)

"""The rules that turn MLflow's registry state into modelreg's (app/domain/imports.py) and the import's summary, as
truth tables: no MLflow server, no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.domain.entities import Stage, VersionStatus
from app.domain.errors import BadUserInput
from app.domain.imports import check_source, from_millis, planned_stages, stage_of, stage_reason, stage_to_record
from app.mlflow.tracking import _model, _quoted, _version
from app.mlflow_import.summary import Summary

pytestmark = pytest.mark.backend_independent

N, S, P, A = Stage.NONE, Stage.STAGING, Stage.PRODUCTION, Stage.ARCHIVED


@pytest.mark.parametrize(("mlflow", "stage"), [
    (None, N), ("None", N), ("none", N), ("Staging", S), ("Production", P), ("PRODUCTION", P), ("Archived", A)])
def test_stage_of(mlflow, stage):
    assert stage_of(mlflow) is stage


def test_an_unknown_stage_is_bad_input():
    with pytest.raises(BadUserInput, match="unknown MLflow stage 'Canary'"):
        stage_of("Canary")


@pytest.mark.parametrize(("stages", "planned"), [
    ({}, {}),
    ({1: N, 2: S}, {1: N, 2: S}),
    ({1: P, 2: N}, {1: P, 2: N}),
    ({1: P, 3: P, 2: A}, {1: A, 3: P, 2: A}),  # the highest number in Production is what MLflow serves
    ({5: P, 9: P, 7: P}, {5: A, 9: P, 7: A}),
])
def test_planned_stages_keep_one_production_version(stages, planned):
    result = planned_stages(stages)
    assert {number: stage for number, (stage, _) in result.items()} == planned
    for number, (stage, note) in result.items():
        assert (note is not None) == (stages[number] is P and stage is A)


@pytest.mark.parametrize(("wanted", "status", "in_production", "recorded", "why"), [
    (N, VersionStatus.READY, [], N, None),
    (S, VersionStatus.READY, [], S, None),
    (A, VersionStatus.READY, [3], A, None),
    (P, VersionStatus.READY, [], P, None),
    (P, VersionStatus.READY, [3], N, "version 3 holds PRODUCTION in modelreg"),
    (S, VersionStatus.FAILED_REGISTRATION, [], N, "the version is FAILED_REGISTRATION"),
    (P, VersionStatus.PENDING_REGISTRATION, [], N, "the version is PENDING_REGISTRATION"),
    (N, VersionStatus.FAILED_REGISTRATION, [], N, None),
])
def test_stage_to_record(wanted, status, in_production, recorded, why):
    stage, note = stage_to_record(wanted, status, in_production)
    assert stage is recorded
    assert (note is None) == (why is None) and (why is None or why in note)


@pytest.mark.parametrize(("given", "source"), [
    ("http://mlflow:5000", "http://mlflow:5000"), ("https://mlflow.example.com/", "https://mlflow.example.com"),
    (" http://127.0.0.1:5000// ", "http://127.0.0.1:5000")])
def test_check_source(given, source):
    assert check_source(given) == source


@pytest.mark.parametrize("given", ["", "mlflow:5000", "ftp://host", "file:///tmp/mlruns", "databricks", "http://",
                                   "http://" + "x" * 500])
def test_check_source_refuses_what_is_not_a_tracking_server_url(given):
    with pytest.raises(BadUserInput, match="--tracking-uri must be the http"):
        check_source(given)


@pytest.mark.parametrize(("millis", "moment"), [
    (0, datetime(1970, 1, 1, tzinfo=UTC)), ("1700000000000", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
    (None, None), ("", None), ("soon", None), (10**20, None)])
def test_from_millis(millis, moment):
    assert from_millis(millis) == moment


def test_stage_reason_names_the_source_and_what_mlflow_said():
    original = {"name": "fraud~scorer", "version": 7, "last_updated_timestamp": 1700000000000, "user_id": "ana"}
    assert stage_reason("http://mlflow:5000", original) == (
        "imported from MLflow http://mlflow:5000 (fraud~scorer version 7, last updated 2023-11-14T22:13:20Z, "
        "registered by ana)")
    assert stage_reason("http://m", {"name": "a", "version": 1}) == "imported from MLflow http://m (a version 1)"


def test_mlflow_answers_are_read_leniently():
    model = _model({"name": "a~b", "aliases": [{"alias": "champion", "version": "3"}, {"alias": "x"}],
                    "tags": [{"key": "team", "value": "risk"}, {"value": "keyless"}]})
    assert (model.aliases, model.tags, model.description) == ({"champion": 3}, {"team": "risk"}, None)
    version = _version({"name": "a~b", "version": "12", "run_id": "", "description": ""})
    assert (version.version, version.status, version.current_stage, version.run_id) == (12, "READY", "None", None)
    assert _quoted("it's") == "'it\\'s'"


def test_the_summary_says_when_there_was_nothing_to_do():
    summary = Summary("http://m")
    summary.skipped("versions", 3)
    assert summary.nothing_to_do and summary.ok
    summary.failed("models", "bad name", "refused")
    assert summary.nothing_to_do and not summary.ok
    summary.imported("aliases")
    assert not summary.nothing_to_do
    dry = Summary("http://m", dry_run=True)
    dry.imported("versions", 2)
    assert dry.as_json()["versions"] == {"wouldImport": 2, "skipped": 0, "failed": 0}

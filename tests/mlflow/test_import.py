"""``modelreg import mlflow`` against a real MLflow tracking server seeded with MLflow's own client: a few hundred
versions with stages, aliases, tags, runs and artifact files; a second run has nothing to do; an interrupted run
continues; a dry run writes nothing; the import is refused without registry:import (docs/mlflow-import.md)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from app.config import Settings
from app.domain.identity import Principal, PrincipalKind
from app.mlflow_import.command import principal_for
from app.mlflow_import.importer import Options
from app.mlflow_import.wiring import import_parts
from tests.graphql.test_schema_coverage import stored
from tests.support.databases import sync_engine
from tests.support.mlflow_server import MlflowServer

pytestmark = [
    # MLflow's stages are deprecated there (FutureWarning) but what registries to import hold.
    pytest.mark.filterwarnings("ignore:.*transition_model_version_stage.*:FutureWarning"),
    # The first test here may start the session's MLflow server and import MLflow's client (30-60 s on a busy
    # machine) before the seed and a 300-version import: the suite's 120 s would name a slow machine, not a hang.
    pytest.mark.timeout(240),
]

FRAUD, CHURN, RANKER, BAD, EMBEDDER = "fraud~scorer", "churn", "ranker.v2", "bad name", "embedder"
MODEL_FILES = {"MLmodel": b"flavors:\n  python_function: {}\n", "model.pkl": b"\x80\x04weights" * 64}
CREATED = {FRAUD: 150, CHURN: 102, RANKER: 46, EMBEDDER: 4, BAD: 2}  # 302 left in MLflow: churn's 50 and 51 deleted
STAGES = {FRAUD: {10: "Archived", 140: "Staging", 145: "Production", 150: "Production"},
          CHURN: {101: "Staging", 102: "Production"}, RANKER: {46: "Staging"}}
ALIASES = {FRAUD: {"champion": 150, "challenger": 140}, CHURN: {"stable": 90}}


@dataclass(frozen=True)
class Seed:
    url: str
    fraud_run: str
    churn_run: str


def _seed(url: str, folder: Path) -> Seed:
    """The registry an MLflow user would have, written through MLflow's client (about 10 s)."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    for name, content in MODEL_FILES.items():
        (folder / name).write_bytes(content)
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    experiment = client.create_experiment("fraud-training")
    runs = []
    for label, nan in (("fraud", False), ("churn", True)):
        run = client.create_run(experiment, run_name=f"train-{label}")
        metrics = [Metric("accuracy", 0.91, 1, 1), Metric("accuracy", 0.94, 2, 2), Metric("loss", 0.2, 2, 2)]
        if nan:
            metrics.append(Metric("gradient_norm", math.nan, 2, 2))
        client.log_batch(run.info.run_id, metrics=metrics, params=[Param("lr", "0.01"), Param("epochs", "12")])
        client.log_artifacts(run.info.run_id, str(folder), "model")
        client.set_terminated(run.info.run_id)
        runs.append(run)
    fraud, churn = runs
    logged = client.create_logged_model(experiment, name="embedder")  # an MLflow 3 logged model: models:/m-<id>
    client.log_model_artifacts(logged.model_id, str(folder))
    sources = {FRAUD: (f"{fraud.info.artifact_uri}/model", fraud.info.run_id),
               CHURN: (f"runs:/{churn.info.run_id}/model", churn.info.run_id),
               RANKER: ("s3://nowhere/ranker/model", None), BAD: ("s3://nowhere/bad/model", None),
               EMBEDDER: (f"models:/{logged.model_id}", None)}
    client.create_registered_model(FRAUD, tags={"team": "risk"}, description="Scores card payments")
    for name in (CHURN, RANKER, BAD, EMBEDDER):
        client.create_registered_model(name)
    with ThreadPoolExecutor(4) as pool:
        def register(name: str, count: int) -> None:
            source, run_id = sources[name]
            model_id = logged.model_id if name == EMBEDDER else None
            for i in range(count):
                client.create_model_version(name, source, run_id=run_id, tags={"seq": str(i + 1)},
                                            description=f"build {i + 1}", model_id=model_id,
                                            await_creation_for=0)  # READY at once on this server: no polling
        list(pool.map(lambda item: register(*item), CREATED.items()))
    client.delete_model_version(CHURN, "50")
    client.delete_model_version(CHURN, "51")
    for name, stages in STAGES.items():
        for number, stage in stages.items():
            client.transition_model_version_stage(name, str(number), stage)
    for name, aliases in ALIASES.items():
        for alias, number in aliases.items():
            client.set_registered_model_alias(name, alias, str(number))
    return Seed(url, fraud.info.run_id, churn.info.run_id)


@pytest.fixture(scope="module")
def seeded(mlflow_server: MlflowServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seed]:
    logging.getLogger("mlflow").setLevel(logging.WARNING)  # a line per version while it waits for READY
    yield _seed(mlflow_server.url, tmp_path_factory.mktemp("model"))


def _env(settings: Settings, artifact_store_env: dict[str, str]) -> dict[str, str]:
    return {"MODELREG_DATABASE_URL": settings.database_url, "MODELREG_DATA_DIR": str(settings.data_dir),
            **artifact_store_env}


def _rows(database_url: str, query: str, **params: object) -> list[tuple]:
    with sync_engine(database_url).connect() as connection:
        return [tuple(row) for row in connection.execute(text(query), params)]


MODEL = """
query Imported($name: String!) {
  registeredModel(name: $name) { description tags { key value } aliases { alias version } versions { totalCount } }
}
"""
VERSION = """
query ImportedVersion($name: String!, $version: Int!) {
  modelVersion(name: $name, version: $version) {
    status stage description createdBy { subject kind } tags { key value } params { name value } metrics { name value }
    run { tracker runId runUri } artifact { uri manifestDigest files { path digest size } }
    stageHistory(first: 5) { nodes { fromStage toStage changedBy { subject } reason } }
  }
}
"""
VERSIONS_OF = ("SELECT v.version, v.stage, v.status FROM model_versions v JOIN registered_models m "
               "ON m.id = v.model_id WHERE m.name = '{name}' ORDER BY v.version")
AUDIT = """
query ImportAudit($action: String!) {
  auditEvents(filter: {action: $action}, first: 5) { totalCount nodes { actor { subject } outcome after } }
}
"""


async def test_import_then_a_second_run_has_nothing_to_do(api, modelreg, seeded, settings, artifact_store_env):
    env = _env(settings, artifact_store_env)
    first = await asyncio.to_thread(modelreg, "import", "mlflow", "--tracking-uri", seeded.url, **env)
    assert first.returncode == 1, first.stderr  # the model MLflow let through with a space in its name failed
    summary = json.loads(first.stdout)
    assert summary["models"] == {"imported": 4, "skipped": 0, "failed": 1}
    assert summary["failures"] == [{"model": BAD, "kind": "models", "reason": summary["failures"][0]["reason"]}]
    assert "modelreg refuses the name 'bad name'" in summary["failures"][0]["reason"]
    assert summary["versions"] == {"imported": 300, "skipped": 0, "failed": 0}
    assert summary["stages"] == {"imported": 7, "skipped": 0, "failed": 0}
    assert summary["aliases"] == {"imported": 3, "skipped": 0, "failed": 0}
    assert "[5/5] ranker.v2: versions 46 imported" in first.stderr
    notes = {(note["model"], note.get("version")): note["note"] for note in summary["notes"]}
    assert "archived (modelreg holds one PRODUCTION version per model)" in notes[(FRAUD, 145)]
    assert notes[(CHURN, None)] == f"run {seeded.churn_run}: metrics not imported (not finite): gradient_norm"

    fraud = (await api.ok(MODEL, {"name": "fraud/scorer"}))["registeredModel"]
    assert fraud["description"] == "Scores card payments" and fraud["tags"] == [{"key": "team", "value": "risk"}]
    assert {(a["alias"], a["version"]) for a in fraud["aliases"]} == {("champion", 150), ("challenger", 140)}
    assert fraud["versions"]["totalCount"] == 150
    versions = VERSIONS_OF.format(name="fraud/scorer")
    assert [row[0] for row in _rows(api.database_url, versions)] == list(range(1, 151))
    assert {row[2] for row in _rows(api.database_url, versions)} == {"READY"}
    assert {row[0]: row[1] for row in _rows(api.database_url, versions) if row[1] != "NONE"} == {
        10: "ARCHIVED", 140: "STAGING", 145: "ARCHIVED", 150: "PRODUCTION"}
    numbers = [row[0] for row in _rows(api.database_url, VERSIONS_OF.format(name="churn"))]
    assert numbers == [*range(1, 50), *range(52, 103)]  # MLflow's numbers, its gap kept

    version = (await api.ok(VERSION, {"name": "fraud/scorer", "version": 150}))["modelVersion"]
    assert version["createdBy"]["subject"] == "mlflow-import"
    assert version["description"] == "build 150" and {"key": "seq", "value": "150"} in version["tags"]
    assert version["run"]["tracker"] == "MLFLOW" and version["run"]["runId"] == seeded.fraud_run
    assert version["run"]["runUri"].startswith(f"{seeded.url}/#/experiments/")
    assert {(p["name"], p["value"]) for p in version["params"]} == {("lr", "0.01"), ("epochs", "12")}
    assert {(m["name"], m["value"]) for m in version["metrics"]} == {("accuracy", 0.94), ("loss", 0.2)}
    files = {f["path"]: (f["digest"], f["size"]) for f in version["artifact"]["files"]}
    assert files == {path: (f"sha256:{hashlib.sha256(content).hexdigest()}", len(content))
                     for path, content in MODEL_FILES.items()}
    [move] = version["stageHistory"]["nodes"]
    assert (move["fromStage"], move["toStage"], move["changedBy"]["subject"]) == ("NONE", "PRODUCTION", "mlflow-import")
    assert move["reason"].startswith(f"imported from MLflow {seeded.url} (fraud~scorer version 150, last updated ")

    churned = (await api.ok(VERSION, {"name": "churn", "version": 102}))["modelVersion"]
    assert churned["status"] == "READY" and len(churned["artifact"]["files"]) == 2  # copied from runs:/<run>/model
    embedder = (await api.ok(VERSION, {"name": "embedder", "version": 4}))["modelVersion"]
    assert {f["path"] for f in embedder["artifact"]["files"]} == set(MODEL_FILES)  # from models:/m-<id>
    ranker = (await api.ok(VERSION, {"name": "ranker.v2", "version": 1}))["modelVersion"]
    assert ranker["status"] == "READY" and ranker["artifact"]["uri"] == "s3://nowhere/ranker/model"  # unreadable

    events = (await api.ok(AUDIT, {"action": "version.import"}, "auditor"))["auditEvents"]
    assert events["totalCount"] == 300
    imported = events["nodes"][0]["after"]["imported"]
    assert imported["from"] == seeded.url and {"creation_timestamp", "user_id", "current_stage"} <= set(
        imported["mlflow"])
    alias = (await api.ok(AUDIT, {"action": "alias.import"}, "auditor"))["auditEvents"]
    assert {event["after"]["protected"] for event in alias["nodes"]} == {True, False}

    before = stored(api)
    second = await asyncio.to_thread(modelreg, "import", "mlflow", "--tracking-uri", seeded.url, **env)
    again = json.loads(second.stdout)
    assert again["nothingToDo"] is True and "nothing to do: everything else in" in second.stderr
    assert second.returncode == 1  # the refused name is still refused, and said so
    assert [failure["model"] for failure in again["failures"]] == [BAD]
    assert again["models"] == {"imported": 0, "skipped": 4, "failed": 1}
    assert again["versions"] == {"imported": 0, "skipped": 300, "failed": 0}
    assert again["stages"] == {"imported": 0, "skipped": 7, "failed": 0}
    assert again["aliases"] == {"imported": 0, "skipped": 3, "failed": 0}
    assert stored(api) == before

    clean = await asyncio.to_thread(
        modelreg, "import", "mlflow", "--tracking-uri", seeded.url, "--models", "[!b]*", **env)
    assert clean.returncode == 0 and json.loads(clean.stdout)["nothingToDo"] is True
    assert "nothing to do: everything in" in clean.stderr
    assert stored(api) == before


async def test_an_interrupted_import_continues_where_it_stopped(api, seeded, settings):
    """The first run stops after its first batch of copies (as a killed process would, its copies cancelled); the
    next run registers nothing twice, finishes the copies and records the rest."""
    options = Options(seeded.url, models="churn", concurrency=8)

    class Interrupted(Exception):
        pass

    async with import_parts(settings, seeded.url, None) as parts:
        importer = parts.importer(principal_for("mlflow-import"), options)
        batches = 0

        async def settle_then_stop() -> None:
            nonlocal batches
            batches += 1
            if batches == 3:
                await parts.copier.stop()  # the copies of the third batch die with the process
                raise Interrupted
            await parts.copier.wait()

        importer._settle = settle_then_stop
        with pytest.raises(Interrupted):
            await importer.run()
    rows = _rows(api.database_url, "SELECT count(*) FROM mlflow_imports WHERE mlflow_version > 0")
    assert rows == [(16,)]

    async with import_parts(settings, seeded.url, None) as parts:
        summary = (await parts.importer(principal_for("mlflow-import"), options).run()).as_json()
    assert summary["versions"] == {"imported": 84, "skipped": 16, "failed": 0}
    assert summary["stages"]["imported"] == 2 and summary["aliases"]["imported"] == 1
    counts = _rows(api.database_url, "SELECT count(*), count(DISTINCT version), min(version), max(version) "
                   "FROM model_versions WHERE status = 'READY'")
    assert counts == [(100, 100, 1, 102)]

    async with import_parts(settings, seeded.url, None) as parts:
        again = await parts.importer(principal_for("mlflow-import"), options).run()
    assert again.nothing_to_do


async def test_dry_run_writes_nothing(api, seeded, settings):
    before = stored(api)
    async with import_parts(settings, seeded.url, None) as parts:
        summary = await parts.importer(principal_for("x"), Options(seeded.url, models="*~*", dry_run=True)).run()
    assert summary.as_json()["versions"] == {"wouldImport": 150, "skipped": 0, "failed": 0}
    assert summary.as_json()["aliases"]["wouldImport"] == 2 and not summary.nothing_to_do
    assert stored(api) == before


async def test_the_import_needs_registry_import(api, seeded, settings):
    """Every use case of the import requires registry:import (mlops only): a data scientist is refused before
    anything is written, and the refusal is in the audit log."""
    scientist = Principal("dana", PrincipalKind.USER, frozenset({"data-scientist"}))
    before = stored(api)
    async with import_parts(settings, seeded.url, None) as parts:
        with pytest.raises(Exception) as refused:
            await parts.importer(scientist, Options(seeded.url, models=RANKER)).run()
    assert getattr(refused.value, "code", None) and refused.value.code.value == "FORBIDDEN"
    assert "registry:import" in str(refused.value)
    assert stored(api) == before
    denied = (await api.ok(AUDIT, {"action": "model.import.read"}, "auditor"))["auditEvents"]
    assert denied["totalCount"] == 1 and denied["nodes"][0]["outcome"] == "FORBIDDEN"


@pytest.mark.backend_independent
def test_bad_tracking_uri_is_refused(modelreg):
    done = modelreg("import", "mlflow", "--tracking-uri", "ftp://example.com")
    assert done.returncode == 2 and "--tracking-uri must be the http(s) URL of an MLflow tracking server" in done.stderr


def test_an_unreachable_tracking_server_is_a_clear_error(modelreg, settings, artifact_store_env):
    port_nobody_listens_on = "http://127.0.0.1:9"
    done = modelreg("import", "mlflow", "--tracking-uri", port_nobody_listens_on, **_env(settings, artifact_store_env))
    assert done.returncode == 3 and "cannot read the MLflow registry: http://127.0.0.1:9" in done.stderr


CREATE_VERSION = """
mutation CreateVersion($name: String!) { createModelVersion(input: {name: $name}) { modelVersion { version } } }
"""


async def test_a_later_run_brings_what_mlflow_registered_since(api, seeded, settings):
    """New MLflow versions come over on the next run; a number modelreg handed out meanwhile is taken, so MLflow's
    version gets the next free one (with a note); an alias MLflow moved since is left where modelreg has it."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=seeded.url, registry_uri=seeded.url)
    name = "increment"
    client.create_registered_model(name)
    for _ in range(3):
        client.create_model_version(name, "s3://nowhere/increment/model")
    client.transition_model_version_stage(name, "3", "Staging")
    client.set_registered_model_alias(name, "best", "2")
    options = Options(seeded.url, models=name)
    async with import_parts(settings, seeded.url, None) as parts:
        first = (await parts.importer(principal_for("mlflow-import"), options).run()).as_json()
    assert (first["versions"]["imported"], first["stages"]["imported"], first["aliases"]["imported"]) == (3, 1, 1)

    await api.ok(CREATE_VERSION, {"name": name})  # registered in modelreg meanwhile: number 4
    for _ in range(2):
        client.create_model_version(name, "s3://nowhere/increment/model")
    client.transition_model_version_stage(name, "5", "Production")
    client.set_registered_model_alias(name, "best", "5")
    async with import_parts(settings, seeded.url, None) as parts:
        second = (await parts.importer(principal_for("mlflow-import"), options).run()).as_json()
    assert second["versions"] == {"imported": 2, "skipped": 3, "failed": 0}
    assert second["stages"] == {"imported": 1, "skipped": 1, "failed": 0}
    assert second["aliases"] == {"imported": 0, "skipped": 1, "failed": 0}
    notes = {(note.get("version"), note.get("alias")): note["note"] for note in second["notes"]}
    assert notes[(4, None)].startswith("numbered 5 in modelreg: number 4 was taken or passed")
    assert notes[(5, None)].startswith("numbered 6 in modelreg")
    assert notes[(None, "best")].startswith("points at version 2 in modelreg, at MLflow's version 5")
    rows = _rows(api.database_url, VERSIONS_OF.format(name=name))
    assert [(number, stage) for number, stage, _ in rows] == [
        (1, "NONE"), (2, "NONE"), (3, "STAGING"), (4, "NONE"), (5, "NONE"), (6, "PRODUCTION")]


def test_a_policy_without_the_import_permission_refuses_the_command(modelreg, seeded, settings, artifact_store_env,
                                                                    tmp_path):
    """An operator's own policy that predates registry:import: the command says which permission is missing."""
    shipped = Path(__file__).resolve().parents[2] / "policies"
    for name in ("model.conf", "promotion.yaml"):
        (tmp_path / name).write_bytes((shipped / name).read_bytes())
    rules = (shipped / "policy.csv").read_text().replace("p, mlops, registry, import\n", "")
    (tmp_path / "policy.csv").write_text(rules)
    done = modelreg("import", "mlflow", "--tracking-uri", seeded.url, "--models", RANKER, "--policy-dir",
                    str(tmp_path), **_env(settings, artifact_store_env))
    assert done.returncode == 4, done.stderr
    assert "modelreg: FORBIDDEN" in done.stderr and "registry:import" in done.stderr

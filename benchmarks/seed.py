"""Fast, direct seeding of a migrated registry database for benchmarks.

Rows are written with bulk INSERTs through a synchronous engine, in the shape the repositories in
``app/db/repositories`` write them (a model's ``next_version`` is one past its last version, ``updated_at``
is the time of its newest version, each alias has one change-history row). Values are varied so that
filters have realistic selectivity:

- model names ``<family>-<algorithm>-<nnnn>``: 20 families x 8 algorithms, so a family prefix matches
  about 5% of the models and a family-algorithm prefix about 0.6%;
- version tag ``team`` has 20 values (about 5% of the versions each); ``framework`` 6, ``dataset`` 40,
  ``region`` 4 and ``trigger`` 3 values;
- metrics ``accuracy``, ``f1``, ``precision`` and ``recall`` are uniform in [0.5, 1.0] (so
  ``accuracy >= 0.9`` matches about 20% of the versions) and ``latency_p95_ms`` is log-normal;
- about 60% of the models have a version in PRODUCTION (with the ``champion`` alias), older production
  versions are ARCHIVED, and about 35% have their newest version in STAGING (alias ``challenger``).
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import create_engine, func, select, text

from app.db.engine import driver_urls, is_sqlite
from app.db.tables import (
    AliasChangeRow,
    AliasRow,
    MetricRow,
    ModelRow,
    ModelTagRow,
    VersionRow,
    VersionTagRow,
)

FAMILIES = [
    "fraud", "churn", "ranking", "recsys", "search", "pricing", "forecast", "credit", "ads-ctr", "spam",
    "vision-defect", "ocr", "asr", "nlu-intent", "sentiment", "anomaly", "ltv", "eta", "routing", "embeddings",
]
ALGORITHMS = ["xgb", "lgbm", "resnet", "bert", "mlp", "logreg", "gbdt", "transformer"]
TEAMS = [f"team-{name}" for name in (
    "atlas", "borealis", "cobalt", "delta", "ember", "fjord", "granite", "harbor", "iris", "juniper",
    "kestrel", "lumen", "mistral", "nimbus", "onyx", "polaris", "quartz", "raven", "sierra", "tundra",
)]
FRAMEWORKS = ["pytorch", "xgboost", "lightgbm", "sklearn", "tensorflow", "onnx"]
REGIONS = ["eu-west-1", "us-east-1", "us-west-2", "ap-southeast-1"]
TRIGGERS = ["scheduled", "manual", "hpo-sweep"]
DATASETS = [f"ds-{year}-{month:02d}" for year in (2024, 2025, 2026) for month in range(1, 13)][:40]
SCORE_METRICS = ["accuracy", "f1", "precision", "recall"]
USERS = [f"user-{i:02d}@example.com" for i in range(30)] + ["svc-training-pipeline"]
BATCH = 5_000


@dataclass(frozen=True)
class SeedResult:
    models: int
    versions: int
    model_tags: int
    version_tags: int
    version_metrics: int
    aliases: int
    seconds: float
    model_names: list[str]

    def summary(self) -> dict[str, Any]:
        return {"models": self.models, "versions": self.versions, "model_tags": self.model_tags,
                "version_tags": self.version_tags, "version_metrics": self.version_metrics,
                "aliases": self.aliases, "seconds": round(self.seconds, 2)}


def model_name(index: int) -> str:
    family = FAMILIES[index % len(FAMILIES)]
    algorithm = ALGORITHMS[(index // len(FAMILIES)) % len(ALGORITHMS)]
    return f"{family}-{algorithm}-{index:04d}"


def _digest(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def _stages(rng: random.Random, versions: int) -> tuple[dict[int, str], int | None, int | None]:
    """Stage per version number, and the PRODUCTION and STAGING version numbers (or None)."""
    stages = {number: "NONE" for number in range(1, versions + 1)}
    production = staging = None
    if versions >= 2 and rng.random() < 0.6:
        production = rng.randint(max(1, versions - 4), versions - 1)
        stages[production] = "PRODUCTION"
        for older in range(max(1, production - rng.randint(0, 3)), production):
            stages[older] = "ARCHIVED"
    if rng.random() < 0.35 and stages[versions] == "NONE":
        staging = versions
        stages[versions] = "STAGING"
    return stages, production, staging


def _insert(connection: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        connection.execute(table.insert(), rows[start:start + BATCH])


def seed(url: str, *, models: int = 2000, versions_per_model: int = 10, seed_value: int = 42) -> SeedResult:
    """Fill the empty, migrated database at ``url``; returns counts and the model names."""
    started = time.perf_counter()
    rng = random.Random(seed_value)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    year_ago = now - timedelta(days=365)
    model_rows: list[dict[str, Any]] = []
    model_tags: list[dict[str, Any]] = []
    version_rows: list[dict[str, Any]] = []
    version_tags: list[dict[str, Any]] = []
    metrics: list[dict[str, Any]] = []
    aliases: list[dict[str, Any]] = []
    alias_changes: list[dict[str, Any]] = []
    version_id = 0
    for index in range(models):
        model_id = index + 1
        name = model_name(index)
        team = TEAMS[rng.randrange(len(TEAMS))]
        owner = rng.choice(USERS)
        created = year_ago + timedelta(seconds=rng.randrange(0, 180 * 86400))
        stages, production, staging = _stages(rng, versions_per_model)
        moment = created
        version_ids: dict[int, int] = {}
        for number in range(1, versions_per_model + 1):
            version_id += 1
            version_ids[number] = version_id
            moment += timedelta(seconds=rng.randrange(3600, 17 * 86400))
            author = rng.choice(USERS)
            run_id = _digest(name, number, "run")[:32]
            framework = rng.choice(FRAMEWORKS)
            version_rows.append({
                "id": version_id, "model_id": model_id, "version": number, "status": "READY",
                "stage": stages[number], "description": f"{name} retrained on {rng.choice(DATASETS)}",
                "flavor": framework, "signature": {"inputs": [{"name": "features", "type": "tensor",
                                                               "shape": [-1, rng.choice((16, 64, 256))]}],
                                                   "outputs": [{"name": "score", "type": "double"}]},
                "run_tracker": "MLFLOW", "run_id": run_id,
                "run_uri": f"https://mlflow.example.com/#/experiments/{index}/runs/{run_id}",
                "code_repository_url": f"https://git.example.com/{team}/{name.rsplit('-', 1)[0]}",
                "code_commit_sha": _digest(name, number, "commit")[:40],
                "artifact_uri": f"s3://models-example/{name}/{number}/model.tar.gz",
                "artifact_digest": "sha256:" + _digest(name, number, "artifact"),
                "artifact_size": rng.randrange(1_000_000, 2_000_000_000),
                "params": {"learning_rate": f"{rng.choice((0.3, 0.1, 0.05, 0.01, 0.001))}",
                           "max_depth": str(rng.randint(3, 12)), "epochs": str(rng.randint(5, 200)),
                           "batch_size": str(rng.choice((32, 64, 128, 256))), "seed": str(rng.randrange(10**6))},
                "created_at": moment, "created_by": author, "updated_at": moment,
            })
            for key, value in (("team", team), ("framework", framework), ("dataset", rng.choice(DATASETS)),
                               ("region", rng.choice(REGIONS)), ("trigger", rng.choice(TRIGGERS))):
                version_tags.append({"version_id": version_id, "key": key, "value": value})
            for metric in SCORE_METRICS:
                metrics.append({"version_id": version_id, "name": metric, "value": rng.uniform(0.5, 1.0),
                                "dataset": "validation", "step": None})
            metrics.append({"version_id": version_id, "name": "latency_p95_ms",
                            "value": round(math.exp(rng.gauss(3.0, 0.8)), 3), "dataset": None, "step": None})
        model_rows.append({
            "id": model_id, "name": name, "description": f"{name.split('-')[0]} model owned by {team}",
            "owner": owner, "created_at": created, "created_by": owner, "updated_at": moment,
            "next_version": versions_per_model + 1,
        })
        model_tags.append({"model_id": model_id, "key": "team", "value": team})
        model_tags.append({"model_id": model_id, "key": "domain", "value": FAMILIES[index % len(FAMILIES)]})
        for alias, number in (("champion", production), ("challenger", staging)):
            if number is None:
                continue
            aliases.append({"model_id": model_id, "alias": alias, "version_id": version_ids[number],
                            "updated_at": moment, "updated_by": owner})
            alias_changes.append({"model_id": model_id, "alias": alias, "from_version": None,
                                  "to_version": number, "changed_at": moment, "changed_by": owner})

    engine = create_engine(driver_urls(url)[1])
    with engine.begin() as connection:
        if is_sqlite(url):
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        for table, rows in ((ModelRow, model_rows), (ModelTagRow, model_tags), (VersionRow, version_rows),
                            (VersionTagRow, version_tags), (MetricRow, metrics), (AliasRow, aliases),
                            (AliasChangeRow, alias_changes)):
            _insert(connection, table.__table__, rows)
        if not is_sqlite(url):
            # Explicit ids leave the sequences behind; move them past the seeded rows.
            for table in (ModelRow, VersionRow):
                name = table.__tablename__
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"
                ))
        assert connection.execute(select(func.count()).select_from(VersionRow)).scalar_one() == len(version_rows)
    if not is_sqlite(url):
        # What autovacuum would do shortly after a bulk load; without it the planner guesses row counts. Then the
        # load's dirty pages written out now, not by the checkpointer while a benchmark's first operation is measured.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
            connection.exec_driver_sql("CHECKPOINT")
    engine.dispose()
    return SeedResult(models=len(model_rows), versions=len(version_rows), model_tags=len(model_tags),
                      version_tags=len(version_tags), version_metrics=len(metrics), aliases=len(aliases),
                      seconds=time.perf_counter() - started, model_names=[row["name"] for row in model_rows])

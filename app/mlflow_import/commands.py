"""What an MLflow model version becomes when registered in modelreg: the ``NewVersion`` (source to copy, run as
lineage, params and metrics, description and tags) and the idempotency key of its registration."""

from __future__ import annotations

import hashlib

from app.domain.commands import NewVersion
from app.domain.entities import Metric, TrackerKind
from app.domain.imports import from_millis
from app.domain.lineage_commands import NewRun

from .registry import MlflowRun, MlflowVersion

KEY_PREFIX = "mlflow-import"


def idempotency_key(source: str, name: str, version: int) -> str:
    """The idempotency key of one version's registration: a registration that committed before the importer was
    interrupted answers the same version when the next run repeats it."""
    digest = hashlib.sha256(f"{source}\n{name}\n{version}".encode()).hexdigest()[:40]
    return f"{KEY_PREFIX}:{digest}"


def run_uri(source: str, run: MlflowRun | None, run_id: str) -> str:
    """The run's page in MLflow's UI when its experiment is known, else MLflow's ``runs:/`` URI."""
    if run is not None and run.experiment_id is not None:
        return f"{source}/#/experiments/{run.experiment_id}/runs/{run_id}"
    return f"runs:/{run_id}"


def run_command(source: str, run_id: str, run: MlflowRun | None) -> NewRun:
    """The lineage run of a version: what MLflow has of it (experiment, params, latest metrics, times), or its id
    alone when MLflow no longer has it."""
    if run is None:
        return NewRun(TrackerKind.MLFLOW, run_id, run_uri=f"runs:/{run_id}")
    return NewRun(
        tracker=TrackerKind.MLFLOW,
        run_id=run_id,
        run_uri=run_uri(source, run, run_id),
        experiment_name=run.experiment_name,
        params=dict(run.params),
        metrics={key: value for key, (value, _) in run.metrics.items()},
        started_at=from_millis(run.start_time),
        ended_at=from_millis(run.end_time),
    )


def version_command(source: str, name: str, version: MlflowVersion, run: MlflowRun | None) -> NewVersion:
    """The registration of an MLflow version as version of ``name``: its files copied from its source, its run as
    lineage, the run's params and latest metrics as the version's own (so promotion gates on metrics work)."""
    return NewVersion(
        model_name=name,
        description=version.description,
        source=version.source,
        run=run_command(source, version.run_id, run) if version.run_id else None,
        metrics=tuple(Metric(key, value, step=step) for key, (value, step) in sorted(run.metrics.items()))
        if run
        else (),
        params=dict(run.params) if run else {},
        tags=version.tags,
    )

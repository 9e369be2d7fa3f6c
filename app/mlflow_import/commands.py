"""What an MLflow model version becomes when registered in modelreg: the ``NewVersion`` (source to copy, run as
lineage, params and metrics, description and tags) and the idempotency key of its registration."""

from __future__ import annotations

import hashlib

from app.domain.commands import NewVersion
from app.domain.entities import Metric
from app.mlflow.runs import run_command
from app.mlflow.tracking import MlflowRun, MlflowVersion

KEY_PREFIX = "mlflow-import"


def idempotency_key(source: str, name: str, version: int) -> str:
    """The idempotency key of one version's registration: a registration that committed before the importer was
    interrupted answers the same version when the next run repeats it."""
    digest = hashlib.sha256(f"{source}\n{name}\n{version}".encode()).hexdigest()[:40]
    return f"{KEY_PREFIX}:{digest}"


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

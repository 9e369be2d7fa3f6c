"""The MLflow run behind a version: its lineage Run (tracker MLFLOW) with the run's experiment, params, metrics and
times, read from the tracking server (``MODELREG_MLFLOW_TRACKING_URI``). The MLflow door and the importer both use it.
"""

from __future__ import annotations

import logging

from app.domain.entities import TrackerKind
from app.domain.imports import from_millis
from app.domain.lineage_commands import NewRun
from app.mlflow_import.registry import MlflowRegistry, MlflowRun, MlflowUnavailable

log = logging.getLogger("modelreg.mlflow")


def run_link(tracking_uri: str, run: MlflowRun | None, run_id: str) -> str:
    """The run's page in MLflow's UI when its experiment is known, else its ``runs:/`` URI."""
    if run is not None and run.experiment_id is not None:
        return f"{tracking_uri}/#/experiments/{run.experiment_id}/runs/{run_id}"
    return f"runs:/{run_id}"


def lineage_run(tracking_uri: str, run_id: str, run: MlflowRun | None, link: str | None = None) -> NewRun:
    """A lineage Run from what MLflow knows of it (only its id and link when MLflow did not answer)."""
    if run is None:
        return NewRun(TrackerKind.MLFLOW, run_id, run_uri=link or f"runs:/{run_id}")
    return NewRun(
        tracker=TrackerKind.MLFLOW,
        run_id=run_id,
        run_uri=link or run_link(tracking_uri, run, run_id),
        experiment_name=run.experiment_name,
        params=dict(run.params),
        metrics={key: value for key, (value, _) in run.metrics.items()},
        started_at=from_millis(run.start_time),
        ended_at=from_millis(run.end_time),
    )


class RunReader:
    """Reads runs and logged models from the tracking server; with none configured, a run is only its id."""

    def __init__(self, tracking_uri: str | None, token: str | None = None) -> None:
        self._registry = MlflowRegistry(tracking_uri, token) if tracking_uri else None

    async def close(self) -> None:
        if self._registry is not None:
            await self._registry.close()

    async def lineage(self, run_id: str | None, model_id: str | None, link: str | None) -> NewRun | None:
        """The run of a version registered with ``run_id``, or with only an MLflow 3 logged model (its source run);
        None when neither names one. A tracking server that does not answer leaves the run bare, never fails the
        registration."""
        if self._registry is None:
            return NewRun(TrackerKind.MLFLOW, run_id, run_uri=link) if run_id else None
        try:
            if run_id is None and model_id:
                run_id = await self._registry.logged_model_run(model_id)
            if run_id is None:
                return None
            return lineage_run(self._registry.tracking_uri, run_id, await self._registry.run(run_id), link)
        except MlflowUnavailable as error:
            log.warning("MLflow run not read; lineage keeps its id only", extra={"why": str(error)[:300]})
            return NewRun(TrackerKind.MLFLOW, run_id, run_uri=link) if run_id else None

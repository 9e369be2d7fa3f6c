"""The MLflow run behind a version registered through the MLflow door: its lineage Run (tracker MLFLOW) with the
run's experiment, params, latest metrics and times from the tracking server (``MODELREG_MLFLOW_TRACKING_URI``), and
the params and metrics the version itself carries, so promotion gates on metrics apply to it as to any version
(the importer builds its versions' runs with the same ``run_command``)."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace

from app.domain.entities import Metric, TrackerKind
from app.domain.imports import from_millis
from app.domain.lineage_commands import NewRun
from app.domain.rules import PARAM_VALUE_MAX, TAG_KEY_PATTERN

from .tracking import MlflowRegistry, MlflowRun, MlflowUnavailable

log = logging.getLogger("modelreg.mlflow")


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


@dataclass(frozen=True)
class RunFacts:
    """What a version registered from an MLflow run carries of it."""

    run: NewRun
    params: dict[str, str]
    metrics: tuple[Metric, ...]


def _storable(run: MlflowRun) -> MlflowRun:
    """The run without the params and metrics the registry's rules refuse (names outside letters, digits and
    ``_.-/: ``, values over the limit): they stay in MLflow rather than failing the registration."""
    params = {k: v for k, v in run.params.items() if TAG_KEY_PATTERN.fullmatch(k) and len(v) <= PARAM_VALUE_MAX}
    metrics = {k: v for k, v in run.metrics.items() if TAG_KEY_PATTERN.fullmatch(k) and math.isfinite(v[0])}
    dropped = sorted((set(run.params) - set(params)) | (set(run.metrics) - set(metrics)))
    if dropped:
        log.info("MLflow params or metrics not kept", extra={"run_id": run.run_id, "names": dropped[:20]})
    return replace(run, params=params, metrics=metrics)


class RunReader:
    """Reads runs and logged models from the tracking server; with none configured, a run is only its id."""

    def __init__(self, tracking_uri: str | None, token: str | None = None) -> None:
        self._registry = MlflowRegistry(tracking_uri, token) if tracking_uri else None

    async def close(self) -> None:
        if self._registry is not None:
            await self._registry.close()

    async def describe(self, run_id: str | None, model_id: str | None, link: str | None) -> RunFacts | None:
        """The run of a version registered with ``run_id``, or with only an MLflow 3 logged model (its source run);
        None when neither names one. A tracking server that does not answer leaves the run bare, never fails the
        registration."""
        bare = RunFacts(NewRun(TrackerKind.MLFLOW, run_id, run_uri=link), {}, ()) if run_id else None
        if self._registry is None:
            return bare
        try:
            if run_id is None and model_id:
                run_id = await self._registry.logged_model_run(model_id)
            if run_id is None:
                return None
            found = await self._registry.run(run_id)
        except MlflowUnavailable as error:
            log.warning("MLflow run not read; lineage keeps its id only", extra={"why": str(error)[:300]})
            return bare
        run = _storable(found) if found else None
        command = run_command(self._registry.tracking_uri, run_id, run)
        if link:
            command = replace(command, run_uri=link)
        if run is None:
            return RunFacts(command, {}, ())
        metrics = tuple(Metric(key, value, step=step) for key, (value, step) in sorted(run.metrics.items()))
        return RunFacts(command, dict(run.params), metrics)

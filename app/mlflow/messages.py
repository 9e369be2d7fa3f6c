"""The registry's entities as MLflow's REST messages (``RegisteredModel``, ``ModelVersion``): timestamps in
milliseconds, versions as strings, stages in MLflow's spelling, names in their MLflow form (app/mlflow/names.py)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from app.domain.entities import ModelAlias, ModelVersion, RegisteredModel, Stage, TrackerKind
from app.domain.errors import BadUserInput

from .names import to_mlflow

STAGE_NAMES = {Stage.NONE: "None", Stage.STAGING: "Staging", Stage.PRODUCTION: "Production", Stage.ARCHIVED: "Archived"}
STAGES_BY_NAME = {name.lower(): stage for stage, name in STAGE_NAMES.items()}
LOGGED_MODEL_SOURCE = re.compile(r"^models:/(m-[0-9a-f]{8,64})/?$")


def parse_stage(value: str, field: str = "stage") -> Stage:
    """A stage as MLflow writes it (``Production``, any case)."""
    stage = STAGES_BY_NAME.get(value.strip().lower())
    if stage is None:
        raise BadUserInput(f"{field} {value!r} is not a stage; use None, Staging, Production or Archived", field=field)
    return stage


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in sorted(tags.items())]


def version_message(
    version: ModelVersion, tags: dict[str, str], aliases: list[ModelAlias], source: str | None
) -> dict[str, Any]:
    """MLflow's ``ModelVersion``. ``source`` is what the version was registered from (the registry's own copy
    serves the downloads: ``get-download-uri``)."""
    origin = source or (version.artifact.uri if version.artifact else "")
    if origin.startswith("models:/") and "/" in origin[len("models:/") :]:  # the registry's own models:/NAME/N
        name, _, number = origin[len("models:/") :].rpartition("/")
        origin = f"models:/{to_mlflow(name)}/{number}"
    message: dict[str, Any] = {
        "name": to_mlflow(version.model_name),
        "version": str(version.version),
        "creation_timestamp": millis(version.created_at),
        "last_updated_timestamp": millis(version.updated_at),
        "user_id": version.created_by,
        "current_stage": STAGE_NAMES[version.stage],
        "description": version.description or "",
        "source": origin,
        "status": version.status.value,
        "tags": _tags(tags),
        "aliases": sorted(alias.alias for alias in aliases),
    }
    if version.status_message:
        message["status_message"] = version.status_message
    if version.run is not None and version.run.tracker is TrackerKind.MLFLOW:
        message["run_id"] = version.run.run_id
        if version.run.run_uri:
            message["run_link"] = version.run.run_uri
    if match := LOGGED_MODEL_SOURCE.match(origin):
        message["model_id"] = match.group(1)
    return message


def model_message(
    model: RegisteredModel,
    tags: dict[str, str],
    aliases: list[ModelAlias],
    latest: list[dict[str, Any]],
) -> dict[str, Any]:
    """MLflow's ``RegisteredModel`` with its newest version per stage (``latest``, already messages)."""
    return {
        "name": to_mlflow(model.name),
        "creation_timestamp": millis(model.created_at),
        "last_updated_timestamp": millis(model.updated_at),
        "user_id": model.created_by,
        "description": model.description or "",
        "latest_versions": latest,
        "tags": _tags(tags),
        "aliases": [{"alias": a.alias, "version": str(a.version)} for a in sorted(aliases, key=lambda a: a.alias)],
    }

"""Reading an MLflow tracking server's model registry over its REST API (2.0 endpoints, as MLflow 2.x and 3.x serve
them): registered models and their versions with page tokens, runs and experiments."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

PAGE_SIZE = 1000  # MLflow's largest page of registered models; versions are asked for in pages of the same size


class MlflowUnavailable(Exception):
    """The tracking server cannot be read: unreachable, refused, or an answer that is not MLflow's."""


@dataclass(frozen=True)
class MlflowVersion:
    name: str
    version: int
    status: str
    current_stage: str
    description: str | None
    source: str | None
    run_id: str | None
    user_id: str | None
    creation_timestamp: int | None
    last_updated_timestamp: int | None
    tags: dict[str, str]
    status_message: str | None = None

    def original(self) -> dict[str, Any]:
        """What MLflow says of the version, kept as the import's metadata (times in epoch milliseconds)."""
        return {
            "name": self.name,
            "version": self.version,
            "current_stage": self.current_stage,
            "user_id": self.user_id or None,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
            "run_id": self.run_id or None,
            "source": self.source,
        }


@dataclass(frozen=True)
class MlflowModel:
    name: str
    description: str | None
    tags: dict[str, str]
    aliases: dict[str, int]  # alias -> MLflow version number
    creation_timestamp: int | None
    last_updated_timestamp: int | None
    user_id: str | None = None

    def original(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "user_id": self.user_id or None,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
        }


@dataclass(frozen=True)
class MlflowRun:
    run_id: str
    experiment_id: str | None
    experiment_name: str | None
    run_name: str | None
    start_time: int | None
    end_time: int | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, tuple[float, int]] = field(default_factory=dict)  # name -> (latest value, its step)
    dropped_metrics: tuple[str, ...] = ()  # NaN or infinite values modelreg does not store


def _tags(items: list[dict[str, Any]] | None) -> dict[str, str]:
    return {item["key"]: str(item.get("value") or "") for item in items or [] if item.get("key")}


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _model(item: dict[str, Any]) -> MlflowModel:
    aliases: dict[str, int] = {}
    for alias in item.get("aliases") or []:
        number = _int(alias.get("version"))
        if alias.get("alias") and number is not None:
            aliases[alias["alias"]] = number
    return MlflowModel(
        name=item["name"],
        description=item.get("description") or None,
        tags=_tags(item.get("tags")),
        aliases=aliases,
        creation_timestamp=_int(item.get("creation_timestamp")),
        last_updated_timestamp=_int(item.get("last_updated_timestamp")),
        user_id=item.get("user_id") or None,
    )


def _version(item: dict[str, Any]) -> MlflowVersion:
    number = _int(item.get("version"))
    if number is None:
        raise MlflowUnavailable(f"model version without a version number: {str(item)[:200]}")
    return MlflowVersion(
        name=item["name"],
        version=number,
        status=item.get("status") or "READY",
        current_stage=item.get("current_stage") or "None",
        description=item.get("description") or None,
        source=item.get("source") or None,
        run_id=item.get("run_id") or None,
        user_id=item.get("user_id") or None,
        creation_timestamp=_int(item.get("creation_timestamp")),
        last_updated_timestamp=_int(item.get("last_updated_timestamp")),
        tags=_tags(item.get("tags")),
        status_message=item.get("status_message") or None,
    )


def _quoted(name: str) -> str:
    """A name as a string literal of MLflow's filter syntax."""
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


class MlflowRegistry:
    """The registry of one tracking server. ``token`` goes as a bearer token (MLFLOW_TRACKING_TOKEN), as MLflow's
    client sends it."""

    def __init__(self, tracking_uri: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.tracking_uri = tracking_uri.rstrip("/")
        headers = {"User-Agent": "modelreg-import/1"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.AsyncClient(
            base_url=f"{self.tracking_uri}/api/2.0/mlflow/", headers=headers, timeout=timeout, trust_env=False
        )
        self._runs: dict[str, MlflowRun | None] = {}
        self._experiments: dict[str, str | None] = {}

    async def close(self) -> None:
        await self._client.aclose()

    async def _get(self, path: str, params: dict[str, Any], missing_ok: bool = False) -> dict[str, Any] | None:
        try:
            response = await self._client.get(path, params=params)
        except httpx.HTTPError as error:
            raise MlflowUnavailable(f"{self.tracking_uri}: {type(error).__name__}: {error}") from None
        if missing_ok and response.status_code == 404:
            return None
        if response.status_code != 200:
            try:
                body = response.json()
                message = f"{body.get('error_code')}: {body.get('message')}"
            except ValueError:
                message = response.text[:200]
            if missing_ok and "RESOURCE_DOES_NOT_EXIST" in message:
                return None
            raise MlflowUnavailable(f"{self.tracking_uri} answered {response.status_code} to {path}: {message}")
        try:
            body = response.json()
        except ValueError:
            raise MlflowUnavailable(f"{self.tracking_uri}/{path} did not answer JSON (is it MLflow?)") from None
        if not isinstance(body, dict):
            raise MlflowUnavailable(f"{self.tracking_uri}/{path} answered {str(body)[:100]}")
        return body

    async def models(self) -> AsyncIterator[MlflowModel]:
        """Every registered model, in MLflow's order (by name), page by page."""
        token: str | None = None
        while True:
            params: dict[str, Any] = {"max_results": PAGE_SIZE, "order_by": "name ASC"}
            if token:
                params["page_token"] = token
            body = await self._get("registered-models/search", params) or {}
            for item in body.get("registered_models") or []:
                yield _model(item)
            token = body.get("next_page_token")
            if not token:
                return

    async def versions(self, name: str) -> list[MlflowVersion]:
        """Every version of a registered model, by version number."""
        found: list[MlflowVersion] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"filter": f"name={_quoted(name)}", "max_results": PAGE_SIZE}
            if token:
                params["page_token"] = token
            body = await self._get("model-versions/search", params) or {}
            found.extend(_version(item) for item in body.get("model_versions") or [] if item.get("name") == name)
            token = body.get("next_page_token")
            if not token:
                return sorted(found, key=lambda version: version.version)

    async def run(self, run_id: str) -> MlflowRun | None:
        """A run with its params, latest metrics and experiment's name (None when MLflow no longer has it)."""
        if run_id not in self._runs:
            body = await self._get("runs/get", {"run_id": run_id}, missing_ok=True)
            self._runs[run_id] = await self._run(body["run"]) if body and body.get("run") else None
        return self._runs[run_id]

    async def logged_model_run(self, model_id: str) -> str | None:
        """The run an MLflow 3 logged model (``m-...``) was logged in, if MLflow knows it."""
        body = await self._get(f"logged-models/{model_id}", {}, missing_ok=True)
        info = ((body or {}).get("model") or {}).get("info") or {}
        return info.get("source_run_id") or None

    def cached_run(self, run_id: str | None) -> MlflowRun | None:
        """A run read before (None when it was not, or MLflow no longer has it)."""
        return self._runs.get(run_id) if run_id else None

    async def _run(self, run: dict[str, Any]) -> MlflowRun:
        info, data = run.get("info") or {}, run.get("data") or {}
        experiment_id = info.get("experiment_id")
        metrics: dict[str, tuple[float, int, int]] = {}  # name -> (value, step, timestamp) of the latest value
        dropped = []
        for metric in data.get("metrics") or []:
            key, value = metric.get("key"), metric.get("value")
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = math.nan
            if not key:
                continue
            if not math.isfinite(number):
                dropped.append(key)
                continue
            entry = (number, _int(metric.get("step")) or 0, _int(metric.get("timestamp")) or 0)
            if key not in metrics or (entry[1], entry[2]) >= metrics[key][1:]:
                metrics[key] = entry
        return MlflowRun(
            run_id=str(info.get("run_id") or info.get("run_uuid") or ""),
            experiment_id=str(experiment_id) if experiment_id is not None else None,
            experiment_name=await self.experiment_name(str(experiment_id)) if experiment_id is not None else None,
            run_name=info.get("run_name") or None,
            start_time=_int(info.get("start_time")),
            end_time=_int(info.get("end_time")),
            params={item["key"]: str(item.get("value") or "") for item in data.get("params") or [] if item.get("key")},
            metrics={key: (value, step) for key, (value, step, _) in metrics.items()},
            dropped_metrics=tuple(sorted(set(dropped) - set(metrics))),
        )

    async def experiment_name(self, experiment_id: str) -> str | None:
        if experiment_id not in self._experiments:
            body = await self._get("experiments/get", {"experiment_id": experiment_id}, missing_ok=True)
            experiment = (body or {}).get("experiment") or {}
            self._experiments[experiment_id] = experiment.get("name") or None
        return self._experiments[experiment_id]

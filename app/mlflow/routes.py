"""MLflow's Model Registry REST API 2.0 (``/api/2.0/mlflow/registered-models/...``, ``.../model-versions/...``)
on the registry's services: the same authorization, audit log and events as GraphQL (docs/mlflow.md).

Where the registry's rules differ from MLflow's, the answer is an MLflow error whose message states the rule: a
stage transition is a transition request (applied at once when the promotion policy needs no approval, otherwise
pending: the answer names the request), a protected alias moves through an approved request the same way, and a
model cannot be renamed.
"""

from __future__ import annotations

from starlette.routing import Route

from .model_endpoints import (
    create_registered_model,
    delete_registered_model,
    delete_registered_model_alias,
    delete_registered_model_tag,
    get_latest_versions,
    get_model_version_by_alias,
    get_registered_model,
    rename_registered_model,
    search_registered_models,
    set_registered_model_alias,
    set_registered_model_tag,
    update_registered_model,
)
from .version_endpoints import (
    create_model_version,
    delete_model_version,
    delete_model_version_tag,
    get_model_version,
    get_model_version_download_uri,
    search_model_versions,
    set_model_version_tag,
    transition_model_version_stage,
    update_model_version,
)

API = "/api/2.0/mlflow"


def mlflow_routes() -> list[Route]:
    """The Model Registry endpoints, at the paths and methods MLflow's client calls."""
    models, versions = f"{API}/registered-models", f"{API}/model-versions"
    table = [
        (f"{models}/create", create_registered_model, ["POST"]),
        (f"{models}/get", get_registered_model, ["GET"]),
        (f"{models}/update", update_registered_model, ["PATCH"]),
        (f"{models}/rename", rename_registered_model, ["POST"]),
        (f"{models}/delete", delete_registered_model, ["DELETE"]),
        (f"{models}/search", search_registered_models, ["GET"]),
        (f"{models}/get-latest-versions", get_latest_versions, ["POST", "GET"]),
        (f"{models}/set-tag", set_registered_model_tag, ["POST"]),
        (f"{models}/delete-tag", delete_registered_model_tag, ["DELETE"]),
        (f"{models}/alias", set_registered_model_alias, ["POST"]),
        (f"{models}/alias", delete_registered_model_alias, ["DELETE"]),
        (f"{models}/alias", get_model_version_by_alias, ["GET"]),
        (f"{versions}/create", create_model_version, ["POST"]),
        (f"{versions}/get", get_model_version, ["GET"]),
        (f"{versions}/update", update_model_version, ["PATCH"]),
        (f"{versions}/delete", delete_model_version, ["DELETE"]),
        (f"{versions}/transition-stage", transition_model_version_stage, ["POST"]),
        (f"{versions}/search", search_model_versions, ["GET"]),
        (f"{versions}/get-download-uri", get_model_version_download_uri, ["GET"]),
        (f"{versions}/set-tag", set_model_version_tag, ["POST"]),
        (f"{versions}/delete-tag", delete_model_version_tag, ["DELETE"]),
    ]
    return [Route(path, endpoint, methods=methods) for path, endpoint, methods in table]

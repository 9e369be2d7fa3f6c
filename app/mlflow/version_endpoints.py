"""MLflow's model-version endpoints (``/api/2.0/mlflow/model-versions/...``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.domain.commands import NewVersion, VersionChanges
from app.domain.entities import TrackerKind
from app.domain.errors import Conflict, NotFound
from app.domain.governance import NewTransition, TransitionKind, TransitionStatus
from app.domain.lineage_commands import NewRun
from app.domain.queries import PageRequest

from . import search
from .answers import (
    DEFAULT_VERSIONS_PER_SEARCH,
    MAX_VERSIONS_PER_SEARCH,
    ok,
    page_answer,
    pending_refusal,
    search_size,
    services_of,
    version_answer,
)
from .copies import from_registry_version
from .errors import mlflow_endpoint
from .messages import parse_stage
from .names import to_mlflow
from .requests import arguments
from .runs import RunReader
from .views import collect, version_messages


@mlflow_endpoint
async def create_model_version(request: Request) -> Response:
    principal, args = await arguments(request)
    runs: RunReader = request.app.state.mlflow_runs
    link = args.text("run_link", required=False)
    facts = await runs.describe(args.text("run_id", required=False), args.text("model_id", required=False), link)
    run = facts.run if facts else None
    command = NewVersion(
        model_name=args.model_name(),
        description=args.text("description", required=False),
        tags=args.tags(),
        run=run,
        params=facts.params if facts else {},
        metrics=facts.metrics if facts else (),
        source=args.required("source"),
    )
    command = await from_registry_version(services_of(request), principal, command)  # copy_model_version
    try:
        try:
            version = await services_of(request).versions.create(principal, command)
        except Conflict:
            if run is None or not (run.params or run.metrics or run.experiment_name):
                raise
            # The run is in the lineage already, as MLflow described it then (its metrics may have moved since):
            # link to it by id.
            bare = NewRun(TrackerKind.MLFLOW, run.run_id)
            version = await services_of(request).versions.create(principal, replace(command, run=bare))
    except NotFound as error:
        if error.field != "name":
            raise
        raise NotFound(
            f"Registered Model with name={to_mlflow(command.model_name)} not found; create it first "
            "(registered-models/create)",
            field="name",
        ) from None
    [message] = await version_messages(services_of(request).reads, principal, [version])
    return ok({"model_version": message})


@mlflow_endpoint
async def get_model_version(request: Request) -> Response:
    principal, args = await arguments(request)
    return await version_answer(request, principal, args.model_name(), args.version())


@mlflow_endpoint
async def update_model_version(request: Request) -> Response:
    principal, args = await arguments(request)
    name, number = args.model_name(), args.version()
    changes = VersionChanges(description=args.text("description", required=False) or "")
    await services_of(request).versions.update(principal, name, number, changes)
    return await version_answer(request, principal, name, number)


@mlflow_endpoint
async def delete_model_version(request: Request) -> Response:
    principal, args = await arguments(request)
    await services_of(request).versions.delete(principal, args.model_name(), args.version())
    return ok()


@mlflow_endpoint
async def transition_model_version_stage(request: Request) -> Response:
    principal, args = await arguments(request)
    name, number = args.model_name(), args.version()
    stage = parse_stage(args.required("stage"))
    new = NewTransition(
        kind=TransitionKind.STAGE,
        to_stage=stage,
        comment=args.text("comment", required=False) or "requested through the MLflow API",
        archive_existing_production=args.flag("archive_existing_versions"),
    )
    moved = await services_of(request).transitions.request(principal, name, number, new)
    if moved.status is not TransitionStatus.APPLIED:
        raise pending_refusal(moved, f"moving version {number} of {to_mlflow(name)!r} to {args.required('stage')}")
    return await version_answer(request, principal, name, number)


@mlflow_endpoint
async def search_model_versions(request: Request) -> Response:
    principal, args = await arguments(request)
    filter = search.version_filter(args.text("filter", required=False))
    order = search.version_order(args.strings("order_by"))
    reads = services_of(request).reads

    async def fetch(page: PageRequest) -> Any:
        return (await reads.versions(principal, filter, order, page, with_total=False))[0]

    size = search_size(args, DEFAULT_VERSIONS_PER_SEARCH, MAX_VERSIONS_PER_SEARCH)
    versions, token = await collect(fetch, size, reads.max_page_size, args.text("page_token", required=False))
    return page_answer("model_versions", await version_messages(reads, principal, versions), token)


@mlflow_endpoint
async def get_model_version_download_uri(request: Request) -> Response:
    """Where MLflow's client downloads a version from: the registry's own copy when it stores the files
    (``/api/2.0/mlflow-artifacts/artifacts/models/NAME/VERSION``, digests checked as they are served), else the
    external reference it was registered with."""
    principal, args = await arguments(request)
    name, number = args.model_name(), args.version()
    version = await services_of(request).reads.version(principal, name, number)
    if version is None:
        raise NotFound(f"Model Version (name={to_mlflow(name)}, version={number}) not found", field="version")
    if version.artifact is not None and version.artifact.uri.startswith("models:/"):
        base = str(request.base_url).rstrip("/")
        uri = f"{base}/api/2.0/mlflow-artifacts/artifacts/models/{to_mlflow(name)}/{number}"
    else:
        uri = version.artifact.uri if version.artifact else ""
    return ok({"artifact_uri": uri})


@mlflow_endpoint
async def set_model_version_tag(request: Request) -> Response:
    principal, args = await arguments(request)
    value = args.text("value", required=False) or ""
    await services_of(request).versions.set_tag(
        principal, args.model_name(), args.version(), args.required("key"), value
    )
    return ok()


@mlflow_endpoint
async def delete_model_version_tag(request: Request) -> Response:
    principal, args = await arguments(request)
    await services_of(request).versions.delete_tag(principal, args.model_name(), args.version(), args.required("key"))
    return ok()

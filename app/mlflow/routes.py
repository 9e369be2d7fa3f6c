"""MLflow's Model Registry REST API 2.0 (``/api/2.0/mlflow/registered-models/...``, ``.../model-versions/...``)
on the registry's services: the same authorization, audit log and events as GraphQL (docs/mlflow.md).

Where the registry's rules differ from MLflow's, the answer is an MLflow error whose message states the rule: a
stage transition is a transition request (applied at once when the promotion policy needs no approval, otherwise
pending: the answer names the request), a protected alias moves through an approved request the same way, and a
model cannot be renamed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.domain.commands import ModelChanges, NewModel, NewVersion, VersionChanges
from app.domain.entities import TrackerKind
from app.domain.errors import BadUserInput, Conflict, FailedPrecondition, NotFound
from app.domain.governance import NewTransition, TransitionKind, TransitionRequest, TransitionStatus
from app.domain.lineage_commands import NewRun
from app.domain.queries import PageRequest

from . import search
from .copies import from_registry_version
from .errors import MlflowRefusal, mlflow_endpoint
from .messages import parse_stage
from .names import to_mlflow
from .requests import arguments
from .runs import RunReader
from .views import collect, latest_per_stage, model_messages, version_messages

API = "/api/2.0/mlflow"
MAX_MODELS_PER_SEARCH, DEFAULT_MODELS_PER_SEARCH = 1000, 100  # MLflow's own limits
MAX_VERSIONS_PER_SEARCH, DEFAULT_VERSIONS_PER_SEARCH = 10_000, 10_000


def _services(request: Request) -> Any:
    return request.app.state.services


def _ok(body: dict[str, Any] | None = None) -> Response:
    return JSONResponse(body or {})


async def _model_answer(request: Request, principal: Any, name: str) -> Response:
    model = await _services(request).reads.model(principal, name)
    if model is None:
        raise NotFound(f"Registered Model with name={to_mlflow(name)} not found", field="name")
    [message] = await model_messages(_services(request).reads, principal, [model])
    return _ok({"registered_model": message})


async def _version_answer(request: Request, principal: Any, name: str, number: int) -> Response:
    version = await _services(request).reads.version(principal, name, number)
    if version is None:
        raise NotFound(f"Model Version (name={to_mlflow(name)}, version={number}) not found", field="version")
    [message] = await version_messages(_services(request).reads, principal, [version])
    return _ok({"model_version": message})


def _page(key: str, items: list[dict[str, Any]], token: str | None) -> Response:
    """A page of search results, with the token of the next page when there is one."""
    return _ok({key: items, **({"next_page_token": token} if token else {})})


def _search_size(args: Any, default: int, limit: int) -> int:
    size = args.integer("max_results", default)
    if not 0 < size <= limit:
        raise BadUserInput(
            f"Invalid value for request parameter max_results: it must be 1 to {limit}", field="max_results"
        )
    return size


# Registered models.


@mlflow_endpoint
async def create_registered_model(request: Request) -> Response:
    principal, args = await arguments(request)
    command = NewModel(name=args.model_name(), description=args.text("description", required=False), tags=args.tags())
    try:
        model = await _services(request).models.create(principal, command)
    except Conflict as error:  # mlflow.register_model goes on to create a version on this code
        raise MlflowRefusal(error, "RESOURCE_ALREADY_EXISTS", 400) from None
    [message] = await model_messages(_services(request).reads, principal, [model])
    return _ok({"registered_model": message})


@mlflow_endpoint
async def get_registered_model(request: Request) -> Response:
    principal, args = await arguments(request)
    return await _model_answer(request, principal, args.model_name())


@mlflow_endpoint
async def update_registered_model(request: Request) -> Response:
    principal, args = await arguments(request)
    name = args.model_name()
    await _services(request).models.update(
        principal, name, ModelChanges(description=args.text("description", required=False) or "")
    )
    return await _model_answer(request, principal, name)


@mlflow_endpoint
async def rename_registered_model(request: Request) -> Response:
    await arguments(request)
    raise FailedPrecondition(
        "modelreg does not rename models: a model's name is part of its models:/ URIs, its lineage and its audit "
        "trail. Register the model under the new name and create its versions there.",
        field="new_name",
    )


@mlflow_endpoint
async def delete_registered_model(request: Request) -> Response:
    principal, args = await arguments(request)
    await _services(request).models.delete(principal, args.model_name())
    return _ok()


@mlflow_endpoint
async def search_registered_models(request: Request) -> Response:
    principal, args = await arguments(request)
    filter, order = (
        search.model_filter(args.text("filter", required=False)),
        search.model_order(args.strings("order_by")),
    )
    reads = _services(request).reads

    async def fetch(page: PageRequest) -> Any:
        return await reads.models(principal, filter, order, page, with_total=False)

    size = _search_size(args, DEFAULT_MODELS_PER_SEARCH, MAX_MODELS_PER_SEARCH)
    models, token = await collect(fetch, size, reads.max_page_size, args.text("page_token", required=False))
    return _page("registered_models", await model_messages(reads, principal, models), token)


@mlflow_endpoint
async def get_latest_versions(request: Request) -> Response:
    principal, args = await arguments(request)
    name = args.model_name()
    reads = _services(request).reads
    model = await reads.model(principal, name)
    if model is None:
        raise NotFound(f"Registered Model with name={to_mlflow(name)} not found", field="name")
    stages = [parse_stage(stage, "stages") for stage in args.strings("stages")] or None
    latest = (await latest_per_stage(reads, principal, [model.id], stages))[model.id]
    return _ok({"model_versions": await version_messages(reads, principal, latest)})


@mlflow_endpoint
async def set_registered_model_tag(request: Request) -> Response:
    principal, args = await arguments(request)
    value = args.text("value", required=False) or ""
    await _services(request).models.set_tag(principal, args.model_name(), args.required("key"), value)
    return _ok()


@mlflow_endpoint
async def delete_registered_model_tag(request: Request) -> Response:
    principal, args = await arguments(request)
    await _services(request).models.delete_tag(principal, args.model_name(), args.required("key"))
    return _ok()


# Aliases.


def _pending(request_: TransitionRequest, what: str) -> MlflowRefusal:
    """The answer to a move the promotion policy holds for approval: nothing moved, the request waits."""
    approvals = request_.required_approvals
    error = FailedPrecondition(
        f"{what} needs {approvals} approval{'s' if approvals != 1 else ''} under modelreg's promotion policy: "
        f"transition request {request_.public_id} is pending. It applies when an approver approves it "
        "(approveTransitionRequest in the GraphQL API, or `modelreg approve`); nothing has moved yet.",
        field="stage",
    )
    return MlflowRefusal(error, "INVALID_STATE", 400)


@mlflow_endpoint
async def set_registered_model_alias(request: Request) -> Response:
    principal, args = await arguments(request)
    name, alias, number = args.model_name(), args.required("alias"), args.version()
    services = _services(request)
    if services.transitions.policy.is_protected(alias):
        new = NewTransition(kind=TransitionKind.ALIAS, alias=alias, comment="requested through the MLflow API")
        moved = await services.transitions.request(principal, name, number, new)
        if moved.status is not TransitionStatus.APPLIED:
            raise _pending(moved, f"moving the protected alias {alias!r} to version {number}")
    else:
        await services.aliases.set(principal, name, alias, number)
    return _ok()


@mlflow_endpoint
async def delete_registered_model_alias(request: Request) -> Response:
    principal, args = await arguments(request)
    await _services(request).aliases.delete(principal, args.model_name(), args.required("alias"))
    return _ok()


@mlflow_endpoint
async def get_model_version_by_alias(request: Request) -> Response:
    principal, args = await arguments(request)
    name, alias = args.model_name(), args.required("alias")
    resolved = await _services(request).reads.resolve_uri(principal, f"models:/{name}@{alias}")
    [message] = await version_messages(_services(request).reads, principal, [resolved.version])
    return _ok({"model_version": message})


# Model versions.


@mlflow_endpoint
async def create_model_version(request: Request) -> Response:
    principal, args = await arguments(request)
    runs: RunReader = request.app.state.mlflow_runs
    link = args.text("run_link", required=False)
    run = await runs.lineage(args.text("run_id", required=False), args.text("model_id", required=False), link)
    command = NewVersion(
        model_name=args.model_name(),
        description=args.text("description", required=False),
        tags=args.tags(),
        run=run,
        source=args.required("source"),
    )
    command = await from_registry_version(_services(request), principal, command)  # copy_model_version
    try:
        try:
            version = await _services(request).versions.create(principal, command)
        except Conflict:
            if run is None or not (run.params or run.metrics or run.experiment_name):
                raise
            # The run is in the lineage already, as MLflow described it then (its metrics may have moved since):
            # link to it by id.
            bare = NewRun(TrackerKind.MLFLOW, run.run_id)
            version = await _services(request).versions.create(principal, replace(command, run=bare))
    except NotFound as error:
        if error.field != "name":
            raise
        raise NotFound(
            f"Registered Model with name={to_mlflow(command.model_name)} not found; create it first "
            "(registered-models/create)",
            field="name",
        ) from None
    [message] = await version_messages(_services(request).reads, principal, [version])
    return _ok({"model_version": message})


@mlflow_endpoint
async def get_model_version(request: Request) -> Response:
    principal, args = await arguments(request)
    return await _version_answer(request, principal, args.model_name(), args.version())


@mlflow_endpoint
async def update_model_version(request: Request) -> Response:
    principal, args = await arguments(request)
    name, number = args.model_name(), args.version()
    changes = VersionChanges(description=args.text("description", required=False) or "")
    await _services(request).versions.update(principal, name, number, changes)
    return await _version_answer(request, principal, name, number)


@mlflow_endpoint
async def delete_model_version(request: Request) -> Response:
    principal, args = await arguments(request)
    await _services(request).versions.delete(principal, args.model_name(), args.version())
    return _ok()


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
    moved = await _services(request).transitions.request(principal, name, number, new)
    if moved.status is not TransitionStatus.APPLIED:
        raise _pending(moved, f"moving version {number} of {to_mlflow(name)!r} to {args.required('stage')}")
    return await _version_answer(request, principal, name, number)


@mlflow_endpoint
async def search_model_versions(request: Request) -> Response:
    principal, args = await arguments(request)
    filter = search.version_filter(args.text("filter", required=False))
    order = search.version_order(args.strings("order_by"))
    reads = _services(request).reads

    async def fetch(page: PageRequest) -> Any:
        return await reads.versions(principal, filter, order, page, with_total=False)

    size = _search_size(args, DEFAULT_VERSIONS_PER_SEARCH, MAX_VERSIONS_PER_SEARCH)
    versions, token = await collect(fetch, size, reads.max_page_size, args.text("page_token", required=False))
    return _page("model_versions", await version_messages(reads, principal, versions), token)


@mlflow_endpoint
async def get_model_version_download_uri(request: Request) -> Response:
    """Where MLflow's client downloads a version from: the registry's own copy when it stores the files
    (``/api/2.0/mlflow-artifacts/artifacts/models/NAME/VERSION``, digests checked as they are served), else the
    external reference it was registered with."""
    principal, args = await arguments(request)
    name, number = args.model_name(), args.version()
    version = await _services(request).reads.version(principal, name, number)
    if version is None:
        raise NotFound(f"Model Version (name={to_mlflow(name)}, version={number}) not found", field="version")
    if version.artifact is not None and version.artifact.uri.startswith("models:/"):
        base = str(request.base_url).rstrip("/")
        uri = f"{base}/api/2.0/mlflow-artifacts/artifacts/models/{to_mlflow(name)}/{number}"
    else:
        uri = version.artifact.uri if version.artifact else ""
    return _ok({"artifact_uri": uri})


@mlflow_endpoint
async def set_model_version_tag(request: Request) -> Response:
    principal, args = await arguments(request)
    value = args.text("value", required=False) or ""
    await _services(request).versions.set_tag(principal, args.model_name(), args.version(), args.required("key"), value)
    return _ok()


@mlflow_endpoint
async def delete_model_version_tag(request: Request) -> Response:
    principal, args = await arguments(request)
    await _services(request).versions.delete_tag(principal, args.model_name(), args.version(), args.required("key"))
    return _ok()


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

"""MLflow's registered-model and alias endpoints (``/api/2.0/mlflow/registered-models/...``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.domain.commands import ModelChanges, NewModel
from app.domain.errors import Conflict, FailedPrecondition, NotFound
from app.domain.governance import NewTransition, TransitionKind, TransitionStatus
from app.domain.queries import PageRequest

from . import search
from .answers import (
    DEFAULT_MODELS_PER_SEARCH,
    MAX_MODELS_PER_SEARCH,
    model_answer,
    ok,
    page_answer,
    pending_refusal,
    search_size,
    services_of,
)
from .errors import MlflowRefusal, mlflow_endpoint
from .messages import parse_stage
from .names import to_mlflow
from .requests import arguments
from .views import collect, latest_per_stage, model_messages, version_messages


@mlflow_endpoint
async def create_registered_model(request: Request) -> Response:
    principal, args = await arguments(request)
    command = NewModel(name=args.model_name(), description=args.text("description", required=False), tags=args.tags())
    try:
        model = await services_of(request).models.create(principal, command)
    except Conflict as error:  # mlflow.register_model goes on to create a version on this code
        raise MlflowRefusal(error, "RESOURCE_ALREADY_EXISTS", 400) from None
    [message] = await model_messages(services_of(request).reads, principal, [model])
    return ok({"registered_model": message})


@mlflow_endpoint
async def get_registered_model(request: Request) -> Response:
    principal, args = await arguments(request)
    return await model_answer(request, principal, args.model_name())


@mlflow_endpoint
async def update_registered_model(request: Request) -> Response:
    principal, args = await arguments(request)
    name = args.model_name()
    await services_of(request).models.update(
        principal, name, ModelChanges(description=args.text("description", required=False) or "")
    )
    return await model_answer(request, principal, name)


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
    await services_of(request).models.delete(principal, args.model_name())
    return ok()


@mlflow_endpoint
async def search_registered_models(request: Request) -> Response:
    principal, args = await arguments(request)
    filter, order = (
        search.model_filter(args.text("filter", required=False)),
        search.model_order(args.strings("order_by")),
    )
    reads = services_of(request).reads

    async def fetch(page: PageRequest) -> Any:
        return await reads.models(principal, filter, order, page, with_total=False)

    size = search_size(args, DEFAULT_MODELS_PER_SEARCH, MAX_MODELS_PER_SEARCH)
    models, token = await collect(fetch, size, reads.max_page_size, args.text("page_token", required=False))
    return page_answer("registered_models", await model_messages(reads, principal, models), token)


@mlflow_endpoint
async def get_latest_versions(request: Request) -> Response:
    principal, args = await arguments(request)
    name = args.model_name()
    reads = services_of(request).reads
    model = await reads.model(principal, name)
    if model is None:
        raise NotFound(f"Registered Model with name={to_mlflow(name)} not found", field="name")
    stages = [parse_stage(stage, "stages") for stage in args.strings("stages")] or None
    latest = (await latest_per_stage(reads, principal, [model.id], stages))[model.id]
    return ok({"model_versions": await version_messages(reads, principal, latest)})


@mlflow_endpoint
async def set_registered_model_tag(request: Request) -> Response:
    principal, args = await arguments(request)
    value = args.text("value", required=False) or ""
    await services_of(request).models.set_tag(principal, args.model_name(), args.required("key"), value)
    return ok()


@mlflow_endpoint
async def delete_registered_model_tag(request: Request) -> Response:
    principal, args = await arguments(request)
    await services_of(request).models.delete_tag(principal, args.model_name(), args.required("key"))
    return ok()


# Aliases.


@mlflow_endpoint
async def set_registered_model_alias(request: Request) -> Response:
    principal, args = await arguments(request)
    name, alias, number = args.model_name(), args.required("alias"), args.version()
    services = services_of(request)
    if services.transitions.policy.is_protected(alias):
        new = NewTransition(kind=TransitionKind.ALIAS, alias=alias, comment="requested through the MLflow API")
        moved = await services.transitions.request(principal, name, number, new)
        if moved.status is not TransitionStatus.APPLIED:
            raise pending_refusal(moved, f"moving the protected alias {alias!r} to version {number}")
    else:
        await services.aliases.set(principal, name, alias, number)
    return ok()


@mlflow_endpoint
async def delete_registered_model_alias(request: Request) -> Response:
    principal, args = await arguments(request)
    await services_of(request).aliases.delete(principal, args.model_name(), args.required("alias"))
    return ok()


@mlflow_endpoint
async def get_model_version_by_alias(request: Request) -> Response:
    principal, args = await arguments(request)
    name, alias = args.model_name(), args.required("alias")
    resolved = await services_of(request).reads.resolve_uri(principal, f"models:/{name}@{alias}")
    [message] = await version_messages(services_of(request).reads, principal, [resolved.version])
    return ok({"model_version": message})

"""What the MLflow endpoints share: the services, MLflow's answers for a model, a version and a page of results, and
the refusal of a move the promotion policy holds for approval."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.domain.errors import BadUserInput, FailedPrecondition, NotFound
from app.domain.governance import TransitionRequest

from .errors import MlflowRefusal
from .names import to_mlflow
from .views import model_messages, version_messages

MAX_MODELS_PER_SEARCH, DEFAULT_MODELS_PER_SEARCH = 1000, 100  # MLflow's own limits
MAX_VERSIONS_PER_SEARCH, DEFAULT_VERSIONS_PER_SEARCH = 10_000, 10_000


def services_of(request: Request) -> Any:
    """The use cases the application was wired with (app/main.py)."""
    return request.app.state.services


def ok(body: dict[str, Any] | None = None) -> Response:
    """MLflow's answer to a call that succeeded (``{}`` when it returns nothing)."""
    return JSONResponse(body or {})


async def model_answer(request: Request, principal: Any, name: str) -> Response:
    """``{"registered_model": ...}`` for ``name``; RESOURCE_DOES_NOT_EXIST when there is none."""
    model = await services_of(request).reads.model(principal, name)
    if model is None:
        raise NotFound(f"Registered Model with name={to_mlflow(name)} not found", field="name")
    [message] = await model_messages(services_of(request).reads, principal, [model])
    return ok({"registered_model": message})


async def version_answer(request: Request, principal: Any, name: str, number: int) -> Response:
    """``{"model_version": ...}``; RESOURCE_DOES_NOT_EXIST when there is none."""
    version = await services_of(request).reads.version(principal, name, number)
    if version is None:
        raise NotFound(f"Model Version (name={to_mlflow(name)}, version={number}) not found", field="version")
    [message] = await version_messages(services_of(request).reads, principal, [version])
    return ok({"model_version": message})


def page_answer(key: str, items: list[dict[str, Any]], token: str | None) -> Response:
    """A page of search results, with the token of the next page when there is one."""
    return ok({key: items, **({"next_page_token": token} if token else {})})


def search_size(args: Any, default: int, limit: int) -> int:
    """``max_results``, within MLflow's limit for the search."""
    size = args.integer("max_results", default)
    if not 0 < size <= limit:
        raise BadUserInput(
            f"Invalid value for request parameter max_results: it must be 1 to {limit}", field="max_results"
        )
    return size


def pending_refusal(request_: TransitionRequest, what: str) -> MlflowRefusal:
    """The answer to a move the promotion policy holds for approval: nothing moved, the request waits."""
    approvals = request_.required_approvals
    groups = ", ".join(f"{count} from members of {group}" for group, count in request_.required_groups)
    error = FailedPrecondition(
        f"{what} needs {approvals} approval{'s' if approvals != 1 else ''}{f' ({groups})' if groups else ''} under "
        "modelreg's promotion policy: "
        f"transition request {request_.public_id} is pending. It applies when an approver approves it "
        "(approveTransitionRequest in the GraphQL API, or `modelreg approve`); nothing has moved yet.",
        field="stage",
    )
    return MlflowRefusal(error, "INVALID_STATE", 400)

"""The one mapping from exceptions to GraphQL errors with ``extensions.code``."""

from __future__ import annotations

import logging

from graphql.error import GraphQLError
from graphql.language import FieldNode
from strawberry.extensions import MaskErrors

from app.domain.errors import ErrorCode, RegistryError
from app.logs import current_request_id, describe_exception

log = logging.getLogger("modelreg.graphql")


# Pathless errors whose cause is one of these come from parsing, validating or coercing the request itself
# (graphql-core wraps scalar parse failures of variables this way); anything else is ours and is masked.
_REQUEST_ERRORS = (GraphQLError, ValueError, TypeError)


def _with_code(error: GraphQLError, message: str, extensions: dict) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


def _is_argument_error(error: GraphQLError) -> bool:
    """Whether a located error came from coercing a field's arguments (graphql-core raises those at the
    argument or variable node, with no cause), not from a resolver or from serializing a result (no nodes)."""
    original = error.original_error
    return (
        isinstance(original, GraphQLError)
        and original.original_error is None
        and bool(original.nodes)
        and not any(isinstance(node, FieldNode) for node in original.nodes or ())
    )


def map_error(error: GraphQLError) -> GraphQLError:
    """Registry errors keep their message and code; request errors (syntax, validation, variable and argument
    coercion) become BAD_USER_INPUT; anything else is masked as INTERNAL with the request id
    the log line carries."""
    original = error.original_error
    if isinstance(original, RegistryError):
        extensions = {"code": original.code.value}
        if original.field:
            extensions["field"] = original.field
        return _with_code(error, original.message, extensions)
    if original is None or (error.path is None and isinstance(original, _REQUEST_ERRORS)) or _is_argument_error(error):
        return _with_code(error, error.message, {"code": ErrorCode.BAD_USER_INPUT.value})
    request_id = current_request_id()
    log.error("unexpected error in a resolver", extra={"path": error.path, **describe_exception(original)})
    return _with_code(
        error,
        f"internal error; quote request id {request_id} when reporting it",
        {"code": ErrorCode.INTERNAL.value, "requestId": request_id},
    )


class ErrorMapping(MaskErrors):
    """MaskErrors with our mapping: every error leaves with a code, none with internals."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda _: True)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return map_error(error)

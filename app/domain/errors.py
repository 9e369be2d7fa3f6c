"""The one exception family of the registry; each carries a stable code that the API layers map."""

from __future__ import annotations

from enum import Enum


class ErrorCode(str, Enum):
    """Stable error codes, shown to clients as ``extensions.code``."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    INTERNAL = "INTERNAL"


class RegistryError(Exception):
    """An expected failure whose message is safe to show to the client."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Unauthenticated(RegistryError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(RegistryError):
    code = ErrorCode.FORBIDDEN


class BadUserInput(RegistryError):
    code = ErrorCode.BAD_USER_INPUT


class NotFound(RegistryError):
    code = ErrorCode.NOT_FOUND


class Conflict(RegistryError):
    code = ErrorCode.CONFLICT


class FailedPrecondition(RegistryError):
    code = ErrorCode.FAILED_PRECONDITION


class TooLarge(BadUserInput):
    """A body or file over a configured size limit (HTTP 413)."""

"""The client's one error type and the command line's exit codes, one per error class.

The server's codes (GraphQL ``extensions.code`` and the REST ``error.code``) map onto exit codes; the client adds
``TIMED_OUT`` (``--wait`` ran out of time) and ``UNAVAILABLE`` (the server could not be reached). Exit codes are
part of the interface (docs/ci.md): they never change meaning.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    BAD_USER_INPUT = 2
    UNAUTHENTICATED = 3
    FORBIDDEN = 4
    NOT_FOUND = 5
    CONFLICT = 6
    FAILED_PRECONDITION = 7
    TIMED_OUT = 8
    SERVER_ERROR = 9


CODES = {
    "BAD_USER_INPUT": ExitCode.BAD_USER_INPUT,
    "UNAUTHENTICATED": ExitCode.UNAUTHENTICATED,
    "FORBIDDEN": ExitCode.FORBIDDEN,
    "NOT_FOUND": ExitCode.NOT_FOUND,
    "CONFLICT": ExitCode.CONFLICT,
    "FAILED_PRECONDITION": ExitCode.FAILED_PRECONDITION,
    "TIMED_OUT": ExitCode.TIMED_OUT,
    "INTERNAL": ExitCode.SERVER_ERROR,
    "UNAVAILABLE": ExitCode.SERVER_ERROR,
}


class ModelregError(Exception):
    """A refusal or failure, with the server's code (or the client's own: TIMED_OUT, UNAVAILABLE), the message,
    the field to blame and the request id the server log carries."""

    def __init__(self, code: str, message: str, *, field: str | None = None, request_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.request_id = request_id

    @property
    def exit_code(self) -> ExitCode:
        return CODES.get(self.code, ExitCode.SERVER_ERROR)

    def __str__(self) -> str:
        where = f" (field {self.field})" if self.field else ""
        request = f" [request {self.request_id}]" if self.request_id else ""
        return f"{self.code}: {self.message}{where}{request}"


def bad_input(message: str, field: str | None = None) -> ModelregError:
    """A mistake in what the caller gave the client (exit code 2)."""
    return ModelregError("BAD_USER_INPUT", message, field=field)

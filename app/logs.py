"""JSON logs, one object per line, each carrying the request id of the request that wrote it."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import traceback
from datetime import UTC, datetime

from opentelemetry import trace

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "color_message"}


def current_request_id() -> str:
    return _request_id.get()


def set_request_id(request_id: str) -> contextvars.Token:
    return _request_id.set(request_id)


def reset_request_id(token: contextvars.Token) -> None:
    _request_id.reset(token)


_SECRETS = re.compile(r"(?i)((?:password|passwd|pwd|secret|token|key|sig)=)[^\s&;'\"]+|(://[^:/@\s]+:)[^@\s]+(@)")


def redact(text: str) -> str:
    """Mask credentials in URLs and ``password=...``-style pairs."""
    return _SECRETS.sub(lambda m: f"{m.group(1)}***" if m.group(1) else f"{m.group(2)}***{m.group(3)}", text)


# A query string: "?" right after a path or URL character, up to white space, a quote or a fragment.
_QUERY_STRING = re.compile(r"(?<=[\w/.~%:\])-])\?([^\s\"'<>#]+)")
_QUERY_PART = re.compile(r"([^&;=]*)(=[^&;]*)?")


def _mask_query(match: re.Match[str]) -> str:
    parts = _QUERY_PART.sub(
        lambda p: (f"{p.group(1)}=***" if p.group(2) is not None else "***") if p.group(0) else "", match.group(1)
    )
    return "?" + parts


def redact_query_strings(text: str) -> str:
    """Every value of every query string in ``text`` as ``***`` (names kept: ``/graphql?token=***&x=***``).

    A token put in a URL by mistake (``?token=``, ``?access_token=``, a bare ``?eyJ...``) never reaches the log,
    whichever logger wrote the line: uvicorn writes the websocket handshake line with the full URL."""
    return _QUERY_STRING.sub(_mask_query, text) if "?" in text else text


def describe_exception(error: BaseException) -> dict[str, str]:
    """Type, redacted message and innermost location of an error: enough to find it, without a stack dump."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else "-"
    return {
        "error_type": type(error).__name__,
        "error": redact_query_strings(redact(str(error)[:500])),
        "where": where,
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line; the query strings in the message and in every text field are masked (the one
    place every logger's lines pass, uvicorn's included)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact_query_strings(record.getMessage()),
            "request_id": current_request_id(),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:  # traces on (app/observability/tracing.py): the line names its trace and span
            entry["trace_id"], entry["span_id"] = format(span.trace_id, "032x"), format(span.span_id, "016x")
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = redact_query_strings(value) if isinstance(value, str) else value
        if record.exc_info and record.exc_info[1] is not None:
            entry.update(describe_exception(record.exc_info[1]))
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Send every logger, uvicorn's included, through the JSON formatter on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("casbin").setLevel(logging.WARNING)
    # Strawberry logs resolver errors with full tracebacks; ours are logged by app.graphql.errors.
    logging.getLogger("strawberry.execution").disabled = True

"""Reading an MLflow REST request: JSON bodies for POST, PATCH and DELETE, query parameters for GET, with MLflow's
messages for a missing or malformed parameter."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from app.domain.errors import BadUserInput
from app.domain.identity import Principal
from app.http.errors import principal_of

from .names import to_modelreg

MAX_BODY = 1024 * 1024


class Arguments:
    """The parameters of one request."""

    def __init__(self, values: dict[str, Any], lists: dict[str, list[str]]) -> None:
        self._values = values
        self._lists = lists

    @classmethod
    async def of(cls, request: Request) -> Arguments:
        if request.method in ("GET", "HEAD"):
            params = request.query_params
            return cls(dict(params), {key: params.getlist(key) for key in params})
        body = await request.body()
        if len(body) > MAX_BODY:
            raise BadUserInput(f"the body is larger than {MAX_BODY} bytes", field="body")
        if not body.strip():
            return cls({}, {})
        try:
            values = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise BadUserInput("the body must be a JSON object", field="body") from None
        if not isinstance(values, dict):
            raise BadUserInput("the body must be a JSON object", field="body")
        return cls(values, {})

    def text(self, name: str, *, required: bool = True) -> str | None:
        value = self._values.get(name)
        if value is None or value == "":
            if required:
                raise BadUserInput(f"Missing value for required parameter '{name}'.", field=name)
            return None
        if not isinstance(value, str):
            raise BadUserInput(f"Invalid value {value!r} for parameter '{name}': expected a string", field=name)
        return value

    def required(self, name: str) -> str:
        value = self.text(name)
        assert value is not None
        return value

    def model_name(self, name: str = "name") -> str:
        """A model name in its MLflow form, as the registry spells it."""
        return to_modelreg(self.required(name))

    def version(self, name: str = "version") -> int:
        value = self._values.get(name)
        text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
        if not text.isdigit() or not 0 < int(text) < 2**31:
            raise BadUserInput(f"Invalid value {value!r} for parameter '{name}': expected a version number", field=name)
        return int(text)

    def integer(self, name: str, default: int) -> int:
        value = self._values.get(name)
        if value is None or value == "":
            return default
        text = str(value)
        if isinstance(value, bool) or not text.lstrip("-").isdigit():
            raise BadUserInput(f"Invalid value {value!r} for parameter '{name}': expected an integer", field=name)
        return int(text)

    def flag(self, name: str) -> bool:
        value = self._values.get(name)
        return value is True or (isinstance(value, str) and value.lower() == "true")

    def strings(self, name: str) -> list[str]:
        """A repeated parameter (``?stages=a&stages=b``) or a JSON list."""
        if name in self._lists:
            return self._lists[name]
        value = self._values.get(name)
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise BadUserInput(f"Invalid value for parameter '{name}': expected a list of strings", field=name)
        return value

    def tags(self, name: str = "tags") -> dict[str, str]:
        """MLflow's ``[{"key": ..., "value": ...}]``."""
        value = self._values.get(name) or []
        if not isinstance(value, list):
            raise BadUserInput(f"Invalid value for parameter '{name}': expected a list of {{key, value}}", field=name)
        tags = {}
        for tag in value:
            if not isinstance(tag, dict) or not isinstance(tag.get("key"), str):
                raise BadUserInput(f"Invalid value for parameter '{name}': each tag has a key", field=name)
            tags[tag["key"]] = str(tag.get("value", ""))
        return tags


async def arguments(request: Request) -> tuple[Principal, Arguments]:
    """The caller (UNAUTHENTICATED without a token) and the request's parameters."""
    principal = principal_of(request)
    return principal, await Arguments.of(request)

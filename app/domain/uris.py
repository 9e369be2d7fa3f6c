"""``models:/`` URIs, in the forms ML people already use with MLflow."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .entities import Stage
from .errors import BadUserInput
from .rules import VERSION_MAX, check_alias, check_model_name

URI_FORMS = "models:/NAME/VERSION, models:/NAME/STAGE, models:/NAME/latest or models:/NAME@ALIAS"
_VERSION_SELECTOR = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also accepts '²' and '１'  # noqa: RUF003


@dataclass(frozen=True)
class ModelUri:
    """A parsed model URI: exactly one of version, stage, alias or latest is set."""

    name: str
    version: int | None = None
    stage: Stage | None = None
    alias: str | None = None
    latest: bool = False


def parse_model_uri(uri: str) -> ModelUri:
    """Parse ``models:/NAME/VERSION``, ``models:/NAME/STAGE``, ``models:/NAME/latest`` or ``models:/NAME@ALIAS``.

    Names may contain ``/`` (namespaces), so the last segment decides the form.
    """
    if not uri.startswith("models:/") or len(uri) > 600:
        raise BadUserInput(f"uri must have one of the forms {URI_FORMS}", field="uri")
    rest = uri[len("models:/") :]
    if "@" in rest:
        name, _, alias = rest.rpartition("@")
        return ModelUri(name=check_model_name(name, "uri"), alias=check_alias(alias, "uri alias"))
    name, _, selector = rest.rpartition("/")
    if not name or not selector:
        raise BadUserInput(f"uri must have one of the forms {URI_FORMS}", field="uri")
    check_model_name(name, "uri")
    if _VERSION_SELECTOR.fullmatch(selector):
        if int(selector) > VERSION_MAX:
            raise BadUserInput(f"uri version {selector[:20]} is larger than {VERSION_MAX}", field="uri")
        return ModelUri(name=name, version=int(selector))
    if selector.lower() == "latest":
        return ModelUri(name=name, latest=True)
    try:
        return ModelUri(name=name, stage=Stage(selector.upper()))
    except ValueError:
        raise BadUserInput(
            f"uri selector {selector!r} is not a version number, a stage (None, Staging, Production, Archived) "
            f"or 'latest'; forms: {URI_FORMS}",
            field="uri",
        ) from None

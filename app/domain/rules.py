"""Input rules shared by every entry point: names, tags, sizes. Each violation is a BadUserInput."""

from __future__ import annotations

import math
import re
from typing import Any, overload

from .errors import BadUserInput

MODEL_NAME_MAX = 256
MODEL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.\-/]+$")
ALIAS_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")
TAG_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.\-/: ]{1,250}$")
TAG_VALUE_MAX = 5000
DESCRIPTION_MAX = 20_000
SHORT_TEXT_MAX = 1000
PARAM_VALUE_MAX = 6000
MAX_ENTRIES = 1000
SIGNATURE_MAX_BYTES = 256 * 1024
SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
VERSION_MAX = 2**31 - 1  # version numbers are 32-bit integers (GraphQL Int and the database column)
ARTIFACT_SIZE_MAX = 2**63 - 1  # sizes are stored as signed 64-bit integers
COMMIT_PATTERN = re.compile(r"^[0-9a-f]{7,64}$")


def check_model_name(name: str, field: str = "name") -> str:
    """A model name: 1-256 of letters, digits, ``-_.`` and ``/`` for namespaces."""
    if not name or len(name) > MODEL_NAME_MAX:
        raise BadUserInput(f"{field} must be 1-{MODEL_NAME_MAX} characters long", field=field)
    if not MODEL_NAME_PATTERN.fullmatch(name):
        raise BadUserInput(
            f"{field} {name[:80]!r} may contain only letters, digits, '-', '_', '.' and '/'", field=field
        )
    if name.startswith("/") or name.endswith("/") or "//" in name or ".." in name.split("/"):
        raise BadUserInput(f"{field} {name!r} has an empty or '..' namespace segment", field=field)
    return name


def check_alias(alias: str, field: str = "alias") -> str:
    """An alias: starts with a letter or '_', then letters, digits, '_' or '-', at most 64 characters."""
    if not ALIAS_PATTERN.fullmatch(alias or ""):
        raise BadUserInput(
            f"{field} {alias[:80]!r} must start with a letter or '_' and contain only letters, digits, "
            "'_' and '-' (at most 64 characters)",
            field=field,
        )
    if alias.lower() in {"latest"} or alias.upper() in {"NONE", "STAGING", "PRODUCTION", "ARCHIVED"}:
        raise BadUserInput(f"{field} {alias!r} is reserved (it names a stage or 'latest')", field=field)
    return alias


@overload
def check_text(value: str, field: str, limit: int = ..., required: bool = ...) -> str: ...
@overload
def check_text(value: str | None, field: str, limit: int = ..., required: bool = ...) -> str | None: ...
def check_text(value: str | None, field: str, limit: int = SHORT_TEXT_MAX, required: bool = False) -> str | None:
    """Optional free text with a length limit; ``required`` refuses empty values."""
    if value is None or value == "":
        if required:
            raise BadUserInput(f"{field} is required", field=field)
        return value
    if len(value) > limit:
        raise BadUserInput(f"{field} is {len(value)} characters long; the limit is {limit}", field=field)
    return value


def check_tag(key: str, value: str, field: str = "tags") -> tuple[str, str]:
    """A tag: a key of 1-250 safe characters and a value up to 5000 characters."""
    if not TAG_KEY_PATTERN.fullmatch(key or ""):
        raise BadUserInput(f"{field}: key {key[:80]!r} must be 1-250 letters, digits, spaces or '_.-/:'", field=field)
    check_text(value, f"{field}[{key}]", TAG_VALUE_MAX)
    return key, value


def check_tags(tags: dict[str, str], field: str = "tags") -> dict[str, str]:
    """A whole tag map."""
    if len(tags) > MAX_ENTRIES:
        raise BadUserInput(f"{field}: at most {MAX_ENTRIES} tags", field=field)
    for key, value in tags.items():
        check_tag(key, value, field)
    return tags


def check_params(params: dict[str, str], field: str = "params") -> dict[str, str]:
    """Hyper-parameters: names like tag keys, string values up to 6000 characters."""
    if len(params) > MAX_ENTRIES:
        raise BadUserInput(f"{field}: at most {MAX_ENTRIES} params", field=field)
    for key, value in params.items():
        if not TAG_KEY_PATTERN.fullmatch(key or ""):
            raise BadUserInput(f"{field}: name {key[:80]!r} must be 1-250 letters, digits or '_.-/:'", field=field)
        check_text(value, f"{field}[{key}]", PARAM_VALUE_MAX)
    return params


def check_metric(name: str, value: float, step: int | None, field: str = "metrics") -> None:
    """A metric: a named finite number, with an optional non-negative step."""
    if not TAG_KEY_PATTERN.fullmatch(name or ""):
        raise BadUserInput(f"{field}: name {name[:80]!r} must be 1-250 letters, digits or '_.-/:'", field=field)
    if not math.isfinite(value):
        raise BadUserInput(f"{field}[{name}] must be a finite number", field=field)
    if step is not None and step < 0:
        raise BadUserInput(f"{field}[{name}].step must be zero or more", field=field)


@overload
def check_sha256(digest: str, field: str) -> str: ...
@overload
def check_sha256(digest: str | None, field: str) -> str | None: ...
def check_sha256(digest: str | None, field: str) -> str | None:
    """A lowercase hex sha256 digest, optionally written ``sha256:<hex>``."""
    if digest is None:
        return None
    bare = digest.removeprefix("sha256:")
    if not SHA256_PATTERN.fullmatch(bare):
        raise BadUserInput(f"{field} must be a sha256 digest: 64 lowercase hex characters", field=field)
    return f"sha256:{bare}"


def check_commit(sha: str, field: str = "code.commitSha") -> str:
    """A git commit id: 7-64 lowercase hex characters."""
    if not COMMIT_PATTERN.fullmatch(sha or ""):
        raise BadUserInput(f"{field} must be 7-64 lowercase hex characters", field=field)
    return sha


def check_signature(signature: Any, size_in_bytes: int, field: str = "signature") -> None:
    """A signature: a JSON object with optional ``inputs`` and ``outputs``, at most 256 KiB."""
    if signature is None:
        return
    if not isinstance(signature, dict):
        raise BadUserInput(f"{field} must be a JSON object with 'inputs' and/or 'outputs'", field=field)
    unknown = set(signature) - {"inputs", "outputs", "params"}
    if unknown:
        raise BadUserInput(f"{field} has unknown keys {sorted(unknown)}; allowed: inputs, outputs, params", field=field)
    if size_in_bytes > SIGNATURE_MAX_BYTES:
        raise BadUserInput(f"{field} is larger than {SIGNATURE_MAX_BYTES // 1024} KiB", field=field)

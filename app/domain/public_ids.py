"""Global ids: the opaque ids the API hands out (`node(id:)`), also used in messages and audit targets so that
nobody outside the database ever sees a row number."""

from __future__ import annotations

import base64
from functools import lru_cache


# A page answers the same objects' ids request after request: a hit costs a tenth of the encoding. Bounded, so that
# a walk through the whole registry does not keep its ids.
@lru_cache(maxsize=8192, typed=True)
def global_id(type_name: str, key: int | str) -> str:
    """The opaque id of object ``key`` of GraphQL type ``type_name`` (urlsafe base64 of ``Type:key``). Keys are
    row keys, or for objects a name identifies within a parent (a model's alias), ``parent-key@name``."""
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode().rstrip("=")


def alias_id(model_id: int, alias: str) -> str:
    """The global id of a model's alias: the model and the name identify it, wherever it points."""
    return global_id("ModelAlias", f"{model_id}@{alias}")


def split_alias_key(key: str) -> tuple[int, str] | None:
    """The (model key, alias name) in a ModelAlias id's key, or None when it is not one."""
    model_key, at, alias = key.partition("@")
    if not at or not alias or not model_key.isdigit() or len(model_key) > 19:
        return None
    return int(model_key), alias

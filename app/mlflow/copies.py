"""``copy_model_version``: a new version made from one this registry holds (``models:/NAME/VERSION``, ``/STAGE``,
``@ALIAS`` in MLflow's names), sharing its stored files (content-addressed: nothing is copied) and linked to it in
the lineage as its parent."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from app.domain.commands import FileRef, NewVersion
from app.domain.identity import Principal
from app.domain.lineage_commands import ParentRef

from .names import to_modelreg

REGISTRY_URI = re.compile(r"^models:/(?!m-[0-9a-f]+/?$)([^/@]+)([/@][^/@]+)$")


async def from_registry_version(services: Any, principal: Principal, command: NewVersion) -> NewVersion:
    """The command with the files (or the external reference) of the version its source names, when the source is
    a ``models:/`` URI of this registry; unchanged otherwise."""
    match = REGISTRY_URI.match(command.source or "")
    if match is None:
        return command
    resolved = await services.reads.resolve_uri(principal, f"models:/{to_modelreg(match.group(1))}{match.group(2)}")
    original = resolved.version
    files = (await services.artifacts.files_of(principal, [original.id])).get(original.id, [])
    copy = replace(command, source=None, parents=(ParentRef(version_id=original.id, relation="copy"),))
    if files:
        refs = tuple(FileRef(f.path, digest=f.digest, size=f.size, media_type=f.media_type) for f in files)
        return replace(copy, files=refs)
    return replace(copy, artifact=original.artifact)

"""Attaching documents (model cards, bias audits, evaluation reports...) to versions."""

from __future__ import annotations

import hashlib

from app.domain.audit import version_target
from app.domain.errors import BadUserInput, FailedPrecondition, NotFound
from app.domain.events import EventDraft, EventType
from app.domain.governance import MARKDOWN_MAX, TITLE_MAX, Document, NewDocument
from app.domain.identity import Permission, Principal
from app.domain.rules import check_sha256, check_text

from .audit import AuditTrail
from .common import find_model, utc_now
from .ports import Authorizer, Clock
from .storage_port import ArtifactStore


class DocumentService:
    def __init__(
        self,
        authorizer: Authorizer,
        store: ArtifactStore,
        trail: AuditTrail,
        clock: Clock = utc_now,
    ) -> None:
        self._authorizer = authorizer
        self._store = store
        self._trail = trail
        self._clock = clock

    async def attach(self, principal: Principal, name: str, number: int, new: NewDocument) -> Document:
        """Attach a document, as Markdown text or as content uploaded to /api/artifacts/blobs (by digest).
        Documents never change; attaching the same kind and title again adds the next revision."""
        async with self._trail.attempt(principal, "document.attach", version_target(name, number)) as attempt:
            self._authorizer.require(principal, Permission.DOCUMENT_WRITE, name)
            check_text(new.title.strip(), "title", TITLE_MAX, required=True)
            if (new.markdown is None) == (new.artifact_digest is None):
                raise BadUserInput(
                    "give the document either as markdown or as the artifactDigest of uploaded "
                    "content, not both or neither",
                    field="markdown",
                )
            check_text(new.markdown, "markdown", MARKDOWN_MAX, required=new.markdown is not None)
            if new.artifact_digest is not None:
                digest = check_sha256(new.artifact_digest, "artifactDigest")
                if await self._store.stat(digest) is None:
                    raise FailedPrecondition(
                        f"no content with digest {digest} is stored; upload it to /api/artifacts/blobs first",
                        field="artifactDigest",
                    )
                new = NewDocument(new.kind, new.title, None, digest)
            async with attempt.transaction() as uow:
                model = await find_model(uow, name, for_update=True)  # numbers revisions one at a time
                version = await uow.versions.get(model.id, number)
                if version is None:
                    raise NotFound(f"model {name!r} has no version {number}", field="version")
                document = await uow.documents.add(version.id, new, principal.subject, self._clock())
                # exactly one of the two (checked above); a digest is never empty
                content = (
                    {"artifactDigest": new.artifact_digest}
                    if new.markdown is None
                    else {
                        "markdownSha256": hashlib.sha256(new.markdown.encode()).hexdigest(),
                        "markdownLength": len(new.markdown),
                    }
                )
                attempt.record(
                    after={
                        "id": document.id,
                        "kind": document.kind,
                        "title": document.title,
                        "revision": document.revision,
                        **content,
                    },
                    target=version_target(name, number, version.id),
                    events=[EventDraft(EventType.DOCUMENT_ATTACHED, name, number)],
                )
        return document

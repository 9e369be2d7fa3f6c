"""Documents attached to versions: model cards, bias audits, evaluation reports, certificates."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.domain import governance

from ..context import Info
from ..relay import Node, fetches_node, to_global_id
from .common import Actor

if TYPE_CHECKING:
    from .versions import ModelVersion

ModelVersionRef = Annotated["ModelVersion", strawberry.lazy("app.graphql.types.versions")]


@strawberry.enum(description="What a document is; the promotion policy's gates can require kinds.")
class DocumentKind(Enum):
    MODEL_CARD = strawberry.enum_value("MODEL_CARD", description="Intended use, data, metrics, limitations.")
    BIAS_AUDIT = strawberry.enum_value("BIAS_AUDIT", description="Fairness assessment across groups.")
    EVALUATION_REPORT = strawberry.enum_value("EVALUATION_REPORT", description="Offline or online evaluation.")
    REGULATORY_CERTIFICATE = strawberry.enum_value(
        "REGULATORY_CERTIFICATE", description="Sign-off by a regulator or compliance function."
    )
    OTHER = strawberry.enum_value("OTHER", description="Anything else worth keeping with the version.")


# Named ModelDocument in the schema: `Document` is the DOM's document in generated TypeScript.
@strawberry.type(
    name="ModelDocument",
    description="An immutable document attached to a version. Attaching the same kind and title again "
    "adds a revision; earlier revisions stay.",
)
class Document(Node):
    entity: strawberry.Private[governance.Document]

    @strawberry.field(description="Globally unique opaque id.")
    def id(self) -> strawberry.ID:
        return to_global_id("ModelDocument", self.entity.id)

    @strawberry.field(description="What the document is.")
    def kind(self) -> DocumentKind:
        return DocumentKind(self.entity.kind.value)

    @strawberry.field(description="Title.")
    def title(self) -> str:
        return self.entity.title

    @strawberry.field(description="Revision of this kind and title on the version: 1, 2, 3...")
    def revision(self) -> int:
        return self.entity.revision

    @strawberry.field(description="The document's Markdown text, when it was given as text.")
    def markdown(self) -> str | None:
        return self.entity.markdown

    @strawberry.field(description="`sha256:<hex>` of stored content, when it was given as an uploaded file.")
    def artifact_digest(self) -> str | None:
        return self.entity.artifact_digest

    @strawberry.field(description="When it was attached.")
    def created_at(self) -> datetime:
        return self.entity.created_at

    @strawberry.field(description="Who attached it.")
    def created_by(self) -> Actor:
        return Actor.of(self.entity.created_by)

    @strawberry.field(description="The version it is attached to.")
    async def model_version(self, info: Info) -> ModelVersionRef:
        from .versions import ModelVersion

        return ModelVersion(entity=await info.context.loaders.version.load(self.entity.version_id))


@strawberry.input(
    description="A document to attach to a version: Markdown text, or the digest of content uploaded "
    "to /api/artifacts/blobs."
)
class AttachDocumentInput:
    name: str = strawberry.field(description="Model name.")
    version: int = strawberry.field(description="Version number.")
    kind: DocumentKind = strawberry.field(description="What the document is.")
    title: str = strawberry.field(description="Title, 1-200 characters.")
    markdown: str | None = strawberry.field(
        default=None, description="The text (Markdown), up to 1,000,000 characters."
    )
    artifact_digest: str | None = strawberry.field(
        default=None, description="`sha256:<hex>` of uploaded content (a PDF, say)."
    )


@strawberry.type(description="Result of attaching a document.")
class ModelDocumentPayload:
    model_document: Document = strawberry.field(description="The document as stored.")


@strawberry.type(description="Document mutations.")
class DocumentMutations:
    @strawberry.mutation(
        description="Attach a document to a version (a new revision when the kind and title exist "
        "already). Requires document:write."
    )
    async def attach_document(
        self, info: Info, input: Annotated[AttachDocumentInput, strawberry.argument(description="The document.")]
    ) -> ModelDocumentPayload:
        new = governance.NewDocument(
            kind=governance.DocumentKind(input.kind.value),
            title=input.title,
            markdown=input.markdown,
            artifact_digest=input.artifact_digest,
        )
        document = await info.context.services.documents.attach(info.context.principal, input.name, input.version, new)
        return ModelDocumentPayload(model_document=Document(entity=document))


@fetches_node("ModelDocument")
async def _document_node(info: Info, key: int) -> Document | None:
    found = (await info.context.services.governance.documents_by_id(info.context.principal, [key])).get(key)
    return Document(entity=found) if found else None

"""Documents attached to versions (model cards, bias audits...), immutable and revisioned."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.governance import Document, DocumentKind, NewDocument

from ..governance_tables import DocumentRow


def _document(row: DocumentRow) -> Document:
    return Document(
        id=row.id,
        version_id=row.version_id,
        kind=DocumentKind(row.kind),
        title=row.title,
        revision=row.revision,
        markdown=row.markdown,
        artifact_digest=row.artifact_digest,
        created_at=row.created_at,
        created_by=row.created_by,
    )


class SqlDocumentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, version_id: int, new: NewDocument, actor: str, now: datetime) -> Document:
        """Attach a document; the same kind and title again becomes the next revision (callers hold the model
        row lock, so revisions are numbered without races)."""
        latest = (
            await self._session.execute(
                select(func.max(DocumentRow.revision)).where(
                    DocumentRow.version_id == version_id,
                    DocumentRow.kind == new.kind.value,
                    DocumentRow.title == new.title,
                )
            )
        ).scalar_one()
        row = DocumentRow(
            version_id=version_id,
            kind=new.kind.value,
            title=new.title,
            revision=(latest or 0) + 1,
            markdown=new.markdown,
            artifact_digest=new.artifact_digest,
            created_at=now,
            created_by=actor,
        )
        self._session.add(row)
        await self._session.flush()
        return _document(row)

    async def for_versions(self, version_ids: list[int]) -> dict[int, list[Document]]:
        """Every document of each version, oldest first."""
        result: dict[int, list[Document]] = {version_id: [] for version_id in version_ids}
        query = select(DocumentRow).where(DocumentRow.version_id.in_(version_ids)).order_by(DocumentRow.id)
        for row in (await self._session.execute(query)).scalars():
            result[row.version_id].append(_document(row))
        return result

    async def get_many(self, ids: list[int]) -> dict[int, Document]:
        rows = await self._session.execute(select(DocumentRow).where(DocumentRow.id.in_(ids)))
        return {row.id: _document(row) for row in rows.scalars()}

    async def kinds(self, version_id: int) -> set[DocumentKind]:
        query = select(DocumentRow.kind).where(DocumentRow.version_id == version_id).distinct()
        return {DocumentKind(kind) for kind in (await self._session.execute(query)).scalars()}

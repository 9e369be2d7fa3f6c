"""The GraphQL HTTP view: per-request context, GraphQL-over-HTTP media types, and the offline GraphiQL page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.asgi import GraphQL

from app.logs import current_request_id

from .context import Context, Loaders, Services

GRAPHIQL_PAGE = Path(__file__).resolve().parent.parent / "web" / "graphiql.html"


class GraphQLView(GraphQL):
    """Strawberry's ASGI view with our context and GraphiQL page."""

    def __init__(self, schema: Any, services: Services, **kwargs: Any) -> None:
        super().__init__(schema, **kwargs)
        self.services = services

    async def get_context(self, request: Request, response: Response | None = None) -> Context:
        principal = request.scope.get("state", {}).get("principal")
        return Context(
            services=self.services,
            principal_or_none=principal,
            request_id=current_request_id(),
            loaders=Loaders(self.services.reads, principal),
            request=request,
            response=response,
        )

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(GRAPHIQL_PAGE.read_text(encoding="utf-8"))

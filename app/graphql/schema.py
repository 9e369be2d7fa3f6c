"""Assembles the schema from one query and one mutation mixin per aggregate."""

from __future__ import annotations

from datetime import datetime

import strawberry
from graphql import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig

from app.observability.tracing import GraphQLTracing

from . import direct_resolvers
from .documents import CachedDocuments
from .errors import ErrorMapping
from .execution import PlainLeafExecutor
from .types.aliases import AliasMutations
from .types.artifacts import ArtifactMutations
from .types.audit import AuditQueries
from .types.common import DATETIME_SCALAR, LONG_SCALAR, Long
from .types.deployment_mutations import DeploymentMutations
from .types.deployments import DeploymentQueries
from .types.documents import DocumentMutations
from .types.governance import GovernanceQueries
from .types.governance_mutations import GovernanceMutations
from .types.lineage import LineageQueries
from .types.lineage_mutations import LineageMutations
from .types.models import ModelMutations, ModelQueries
from .types.subscriptions import Subscription
from .types.version_mutations import VersionMutations
from .types.versions import VersionQueries
from .types.viewer import ViewerQueries
from .types.webhook_mutations import WebhookMutations
from .types.webhooks import WebhookQueries


@strawberry.type(description="Read the registry.")
class Query(
    ViewerQueries,
    ModelQueries,
    VersionQueries,
    GovernanceQueries,
    AuditQueries,
    LineageQueries,
    WebhookQueries,
    DeploymentQueries,
):
    pass


@strawberry.type(description="Change the registry. Every mutation takes one `input` and returns a payload.")
class Mutation(
    ModelMutations,
    VersionMutations,
    AliasMutations,
    ArtifactMutations,
    GovernanceMutations,
    DocumentMutations,
    LineageMutations,
    WebhookMutations,
    DeploymentMutations,
):
    pass


def build_schema(
    *,
    max_depth: int = 12,
    max_aliases: int = 30,
    max_tokens: int = 5000,
    introspection: bool = True,
    field_suggestions: bool = True,
    tracing: bool = False,
) -> strawberry.Schema:
    """The schema with its protections. Introspection and suggestions can be switched off for production.

    The depth and alias limits are validation rules built once here: Strawberry's limiter extensions build a new
    rule class per instance, and extensions are instantiated per request, so a validation cache keyed by the rules
    would never hit. Parsing and validation are remembered by one extension (documents.py).
    """
    rules = [
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules,
    ]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    extensions = [lambda: CachedDocuments(rules, max_tokens), ErrorMapping]
    if tracing:  # OpenTelemetry spans per operation and resolver (app/observability/tracing.py)
        extensions.append(GraphQLTracing)
    built = strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=PlainLeafExecutor,
        config=StrawberryConfig(
            disable_field_suggestions=not field_suggestions, scalar_map={Long: LONG_SCALAR, datetime: DATETIME_SCALAR}
        ),
    )
    direct_resolvers.install(built)
    return built


# The exported schema (schema.graphql) is printed from this default instance.
schema = build_schema()

"""The schema: per-area Query and Mutation classes merged, run by the engine (`gateway.graphql`)."""

from __future__ import annotations

from strawberry.tools import merge_types

from gateway.graphql.execute import MAX_QUERY_COST, Schema, engine_schema
from gateway.schema import (
    access,
    checkout_operations,
    customers,
    expiring,
    groups,
    imports,
    integrations,
    reports,
    schedules,
    undo,
    wallet,
    webhooks,
)
from gateway.schema.scalars import SCALAR_OVERRIDES

Query = merge_types(
    "Query",
    (
        access.Query,
        customers.Query,
        groups.Query,
        wallet.Query,
        expiring.Query,
        schedules.Query,
        undo.Query,
        checkout_operations.Query,
        integrations.Query,
        reports.Query,
        webhooks.Query,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        customers.Mutation,
        imports.Mutation,
        groups.Mutation,
        wallet.Mutation,
        schedules.Mutation,
        undo.Mutation,
        checkout_operations.Mutation,
        integrations.Mutation,
        webhooks.Mutation,
        access.Mutation,
    ),
)


def build_schema(*, production: bool, max_query_cost: int = MAX_QUERY_COST) -> Schema:
    return engine_schema(
        query=Query,
        mutation=Mutation,
        production=production,
        max_query_cost=max_query_cost,
        scalar_overrides=SCALAR_OVERRIDES,
    )

"""Importing customers from CSV text (`importCustomers`): the CLI's format, a chunk at a time."""

from __future__ import annotations

import strawberry

from gateway.context import Info
from gateway.schema.common import UserError
from gateway.schema.resolvers import mutation
from services import importer


@strawberry.input
class ImportCustomersInput:
    csv: str = strawberry.field(
        description="The CLI's format: ',' or ';' separated, a header row naming card_code. "
        "At most 2,000 rows a call: a larger file is sent in chunks, each with the header row "
        "repeated; a chunk sent again changes nothing."
    )
    dry_run: bool | None = strawberry.field(
        default=False, description="true: report what the import would do; change nothing."
    )


@strawberry.type
class ImportProblem:
    line: int = strawberry.field(description="The line in this chunk, the header being line 1.")
    message: str


@strawberry.type
class ImportResult:
    rows: int
    created: int
    updated: int
    unchanged: int
    skipped: int
    problems: list[ImportProblem]

    @classmethod
    def of(cls, report: importer.ImportReport) -> ImportResult:
        return cls(
            rows=report.rows,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            skipped=report.skipped,
            problems=[ImportProblem(line=p.line, message=p.reason) for p in report.problems],
        )


@strawberry.type
class ImportCustomersPayload:
    result: ImportResult | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Mutation:
    @mutation(ImportCustomersPayload)
    async def import_customers(
        self, info: Info, input: ImportCustomersInput
    ) -> ImportCustomersPayload:
        report = await importer.import_text(
            info.context.principal.location_id, input.csv, dry_run=bool(input.dry_run)
        )
        return ImportCustomersPayload(result=ImportResult.of(report))

"""Importing customers from CSV text (`importCustomers`): the CLI's format, a chunk at a time."""

from __future__ import annotations

import strawberry

from gateway.context import Info
from gateway.schema.common import MessageParam, UserError
from gateway.schema.resolvers import mutation
from services import importer
from services.import_problems import problem_params, problem_text


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
    message: str = strawberry.field(description="Rendered in the request's language.")
    message_id: str = strawberry.field(
        description='The stable id of the message, e.g. "import.unknown_group".'
    )
    params: list[MessageParam] = strawberry.field(
        description="The named values the message was rendered from."
    )

    @classmethod
    def of(cls, problem: importer.ImportProblem, language: str) -> ImportProblem:
        return cls(
            line=problem.line,
            message=problem_text(problem.message, language),
            message_id=problem.message.id,
            params=[
                MessageParam(name=name, value=value)
                for name, value in problem_params(problem.message, language)
            ],
        )


@strawberry.type
class ImportResult:
    rows: int
    created: int
    updated: int
    unchanged: int
    skipped: int
    problems: list[ImportProblem]

    @classmethod
    def of(cls, report: importer.ImportReport, language: str) -> ImportResult:
        return cls(
            rows=report.rows,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            skipped=report.skipped,
            problems=[ImportProblem.of(p, language) for p in report.problems],
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
        return ImportCustomersPayload(
            result=ImportResult.of(report, info.context.principal.language)
        )
